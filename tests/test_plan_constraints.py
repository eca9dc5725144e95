"""Issue 4, item 4 (case 19 and CHECKs): what the database would refuse is found at plan
time, with table.column, together with the other problems, before any row moves.

* CHECK constraints of the simple forms (IN, =, <>, comparisons, BETWEEN, length limits) and
  enum/domain membership, against the values the generator produces;
* composite UNIQUE keys: deduped while masking, and sized against the product of their
  masked columns' value spaces.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dbclone.config import parse_workspace
from dbclone.dialects.mysql.introspect import parse_check as my_check
from dbclone.dialects.postgresql.introspect import parse_check as pg_check
from dbclone.dialects.sqlite.introspect import checks_of
from dbclone.errors import PlanError
from dbclone.introspect.snapshot import (
    Column,
    SchemaSnapshot,
    Table,
    TableRef,
    TypeCategory,
    ValueRule,
)
from dbclone.transform import resolve_rules
from tests.test_sqlite_clone import clone, make_db, rows


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "plan-constraints")


# -- CHECK expressions as each dialect spells them -> the same rules -------------------------

def rules(check) -> list[tuple[str, str, tuple[str, ...], str]]:
    return [(r.column, r.op, r.values, r.measure) for r in check.rules]


def test_postgresql_spellings() -> None:
    c = pg_check("s", "CHECK ((status = ANY (ARRAY['a'::text, 'b'::text])))")
    assert rules(c) == [("status", "in", ("a", "b"), "value")] and c.complete
    c = pg_check("v", "CHECK (((v)::text = ANY ((ARRAY['x'::character varying, "
                      "'y'::character varying])::text[])))")
    assert rules(c) == [("v", "in", ("x", "y"), "value")] and c.complete
    c = pg_check("n", "CHECK (((n >= 1) AND (n <= 10)))")
    assert rules(c) == [("n", ">=", ("1",), "value"), ("n", "<=", ("10",), "value")]
    assert rules(pg_check("p", "CHECK ((p >= (0)::numeric))")) == [("p", ">=", ("0",), "value")]
    assert rules(pg_check("q", "CHECK ((0 < q))")) == [("q", ">", ("0",), "value")]
    assert rules(pg_check("g", "CHECK ((neg > '-5'::integer))")) == [
        ("neg", ">", ("-5",), "value")]
    assert rules(pg_check("l", "CHECK ((length(name) <= 5))")) == [
        ("name", "<=", ("5",), "chars")]
    assert rules(pg_check("t", "CHECK ((ts < '2030-01-01 00:00:00+00'::timestamp with time "
                               "zone))")) == [("ts", "<", ("2030-01-01 00:00:00+00",), "value")]
    assert rules(pg_check("o", "CHECK (((o = 'x'::text) OR (o = 'y'::text)))")) == [
        ("o", "in", ("x", "y"), "value")]
    c = pg_check("m", 'CHECK ((("Status" IS NOT NULL) AND ("Status" <> ALL (ARRAY[\'x\'::text]))))')
    assert rules(c) == [("Status", "not_in", ("x",), "value")] and c.complete
    # a domain's VALUE is the column
    c = pg_check("yr", "CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))", value_column="year")
    assert rules(c) == [("year", ">=", ("1901",), "value"), ("year", "<=", ("2155",), "value")]
    # what is not understood is said so, and never read as something else
    c = pg_check("z", "CHECK ((VALUE ~ '^\\d{5}$'::text))", value_column="zip")
    assert rules(c) == [] and not c.complete and c.columns == ("zip",)
    c = pg_check("r", "CHECK (((price > (cost + 1)) AND (kind = 'a'::text)))")
    assert rules(c) == [("kind", "in", ("a",), "value")] and not c.complete
    assert c.columns == ("price", "cost", "kind")


def test_mysql_and_mariadb_spellings() -> None:
    assert rules(my_check("s", "`status` in ('a','b')")) == [("status", "in", ("a", "b"),
                                                              "value")]
    assert rules(my_check("s", "(`status` in (_utf8mb4'a',_utf8mb4'b'))")) == [
        ("status", "in", ("a", "b"), "value")]
    assert rules(my_check("n", "`n` between 1 and 10")) == [("n", ">=", ("1",), "value"),
                                                             ("n", "<=", ("10",), "value")]
    assert rules(my_check("c", "char_length(`name`) <= 5")) == [("name", "<=", ("5",), "chars")]
    assert rules(my_check("o", "octet_length(`nm`) <= 6")) == [("nm", "<=", ("6",), "bytes")]
    assert rules(my_check("e", "`ne` <> 'it\\'s'")) == [("ne", "not_in", ("it's",), "value")]
    assert rules(my_check("j", "json_valid(`doc`)")) == [("doc", "json", (), "value")]
    assert rules(my_check("g", "`neg` > -5")) == [("neg", ">", ("-5",), "value")]
    c = my_check("x", "`a` < `b` and `c` = 0x1F")
    assert rules(c) == [] and not c.complete


def test_sqlite_checks_come_from_the_create_table_text() -> None:
    sql = ("CREATE TABLE t (id int PRIMARY KEY, status text CHECK (status IN ('a','b')), "
           "n int CONSTRAINT n_range CHECK (n BETWEEN 1 AND 10), \"Nm\" text, "
           "note text DEFAULT 'CHECK (x)' /* CHECK (y) */, p real check(p>=0), "
           "CHECK (length(\"Nm\") <= 5), CHECK (a < b), s text CHECK(s == 'x' or s=='y'))")
    got = [(c.name, c.expression, rules(c), c.complete) for c in checks_of("t", sql)]
    assert got == [
        ("t_ck1", "status IN ('a','b')", [("status", "in", ("a", "b"), "value")], True),
        ("n_range", "n BETWEEN 1 AND 10",
         [("n", ">=", ("1",), "value"), ("n", "<=", ("10",), "value")], True),
        ("t_ck3", "p>=0", [("p", ">=", ("0",), "value")], True),
        ("t_ck4", 'length("Nm") <= 5', [("Nm", "<=", ("5",), "chars")], True),
        ("t_ck5", "a < b", [], False),
        ("t_ck6", "s == 'x' or s=='y'", [("s", "in", ("x", "y"), "value")], True)]


# -- CHECKs against generators, end to end on SQLite (which enforces them) -------------------

TICKETS = """
    CREATE TABLE ticket (id int PRIMARY KEY, status text CHECK (status IN ('open', 'closed')),
      priority int CHECK (priority BETWEEN 1 AND 5), price numeric CHECK (price >= 0),
      code text CHECK (length(code) <= 6), age int CONSTRAINT adult CHECK (age >= 18),
      note text, opened date, closed date, CHECK (opened <= closed));
    INSERT INTO ticket VALUES (1, 'open', 3, 9.99, 'AB12', 40, 'n', '2020-01-01', '2020-02-01'),
                              (2, 'closed', 5, 0, 'ZZ9', 18, NULL, '2021-03-04', '2021-03-04');
"""


def test_check_violations_are_reported_with_the_other_problems(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", TICKETS)
    dst = tmp_path / "dst.db"
    with pytest.raises(PlanError) as info:
        clone(src, dst, {"ticket.status": "redact", "ticket.priority": "integer_key",
                         "ticket.price": "number_noise", "ticket.code": "fake_city",
                         "ticket.age": "number_noise",
                         "ticket.note": {"type": "redact", "widht": 3}})
    tail = "; choose a generator whose values meet it (e.g. categorical draws from the " \
           "column's own values)"
    assert info.value.problems == [
        "test.yaml:6: main.ticket.note: redact: widht: unknown option (did you mean 'width'?)",
        # the CHECK's length limit is the column's limit: no city that short
        "test.yaml:5: main.ticket.code: fake_city cannot fit TEXT with a length CHECK of 6: "
        "its shortest value has 7 characters",
        "test.yaml:4: main.ticket.age: number_noise can produce '16', which CHECK adult "
        "(age >= 18) does not allow" + tail,
        "test.yaml:10: main.ticket.priority: integer_key can produce '1611525996', which "
        "CHECK ticket_ck2 (priority BETWEEN 1 AND 5) does not allow (priority <= 5)" + tail,
        "test.yaml:11: main.ticket.status: redact can produce 'XXXX', which CHECK ticket_ck1 "
        "(status IN ('open', 'closed')) does not allow" + tail]
    assert not dst.exists()


def test_generators_that_meet_the_checks_pass_and_the_copy_holds(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", TICKETS)
    dst = tmp_path / "dst.db"
    report = clone(src, dst, {
        "ticket.status": "categorical", "ticket.price": "number_noise",
        "ticket.code": "fake_state",  # a pool: only the names that fit the CHECK's 6
        "ticket.age": {"type": "constant", "value": 30},
        "ticket.opened": "date_shift", "ticket.closed": "date_shift"})
    got = rows(dst, "SELECT status, price >= 0, length(code) <= 6, code <> 'AB12', age, "
                    "opened <= closed FROM ticket ORDER BY id")
    assert [g[1:] for g in got] == [(1, 1, 1, 30, 1), (1, 1, 1, 30, 1)]
    assert {g[0] for g in got} <= {"open", "closed"}
    # a CHECK on two columns is not checkable at plan time: said, not silently skipped
    messages = [(f.level, f.where, f.message) for f in report.findings if "CHECK" in f.message]
    assert messages == [
        ("warning", f"main.ticket.{c}",
         f"test.yaml:{line}: CHECK ticket_ck6 (opened <= closed) reads main.ticket.{c}, "
         "masked by date_shift: it is not checked at plan time (only IN, =, <>, comparisons "
         "with a constant, BETWEEN and length limits are); the database enforces it while "
         "loading") for c, line in (("closed", 7), ("opened", 9))]


def test_a_partly_understood_check_checks_its_simple_part(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE item (id int PRIMARY KEY, kind text, qty int,
                           CONSTRAINT kinds CHECK (kind IN ('a', 'b') AND qty * 2 < 100));
        INSERT INTO item VALUES (1, 'a', 3);
    """)
    with pytest.raises(PlanError) as info:
        clone(src, tmp_path / "dst.db", {"item.kind": "fake_first_name"})
    (problem,) = info.value.problems
    assert problem.startswith("test.yaml:4: main.item.kind: fake_first_name can produce ")
    assert problem.endswith("which CHECK kinds (kind IN ('a', 'b') AND qty * 2 < 100) does "
                            "not allow (kind IN ('a', 'b')); choose a generator whose values "
                            "meet it (e.g. categorical draws from the column's own values)")
    report = clone(src, tmp_path / "dst.db", {"item.kind": "categorical"})
    assert [(f.level, f.message) for f in report.findings if "CHECK" in f.message] == [
        ("info", "test.yaml:4: CHECK kinds (kind IN ('a', 'b') AND qty * 2 < 100) reads "
                 "main.item.kind, masked by categorical: only its simple conditions on the "
                 "column (kind IN ('a', 'b')) are checked at plan time; the database enforces "
                 "the rest while loading")]


# -- enum and domain membership (PostgreSQL/MariaDB catalog facts, no server needed) --------

def plan_problems(table: Table, generators: str) -> list[str]:
    snap = SchemaSnapshot("postgresql", "db", "public", ("public",), {table.ref: table})
    ws = parse_workspace("source: {url: a}\ndestination: {url: b}\ngenerators:\n"
                         + generators, "ws.yaml", env={})
    try:
        resolve_rules(ws, snap)
    except PlanError as exc:
        return exc.problems
    return []


def test_enum_and_domain_members() -> None:
    mood = Column("mood", "mood", TypeCategory.ENUM, enum_values=("sad", "ok", "happy"))
    sizes = Column("sizes", "set('S','M')", TypeCategory.ENUM, enum_values=("S", "M"))
    level = Column("level", "lvl", TypeCategory.TEXT, checks=(pg_check(
        "lvl_check", "CHECK (((VALUE)::text = ANY ((ARRAY['low'::character varying, "
                     "'high'::character varying])::text[])))", value_column="level"),))
    year = Column("born", "yr", TypeCategory.INTEGER, checks=(pg_check(
        "yr_check", "CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))", value_column="born"),))
    table = Table(TableRef("public", "p"), (Column("id", "int", TypeCategory.INTEGER,
                                                   nullable=False), mood, sizes, level, year),
                  ("id",))
    assert plan_problems(table, "  p.mood: {type: constant, value: meh}\n"
                                "  p.level: redact\n"
                                "  p.born: {type: number_noise, absolute: 5}\n") == [
        "ws.yaml:4: public.p.mood: constant can produce 'meh', which type mood (one of 'sad', "
        "'ok', 'happy') does not allow; choose a generator whose values meet it (e.g. "
        "categorical draws from the column's own values)",
        "ws.yaml:5: public.p.level: redact can produce 'XXX', which CHECK lvl_check (CHECK "
        "(((VALUE)::text = ANY ((ARRAY['low'::character varying, 'high'::character "
        "varying])::text[])))) does not allow; choose a generator whose values meet it (e.g. "
        "categorical draws from the column's own values)",
        "ws.yaml:6: public.p.born: number_noise can produce '1898', which CHECK yr_check "
        "(CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))) does not allow (born >= 1901); "
        "choose a generator whose values meet it (e.g. categorical draws from the column's "
        "own values)"]
    # members and a set type (any combination of members) are fine
    assert plan_problems(table, "  p.mood: {type: constant, value: ok}\n"
                                "  p.sizes: categorical\n  p.level: categorical\n"
                                "  p.born: keep\n") == []


def test_rules_compare_as_the_column_type_does() -> None:
    from dbclone.transform.constraints import holds

    num, text, date = TypeCategory.NUMERIC, TypeCategory.TEXT, TypeCategory.DATE
    assert holds(ValueRule("x", "in", ("1", "2")), "2.0", num)
    assert not holds(ValueRule("x", "in", ("1", "2")), "2.0", text)
    assert holds(ValueRule("x", ">=", ("0",)), "0.00", num)
    assert not holds(ValueRule("x", "<", ("10",)), "10", num)
    assert holds(ValueRule("d", ">=", ("2000-01-01",)), "2000-01-01", date)
    assert not holds(ValueRule("d", ">=", ("2000-01-01",)), "1999-12-31", date)
    assert holds(ValueRule("t", ">=", ("m",)), "a", text) is None  # collation: unknown
    assert holds(ValueRule("t", "<=", ("3",), "chars"), "äöü", text)
    assert not holds(ValueRule("t", "<=", ("3",), "bytes"), "äöü", text)
    assert not holds(ValueRule("j", "json"), "{nope", text)


# -- composite UNIQUE keys -------------------------------------------------------------------

def table_of(path: Path, sql: str, table: str, data: list[tuple]) -> Path:
    make_db(path, sql)
    conn = sqlite3.connect(path)
    conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in data[0])})", data)
    conn.commit()
    conn.close()
    return path


def test_composite_unique_gets_no_collisions_first_time(tmp_path: Path) -> None:
    # 596 first names x 913 last names: about eight repeats among 6,000 people by chance,
    # and the load used to die on the first of them
    src = table_of(tmp_path / "src.db", """
        CREATE TABLE person (id int PRIMARY KEY, first_name text NOT NULL,
                             last_name text NOT NULL, UNIQUE (first_name, last_name));
    """, "person", [(i, f"F{i % 300}", f"L{i // 300}") for i in range(6000)])
    dst = tmp_path / "dst.db"
    report = clone(src, dst, {"person.first_name": "fake_first_name",
                              "person.last_name": "fake_last_name"})
    assert rows(dst, "SELECT count(*), count(DISTINCT first_name || '|' || last_name) "
                     "FROM person") == [(6000, 6000)]
    assert rows(dst, "SELECT count(*) FROM person WHERE first_name LIKE 'F%' "
                     "AND last_name LIKE 'L%' AND length(last_name) < 4") == [(0,)]
    # 6,000 rows of ≈544,148 combinations: counted, so nothing to warn about
    assert not [f for f in report.findings if "UNIQUE" in f.message]


def places(tmp_path: Path, name: str, not_null: bool, us: int) -> Path:
    null = "NOT NULL" if not_null else ""
    path = table_of(tmp_path / name, f"""
        CREATE TABLE place (id INTEGER PRIMARY KEY, country text {null}, city text {null},
                            UNIQUE (country, city));
        CREATE TABLE subscriber (id INTEGER PRIMARY KEY, city_prefix varchar(12) UNIQUE);
    """, "place", [(i, "US" if i < us else "FR", f"C{i}" if i < 300 or not_null else None)
                   for i in range(us + 100)])
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO subscriber VALUES (?, ?)", [(i, f"P{i}") for i in range(3000)])
    conn.commit()
    conn.close()
    return path


def test_composite_unique_too_small_fails_at_plan_time_with_the_other_problems(
        tmp_path: Path) -> None:
    src = places(tmp_path, "src.db", not_null=True, us=1100)
    dst = tmp_path / "dst.db"
    with pytest.raises(PlanError) as info:
        clone(src, dst, {"place.city": "fake_city", "subscriber.city_prefix": "fake_city"})
    assert info.value.problems == [
        "test.yaml:5: main.subscriber.city_prefix: fake_city has ≈634 values, column needs "
        "3,000 distinct (it is unique)",
        # one country holds 1,100 cities: each needs its own of fake_city's ≈1,000
        "test.yaml:4: main.place: UNIQUE (country, city): the masked columns (city: fake_city "
        "≈1,000) give ≈1,000 distinct combinations for each value of country, and the most "
        "common country has 1,100 rows, each needing its own"]
    assert not dst.exists()


def test_composite_unique_that_cannot_be_counted_is_a_warning(tmp_path: Path) -> None:
    src = places(tmp_path, "src.db", not_null=False, us=1100)
    dst = tmp_path / "dst.db"
    # NULL cities need no tuple: 1,100 US rows, but only 300 cities
    report = clone(src, dst, {"place.city": "fake_city"})
    assert rows(dst, "SELECT count(city), count(DISTINCT country || city) FROM place") == \
        [(300, 300)]
    (finding,) = [f for f in report.findings if "UNIQUE" in f.message]
    assert finding.level == "warning" and finding.where == "main.place"
    assert finding.message.startswith(
        "test.yaml:4: main.place: UNIQUE (country, city): the masked columns (city: fake_city "
        "≈1,000) give ≈1,000 distinct combinations for each value of country, and the most "
        "common country has 1,100 rows (rows with a NULL in the key need none; the distinct "
        "tuples themselves are not counted at plan time)")
    # a key every column of which is masked, with one column alone beyond the key's space
    src2 = table_of(tmp_path / "src2.db", """
        CREATE TABLE pair (a text NOT NULL, b text NOT NULL, UNIQUE (a, b));
    """, "pair", [(f"A{i}", "x") for i in range(100)])
    with pytest.raises(PlanError) as info:
        clone(src2, tmp_path / "dst2.db", {"pair.a": "fake_state",
                                           "pair.b": {"type": "constant", "value": "k"}})
    assert info.value.problems == [
        "test.yaml:4: main.pair.a: UNIQUE (a, b) masked by fake_state x constant has ≈59 "
        "values, column needs 100 distinct (it is unique)"]


def test_a_unique_email_column_too_short_for_more_than_ten_thousand_is_a_plan_error(
        tmp_path: Path) -> None:
    """varchar(14) leaves fake_email only u<4 digits>@x.test: the plan said yes, and the
    clone ran out of values after some thousand rows (found by a fresh-user trial)."""
    src = table_of(tmp_path / "src.db", "CREATE TABLE member (id INTEGER PRIMARY KEY, "
                   "email varchar(14) UNIQUE);", "member",
                   [(i, f"m{i}@x.org") for i in range(12_000)])
    dst = tmp_path / "dst.db"
    with pytest.raises(PlanError) as info:
        clone(src, dst, {"member.email": "fake_email"})
    assert info.value.problems == [
        "test.yaml:4: main.member.email: fake_email has ≈10,000 values, column needs 12,000 "
        "distinct (it is unique)"]
    assert not dst.exists()
    # a column wide enough for first.last forms has room
    wide = table_of(tmp_path / "wide.db", "CREATE TABLE member (id INTEGER PRIMARY KEY, "
                    "email varchar(40) UNIQUE);", "member",
                    [(i, f"m{i}@x.org") for i in range(12_000)])
    report = clone(wide, tmp_path / "wide_dst.db", {"member.email": "fake_email"})
    assert report.tables[0].rows_written == 12_000
