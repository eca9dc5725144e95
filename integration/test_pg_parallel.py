"""Issue 8: a big table copied in ctid ranges by worker processes on the source's exported
snapshot gives exactly the rows the serial copy gives, masked or not."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from conftest import pg_connect
from test_pg_support import clone, rows

from dbclone.dialects.postgresql import parallel as par

pytestmark = pytest.mark.integration

# Text with every byte COPY escapes, NULLs and empty strings, over a few hundred pages, with
# dead tuples left by an UPDATE and a DELETE so the ranges cross holes; and an inheritance
# child whose rows a range of the parent must not read.
SOURCE = r"""
CREATE TABLE people (id bigint PRIMARY KEY, first_name text, email text, phone text,
                     birth_date date, notes text);
INSERT INTO people
SELECT g, CASE WHEN g % 17 = 0 THEN NULL WHEN g % 19 = 0 THEN '' ELSE 'First' || (g % 900) END,
       'user' || g || '@corp.example', '+1 503 ' || lpad((g % 10000000)::text, 7, '0'),
       date '1950-01-01' + (g % 20000),
       E'tab\there\nnew line \\ back ' || repeat('x', g % 40)
FROM generate_series(1, 20000) g;
UPDATE people SET notes = notes || ' updated' WHERE id % 7 = 0;
DELETE FROM people WHERE id % 11 = 0;
CREATE TABLE people_archive (archived boolean DEFAULT true) INHERITS (people);
INSERT INTO people_archive (id, first_name, email, phone, birth_date, notes)
VALUES (900001, 'Archived', 'old@corp.example', '+1 503 0000000', '1960-05-05', 'child row');
"""

RULES = {
    "public.people.first_name": "fake_first_name",
    "public.people.email": "fake_email",
    "public.people.phone": "fake_phone",
    "public.people.birth_date": {"type": "date_shift", "key": "id"},
}
QUERY = "SELECT id, first_name, email, phone, birth_date, notes FROM ONLY people"


def split_tables(report) -> list[str]:
    """The tables copied in page ranges by two or more worker processes."""
    return [str(t.table) for t in report.tables if t.workers >= 2]


def clone_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, src: str, dst: str,
               workers: int, rules: dict | None) -> tuple[list, int]:
    """Clone and return (rows of people, how many worker processes copied people)."""
    monkeypatch.setattr(par, "WORKERS", workers)
    monkeypatch.setattr(par, "MIN_PAGES", 1)  # split this small table as if it were big
    monkeypatch.setattr(par, "FORK_PAGES", 1)
    work = tmp_path / dst
    work.mkdir()
    report = clone(work, src, dst, rules)
    counted = sorted(f.message for f in report.findings if "values masked" in f.message)
    people = next(t for t in report.tables if t.table.name == "people")
    return [rows(dst, QUERY), counted], people.workers


@pytest.mark.parametrize("rules", [RULES, None], ids=["masked", "unmasked"])
def test_ranges_in_workers_copy_exactly_the_serial_rows(pg_db, tmp_path, monkeypatch, rules):
    monkeypatch.setenv("DBCLONE_SECRET", "parallel-test")
    src = pg_db(SOURCE)
    with pg_connect(src) as c:
        pages = c.execute("SELECT pg_relation_size('people') / 8192").fetchone()[0]
    assert pages > 100  # several pages per range, holes included
    (serial, serial_counts), serial_split = clone_with(monkeypatch, tmp_path, src,
                                                       src + "_serial", 1, rules)
    (parallel, par_counts), par_split = clone_with(monkeypatch, tmp_path, src,
                                                   src + "_parallel", 2, rules)
    assert serial_split == 0
    # masked in Python: two page ranges in two workers; unmasked: whole, in one worker, its
    # rows moved by a psql pipe inside the same snapshot
    assert par_split == (2 if rules else 1)
    assert Counter(parallel) == Counter(serial)  # the same rows, as a multiset
    assert len(parallel) == 20000 - 20000 // 11
    assert par_counts == serial_counts  # the workers' masking counts reach the report
    source = rows(src, QUERY)
    if rules is None:
        assert Counter(parallel) == Counter(source)
    else:  # masked: the unmasked notes are byte for byte the source's
        assert Counter(r[5] for r in parallel) == Counter(r[5] for r in source)
        assert not {r[2] for r in parallel} & {r[2] for r in source}
    # the inheritance child keeps its one row, read once (ONLY in every range)
    assert rows(src + "_parallel", "SELECT count(*) FROM people_archive") == [(1,)]
    assert rows(src + "_parallel", "SELECT count(*) FROM people") == [(len(parallel) + 1,)]


def test_a_unique_masked_column_stays_serial(pg_db, tmp_path, monkeypatch):
    """Unique re-draws depend on row order: such a table is never split."""
    src = pg_db(SOURCE + "ALTER TABLE people ADD UNIQUE (email);")
    (_, _), split = clone_with(monkeypatch, tmp_path, src, src + "_u", 2, RULES)
    assert split == 1  # a worker of its own, not two ranges


NOTES = r"""
CREATE TABLE patients (id int PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL);
INSERT INTO patients SELECT g, (ARRAY['Orla','Tobin','Amara','Ximena','Tomasz'])[g % 5 + 1],
       (ARRAY['Venn','Marsh','Okonkwo','Quispe','Kowalczyk'])[g % 5 + 1]
FROM generate_series(1, 50) g;
CREATE TABLE notes (id int PRIMARY KEY, patient_id int NOT NULL REFERENCES patients(id),
                    body text);
INSERT INTO notes
SELECT g, g % 50 + 1, CASE WHEN g % 13 = 0 THEN NULL ELSE
       'Seen on 3/' || (g % 28 + 1) || '/2021 by Dr. Alvarez. Call 415-555-' ||
       lpad((g % 10000)::text, 4, '0') || ' or write to pat' || g || '@example.org. ' ||
       (ARRAY['Orla Venn','Tobin Marsh','Amara Okonkwo'])[g % 3 + 1] || ' agreed to the plan.'
       END
FROM generate_series(1, 600) g;
"""
NOTE_RULES = {
    "public.patients.first_name": "fake_first_name",
    "public.patients.last_name": "fake_last_name",
    "public.notes.body": {"type": "text_redact", "linked": {
        "patient_id": {"table": "patients", "columns": ["first_name", "last_name"]}}},
}


def test_notes_redacted_in_two_workers_equal_the_serial_redaction(pg_db, tmp_path,
                                                                  monkeypatch):
    """text_redact (spaCy NER in forked workers, linked to the patient rows recorded before
    the fork) gives exactly the serial output."""
    monkeypatch.setenv("DBCLONE_SECRET", "parallel-notes")
    src = pg_db(NOTES)
    query = "SELECT id, patient_id, body FROM notes"
    out = {}
    for workers in (1, 2):
        monkeypatch.setattr(par, "WORKERS", workers)
        monkeypatch.setattr(par, "MIN_PAGES", 1)
        monkeypatch.setattr(par, "FORK_PAGES", 1)
        dst = f"{src}_w{workers}"
        (tmp_path / dst).mkdir()
        report = clone(tmp_path / dst, src, dst, NOTE_RULES)
        out[workers] = (rows(dst, query), split_tables(report))
    assert out[1][1] == [] and out[2][1] == ["public.notes"]  # only notes was split
    assert Counter(out[2][0]) == Counter(out[1][0])
    bodies = [b for _, _, b in out[2][0] if b]
    assert len(bodies) == 600 - 600 // 13
    assert not any(n in b for b in bodies for n in ("Venn", "Okonkwo", "415-555-", "Alvarez"))
