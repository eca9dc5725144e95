"""Issues 4 and 8: generators computed by the source's own SELECT (source.pushdown) give
exactly the rows the Python path gives, on the data where SQL and Python could part ways:
NULL, '', excepted values, a draw equal to the source (re-drawn), short varchar limits,
a date_shift keyed on a nullable column, inheritance, and text SQL cannot shape exactly
(the table then goes the Python way, with the same result)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from test_pg_support import rows, workspace

from dbclone import native, pipeline
from dbclone.config import load_workspace
from dbclone.dialects.postgresql import parallel as par
from dbclone.transform import pools
from dbclone.transform.keyed import Keyer

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _python_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Push-down is what a clone without dbclone's C module does (with it, the generators
    below run in C, which costs less than SQL; see test_c_kernels_are_not_pushed_down)."""
    monkeypatch.setattr(native, "module", None)

SOURCE = """
CREATE TABLE person (
  id int PRIMARY KEY, first_name text, last_name varchar(40), email varchar(17),
  ssn text, born date, family_id int, code char(8), note text);
INSERT INTO person
SELECT g,
       CASE WHEN g % 13 = 0 THEN NULL WHEN g % 17 = 0 THEN '' WHEN g % 19 = 0 THEN 'KEEP'
            ELSE 'First' || (g % 300) END,
       'Last' || (g % 5000), 'u' || g || '@c.test',
       CASE WHEN g % 7 = 0 THEN lpad(g::text, 9, '0') WHEN g % 11 = 0 THEN NULL
            ELSE '123-45-' || lpad((g % 10000)::text, 4, '0') END,
       CASE WHEN g % 23 = 0 THEN NULL ELSE date '1950-01-01' + g % 20000 END,
       CASE WHEN g % 5 = 0 THEN NULL ELSE g % 100 END,
       'c' || (g % 10), 'note ' || g
FROM generate_series(1, 6000) g;
CREATE TABLE person_archive (gone boolean DEFAULT true) INHERITS (person);
INSERT INTO person_archive (id, first_name, last_name, email, ssn, born, family_id, code)
VALUES (900001, 'Archived', 'Old', 'old@x.test', '999-99-9999', '1960-05-05', 1, 'a');
CREATE TABLE relative (id int PRIMARY KEY, last_name text);
INSERT INTO relative SELECT g, 'Last' || (g % 5000) FROM generate_series(1, 500) g;
CREATE TABLE badge (id int PRIMARY KEY, code char(8));
INSERT INTO badge SELECT g, 'c' || g FROM generate_series(1, 300) g;
"""

RULES = {
    "public.person.first_name": {"type": "fake_first_name", "except": ["KEEP"]},
    "public.person.last_name": "fake_last_name",
    "public.person.email": "fake_email",
    "public.person.ssn": "fake_ssn",
    "public.person.born": {"type": "date_shift", "key": "family_id"},
    "public.badge.code": "fake_last_name",  # char(8): its text is padded, never pushed
    "public.relative.last_name": {"type": "fake_last_name",
                                  "consistent_with": "public.person.last_name"},
}
QUERIES = ["SELECT * FROM ONLY person", "SELECT * FROM person_archive",
           "SELECT * FROM relative", "SELECT * FROM badge"]


def self_drawing_names(secret: str) -> list[str]:
    """Pool first names whose first draw is the name itself: the re-draw path."""
    keyer = Keyer(secret)
    names = pools.pool("first_name", "en_US")
    domain = f"fake_first_name:{[]}:en_US"
    n = len(names)
    out = [v for v in names if names[keyer.number(domain, v) % n] == v]
    return out


def clone_twice(tmp_path: Path, src: str, rules: dict,
                queries: list[str] = QUERIES) -> dict[str, tuple]:
    """The same clone with and without pushdown: each destination's rows (per query) and
    how many columns the source computed per table, and how many worker processes copied
    each table."""
    out = {}
    for push in (True, False):
        dst = f"{src}_{'push' if push else 'python'}"
        work = tmp_path / dst
        work.mkdir()
        path = workspace(work, src, dst, rules)
        doc = yaml.safe_load(path.read_text())
        doc["source"]["pushdown"] = push
        path.write_text(yaml.safe_dump(doc))
        report = pipeline.run(load_workspace(path))
        out[dst] = ([Counter(rows(dst, q)) for q in queries],
                    {t.table.name: t.pushed for t in report.tables},
                    {t.table.name: t.workers for t in report.tables})
    return out


@pytest.mark.parametrize("workers", [1, 2], ids=["serial", "workers"])
def test_pushed_down_masking_equals_the_python_path(pg_db, tmp_path, monkeypatch, workers):
    secret = next(s for s in (f"push-{i}" for i in range(50)) if self_drawing_names(s))
    monkeypatch.setenv("DBCLONE_SECRET", secret)
    names = self_drawing_names(secret)
    src = pg_db(SOURCE + "".join(
        f"INSERT INTO person (id, first_name) VALUES ({10000 + i}, '{n}');"
        for i, n in enumerate(names)))
    monkeypatch.setattr(par, "WORKERS", workers)
    monkeypatch.setattr(par, "FORK_PAGES", 1)  # the workers take the tables when there are
    monkeypatch.setattr(par, "MIN_PAGES", 1)  # ...and split person into page ranges
    out = clone_twice(tmp_path, src, RULES)
    (pushed, push_report, push_workers), (python, py_report, py_workers) = (
        out[f"{src}_push"], out[f"{src}_python"])
    assert pushed == python  # every table, row for row
    # the source computed person's five columns and relative's one; not badge's char(8)
    assert push_report == {"person": 5, "person_archive": 0, "relative": 1, "badge": 0}
    assert py_report == {"person": 0, "person_archive": 0, "relative": 0, "badge": 0}
    # masked by SQL or by Python, person is CPU work for two page ranges in two workers
    if workers == 2:
        assert push_workers["person"] == py_workers["person"] == 2
    person = pushed[0]
    by_id = {r[0]: r for r in person}
    assert all(by_id[10000 + i][1] != n for i, n in enumerate(names))  # re-drawn
    source = {r[0]: r for r in rows(src, QUERIES[0])}
    assert by_id[13][1] is None and by_id[17][1] == "" and by_id[19][1] == "KEEP"
    assert all(len(r[3]) <= 17 for r in person if r[3] is not None)
    assert not {r[3] for r in person} - {None} & {r[3] for r in source.values()}
    assert by_id[7][4].isdigit() and by_id[1][4][3] == "-"  # the layout follows the source
    assert by_id[23][5] is None
    # one family, one shift; a NULL family is its own entity ('None'), as in Python
    shifts = {(r[6], (r[5] - source[r[0]][5]).days) for r in person
              if r[5] is not None and r[0] < 10000}
    assert len(shifts) == len({f for f, _ in shifts})
    # the inheritance child is copied as it is (its own table), not read through person
    assert pushed[1] == Counter(rows(src, QUERIES[1]))


def test_text_sql_cannot_shape_exactly_goes_the_python_way(pg_db, tmp_path, monkeypatch):
    """Non-ASCII digits (str.isdigit says yes, SQL's [0-9] no), a date near the year 9999
    and 'infinity': the source is asked first, and the table is copied the Python way."""
    monkeypatch.setenv("DBCLONE_SECRET", "fallback")
    src = pg_db("""
        CREATE TABLE person (id int PRIMARY KEY, ssn text, born date);
        INSERT INTO person SELECT g, '123-45-' || lpad(g::text, 4, '0'),
                                  date '1990-01-01' + g FROM generate_series(1, 3000) g;
        INSERT INTO person VALUES (5001, '{FULLWIDTH}', '2000-01-01'),
                                  (5002, '999-00-0000', '9999-12-30'),
                                  (5003, NULL, 'infinity');
    """.replace("{FULLWIDTH}", "".join(chr(0xFF11 + i) for i in range(9))))  # fullwidth 1..9
    rules = {"public.person.ssn": "fake_ssn",
             "public.person.born": {"type": "date_shift", "key": "id"}}
    # born as text: psycopg has no Python date for 'infinity'
    out = clone_twice(tmp_path, src, rules, ["SELECT id, ssn, born::text FROM person"])
    (pushed, push_report, _), (python, _, _) = out[f"{src}_push"], out[f"{src}_python"]
    assert pushed == python
    assert push_report == {"person": 0}  # fell back: the source computed nothing
    assert len(pushed[0]) == 3003
    assert (5003, None, "infinity") in pushed[0]  # no one's date: kept


def test_a_table_only_partly_pushable_stays_with_dbclone(pg_db, tmp_path, monkeypatch):
    """A template reads the first name, so first_name stays with dbclone (the template must
    see it masked by dbclone), and so does the whole table: a half-pushed-down table would
    still be parsed row by row, and cost the source more than it saves."""
    monkeypatch.setenv("DBCLONE_SECRET", "template")
    src = pg_db("""
        CREATE TABLE person (id int PRIMARY KEY, first_name text, last_name text,
                             login text);
        INSERT INTO person SELECT g, 'First' || g, 'Last' || g, 'login' || g
        FROM generate_series(1, 2000) g;
    """)
    rules = {"public.person.first_name": "fake_first_name",
             "public.person.last_name": "fake_last_name",
             "public.person.login": {"type": "template",
                                     "template": "{first_name|lower}-x"}}
    out = clone_twice(tmp_path, src, rules, ["SELECT * FROM person"])
    (pushed, push_report, _), (python, _, _) = out[f"{src}_push"], out[f"{src}_python"]
    assert pushed == python
    assert push_report == {"person": 0}


def test_a_serial_table_pushes_down_what_it_can(pg_db, tmp_path, monkeypatch):
    """A unique email keeps the table in one process (its re-draws depend on row order):
    there the source computes the other columns at the same time, on another core, and
    dbclone masks the email; the rows are those of the Python path."""
    monkeypatch.setenv("DBCLONE_SECRET", "serial")
    src = pg_db("""
        CREATE TABLE member (id int PRIMARY KEY, first_name text, email text UNIQUE,
                             born date, note text);
        INSERT INTO member SELECT g, 'First' || (g % 50), 'm' || g || '@c.test',
                                  date '1980-01-01' + g, 'n' || g
        FROM generate_series(1, 4000) g;
    """)
    rules = {"public.member.first_name": "fake_first_name",
             "public.member.email": "fake_email",
             "public.member.born": {"type": "date_shift", "key": "id"}}
    monkeypatch.setattr(par, "FORK_PAGES", 1)
    out = clone_twice(tmp_path, src, rules, ["SELECT * FROM member"])
    (pushed, push_report, _), (python, _, _) = out[f"{src}_push"], out[f"{src}_python"]
    assert pushed == python
    assert push_report == {"member": 2}  # first_name and born; email in dbclone
    emails = [r[2] for r in pushed[0]]
    assert len(set(emails)) == 4000 and not any(e.endswith("@c.test") for e in emails)


def test_c_kernels_are_not_pushed_down(pg_db, tmp_path, monkeypatch):
    """With the C module the same rules run in dbclone: nothing is computed by the source,
    and the rows are those of the SQL path."""
    import importlib

    monkeypatch.undo()  # the C module back
    if importlib.import_module("dbclone.native").module is None:
        pytest.skip("dbclone._native is not built")
    monkeypatch.setenv("DBCLONE_SECRET", "c-or-sql")
    src = pg_db(SOURCE)
    (tmp_path / "c").mkdir()
    (tmp_path / "sql").mkdir()
    with_c = clone_twice(tmp_path / "c", src, RULES)
    monkeypatch.setattr(native, "module", None)
    sql = clone_twice(tmp_path / "sql", src, RULES)
    (c_rows, c_report, _), _ = with_c[f"{src}_push"], with_c[f"{src}_python"]
    (sql_rows, sql_report, _), _ = sql[f"{src}_push"], sql[f"{src}_python"]
    assert c_report == {"person": 0, "person_archive": 0, "relative": 0, "badge": 0}
    assert sql_report["person"] == 5
    assert c_rows == sql_rows
