"""Issue 8: the indexes and keys of a table whose rows are in are built while other tables
still load (dialects/postgresql/early_indexes.py); the destination ends with exactly the
source's indexes and constraints, and an index that fails on the masked rows fails the clone
as post-data would, leaving nothing behind."""

from __future__ import annotations

import pytest
from test_pg_support import clone, leftover_temp_databases, rows, table_fingerprints

from dbclone.dialects.postgresql import parallel as par
from dbclone.dialects.postgresql.early_indexes import EarlyIndexes
from dbclone.errors import CloneFailed

pytestmark = pytest.mark.integration

SOURCE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE, name text, during tstzrange,
                     EXCLUDE USING gist (id WITH =, during WITH &&));
CREATE INDEX parent_name ON parent (lower(name)) WHERE name IS NOT NULL;
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id), note text);
CREATE INDEX child_parent ON child (parent_id);
CREATE TABLE "odd name" ("a b" int PRIMARY KEY, "c""d" text);
CREATE UNIQUE INDEX "odd idx" ON "odd name" ("c""d");
INSERT INTO parent SELECT g, 'c' || g, 'Name' || g, NULL FROM generate_series(1, 3000) g;
INSERT INTO child SELECT g, 1 + g % 3000, repeat('x', 50) FROM generate_series(1, 20000) g;
INSERT INTO "odd name" SELECT g, 'v' || g FROM generate_series(1, 10) g;
"""

DEFINITIONS = """
SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public'
UNION ALL
SELECT conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = 'public'
ORDER BY 1, 2"""


@pytest.fixture
def early_builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, bool]]:
    """Per clone: how many listing entries were built early, and whether an early build
    failed (the real finish runs after)."""
    seen: list[tuple[int, bool]] = []
    real = EarlyIndexes.finish

    def finish(self: EarlyIndexes, pipe, jobs: int) -> None:
        if self._running is not None:
            self._running[0].wait()
        self.pump()
        seen.append((len(self.built), self._failure is not None))
        real(self, pipe, jobs)

    monkeypatch.setattr(EarlyIndexes, "finish", finish)
    monkeypatch.setattr(par, "FORK_PAGES", 0)  # child goes to a worker, the rest inline
    return seen


def test_indexes_and_keys_built_early_are_the_sources(pg_db, tmp_path, early_builds):
    src = pg_db(SOURCE)
    dst = f"{src}_dst"
    clone(tmp_path, src, dst, {"public.parent.name": "fake_last_name"})
    assert rows(dst, DEFINITIONS) == rows(src, DEFINITIONS)
    assert early_builds[0][0] > 0  # some were built while others loaded
    fingerprints = table_fingerprints(dst)
    assert fingerprints["public.child"] == table_fingerprints(src)["public.child"]


def test_an_index_failing_on_masked_rows_fails_the_clone_and_leaves_nothing(
        pg_db, tmp_path, early_builds):
    """1 / (length(name) - 3): no source name has three letters; masked ones do."""
    src = pg_db(SOURCE + "CREATE INDEX parent_len ON parent ((1 / (length(name) - 3)));")
    dst = f"{src}_dst"
    with pytest.raises(CloneFailed, match=r"post-data.*division by zero"):
        clone(tmp_path, src, dst, {"public.parent.name": {
            "type": "constant", "value": "Ann"}})
    assert early_builds == [(0, True)]  # parent's early build was the one that failed
    assert not leftover_temp_databases()
    assert dst not in {r[0] for r in rows("postgres", "SELECT datname FROM pg_database")}
