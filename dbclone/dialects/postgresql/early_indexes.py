"""A table's own indexes and keys, built as soon as its rows are in, while bigger tables are
still loading.

A clone is as long as its longest table's copy plus the post-data after it. The indexes of
the tables that finished earlier need not wait for that copy: the two cores have room while
one big table streams (about 1.3 of 2 busy). The post-data archive is dumped once, in the
clone's snapshot; a finished table's index and unique/primary/exclusion constraint entries
(never its foreign keys, which need other tables) are replayed by a ``pg_restore`` of just
those entries, one table at a time in the background; the final replay skips them. The
entries are matched to tables by the OIDs the archive's listing carries, not by names.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence

import psycopg

from dbclone.dialects.base import DatabaseURL
from dbclone.dialects.postgresql.connect import client_env
from dbclone.dialects.postgresql.dump import (
    DumpPipe,
    archive_listing,
    read_all,
    restore_command,
    restore_failed,
    stop,
)
from dbclone.introspect.snapshot import Table, TableRef

_ENTRY = re.compile(r"^\d+; (\d+) (\d+) (INDEX|CONSTRAINT) ")  # the kinds built early
_PG_CLASS, _PG_CONSTRAINT = 1259, 2606  # the catalogs their OIDs are in
SECTION = "post-data"


class EarlyIndexes:
    """The post-data of one clone: ``table_done`` as each table's rows are in, ``pump``
    now and then to start the next build, ``finish`` for the rest of the section."""

    def __init__(self, pipe: DumpPipe, source: DatabaseURL, snapshot_id: str,
                 filters: list[str], dest: DatabaseURL, dest_db: str,
                 conn: psycopg.Connection, tables: Sequence[Table]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="dbclone-post-")
        self.archive = os.path.join(self._dir.name, "post-data.dump")
        self.dest, self.dest_db = dest, dest_db
        pipe.dump_archive(SECTION, source, snapshot_id, filters, self.archive)
        self.listing = archive_listing(self.archive)
        self.entries = _entries(self.listing, _owners(conn, tables))
        self.built: set[int] = set()  # lines of the listing already replayed
        self._queue: list[TableRef] = []
        self._running: tuple[subprocess.Popen, TableRef, list[int], object] | None = None
        self._failure: str | None = None

    def table_done(self, ref: TableRef) -> None:
        if self.entries.get(ref):
            self._queue.append(ref)
        self.pump()

    def pump(self) -> None:
        """Collect a finished build, start the next one (at most one at a time)."""
        if self._running is not None:
            proc, _ref, lines, err = self._running
            if proc.poll() is None:
                return
            self._running = None
            if proc.returncode == 0:
                self.built.update(lines)
            elif self._failure is None:
                self._failure = read_all(err)  # type: ignore[arg-type]
            err.close()  # type: ignore[attr-defined]
        if self._failure is not None or not self._queue:
            return
        ref = self._queue.pop(0)
        lines = self.entries[ref]
        use = os.path.join(self._dir.name, f"early-{len(self.built)}-{len(lines)}.list")
        with open(use, "w", encoding="utf-8") as f:
            f.write("".join(self.listing[i] + "\n" for i in lines))
        # its stderr outlives this call: closed when the build is collected (pump, close)
        err = tempfile.TemporaryFile()  # noqa: SIM115
        proc = subprocess.Popen(restore_command(SECTION, self.archive, self.dest,
                                                self.dest_db, 1, use),
                                stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL, env=client_env(self.dest))
        self._running = (proc, ref, lines, err)

    def finish(self, pipe: DumpPipe, jobs: int) -> None:
        """Wait for the build under way, then replay everything not yet built."""
        if self._running is not None:
            self._running[0].wait()
        self._queue.clear()
        self.pump()
        if self._failure is not None:
            raise restore_failed(SECTION, self._failure)
        use = os.path.join(self._dir.name, "rest.list")
        with open(use, "w", encoding="utf-8") as f:
            f.write("".join((";" if i in self.built else "") + line + "\n"
                            for i, line in enumerate(self.listing)))
        pipe.restore_archive(SECTION, self.archive, self.dest, self.dest_db, jobs, use)

    def close(self) -> None:
        """Stop a build under way (an aborted clone) and remove the archive."""
        if self._running is not None:
            stop([self._running[0]])
            self._running[3].close()  # type: ignore[attr-defined]
            self._running = None
        self._dir.cleanup()


def _owners(conn: psycopg.Connection, tables: Sequence[Table]) -> dict[tuple[int, int], TableRef]:
    """(catalog, OID) of each index and primary/unique/exclusion constraint of the plain,
    unpartitioned tables -> its table, as the source's snapshot has them."""
    plain = [t for t in tables if t.kind == "table" and t.partition_of is None]
    if not plain:
        return {}
    rows = conn.execute("""
        WITH t(schema, name) AS (SELECT * FROM unnest(%s::text[], %s::text[])),
        rel AS (SELECT c.oid, t.schema, t.name FROM t
                JOIN pg_catalog.pg_class c
                  ON c.oid = pg_catalog.format('%%I.%%I', t.schema, t.name)::regclass
                WHERE c.relkind = 'r' AND NOT c.relispartition)
        SELECT 1259, i.indexrelid, rel.schema, rel.name
        FROM pg_catalog.pg_index i JOIN rel ON rel.oid = i.indrelid
        UNION ALL
        SELECT 2606, k.oid, rel.schema, rel.name
        FROM pg_catalog.pg_constraint k JOIN rel ON rel.oid = k.conrelid
        WHERE k.contype IN ('p', 'u', 'x')""",
        ([t.ref.schema for t in plain], [t.ref.name for t in plain])).fetchall()
    return {(int(cat), int(oid)): TableRef(schema, name) for cat, oid, schema, name in rows}


def _entries(listing: list[str], owners: dict[tuple[int, int], TableRef]
             ) -> dict[TableRef, list[int]]:
    """Per table, the lines of the listing that build its indexes and keys."""
    out: dict[TableRef, list[int]] = {}
    for i, line in enumerate(listing):
        m = _ENTRY.match(line)
        if m is None:
            continue
        catalog, oid = int(m[1]), int(m[2])
        if catalog not in (_PG_CLASS, _PG_CONSTRAINT):
            continue
        ref = owners.get((catalog, oid))
        if ref is not None:
            out.setdefault(ref, []).append(i)
    return out
