"""Subsetting on real SQLite files through ``pipeline.run`` (no server): the field cases 02,
03, 05, 06, 07 and 08 and Chinook at 20% of Customer, with foreign keys checked by SQLite."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbclone import subset
from dbclone.config import parse_workspace
from dbclone.errors import PlanError
from dbclone.pipeline import CloneReport, RunObserver, run

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DBCLONE_SHARED", ROOT.parent / "shared")).resolve()
CHINOOK = SHARED / "datasets" / "chinook" / "Chinook_Sqlite.sqlite"


def subset_clone(src: Path, dst: Path, subset: dict[str, Any]) -> CloneReport:
    text = yaml.safe_dump({"workspace": "test", "source": {"url": f"sqlite:///{src}"},
                           "destination": {"url": f"sqlite:///{dst}"},
                           "on_unconfigured": "keep", "subset": subset})
    return run(parse_workspace(text, source="test.yaml", env={}))


def db(path: Path, sql: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    return path


def q(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def ids(path: Path, sql: str) -> set:
    return {r[0] if len(r) == 1 else r for r in q(path, sql)}


def content(path: Path) -> dict[str, list[tuple]]:
    names = [r[0] for r in q(path, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                   "AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
    return {n: sorted(q(path, f'SELECT * FROM "{n}"'), key=repr) for n in names}


def no_orphans(path: Path) -> None:
    assert q(path, "PRAGMA foreign_key_check") == []


@pytest.fixture
def src_dst(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "src.db", tmp_path / "dst.db"


def test_case02_self_reference_twice(src_dst) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE thread_msg (id int PRIMARY KEY, parent_id int REFERENCES thread_msg(id),
                                 root_id int REFERENCES thread_msg(id), created_on text NOT NULL);
        INSERT INTO thread_msg VALUES (1,NULL,NULL,'2024-01-01'),(2,1,1,'2024-03-01'),
                                      (3,2,1,'2024-06-01'),(4,NULL,NULL,'2024-06-02');""")
    subset_clone(src, dst, {"root_table": "thread_msg", "where": "created_on >= '2024-05-01'"})
    assert content(dst) == content(src)
    no_orphans(dst)


def test_case03_composite_fk_to_unique_pair(src_dst) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE region (id int PRIMARY KEY, country text NOT NULL, code text NOT NULL,
                             UNIQUE (country, code));
        CREATE TABLE depot (id int PRIMARY KEY, country text, region_code text,
                            FOREIGN KEY (country, region_code) REFERENCES region (country, code));
        INSERT INTO region VALUES (1,'AA','N'),(2,'AA','S'),(3,'BB','N');
        INSERT INTO depot VALUES (10,'BB','N'),(11,'AA','S');""")
    subset_clone(src, dst, {"root_table": "depot", "where": "id = 10"})
    assert q(dst, "SELECT id, country, code FROM region") == [(3, "BB", "N")]
    assert q(dst, "SELECT id FROM depot") == [(10,)]


def test_case05_cycle_through_nullable_fk(src_dst) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE team (id int PRIMARY KEY, captain_id int REFERENCES player(id));
        CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL REFERENCES team(id));
        INSERT INTO team VALUES (1, NULL); INSERT INTO player VALUES (11, 1), (12, 1);
        UPDATE team SET captain_id = 11;""")
    subset_clone(src, dst, {"root_table": "player", "where": "id = 12"})
    assert content(dst) == content(src)
    no_orphans(dst)


def test_case05_cycle_of_not_null_fks_is_refused_at_plan_time(src_dst) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE team (id int PRIMARY KEY, captain_id int NOT NULL REFERENCES player(id));
        CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL REFERENCES team(id));""")
    with pytest.raises(PlanError, match="cycle"):
        subset_clone(src, dst, {"root_table": "team"})
    assert not dst.exists()


@pytest.mark.parametrize("downstream", [True, False])
def test_case06_schema_without_cycles(src_dst, downstream) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE brand (id int PRIMARY KEY);
        CREATE TABLE product (id int PRIMARY KEY, brand_id int NOT NULL REFERENCES brand(id));
        CREATE TABLE price_point (id int PRIMARY KEY,
                                  product_id int NOT NULL REFERENCES product(id));
        INSERT INTO brand VALUES (1), (2), (3);
        INSERT INTO product VALUES (1, 2), (2, 3), (3, 1), (4, 1), (5, 2);
        INSERT INTO price_point VALUES (1,1),(2,2),(3,3),(4,4),(5,5),(6,1),(7,2),(8,3),(9,4),
                                       (10,5);""")
    subset_clone(src, dst, {"root_table": "product", "where": "id <= 2",
                            "downstream": downstream})
    assert q(dst, "SELECT id, brand_id FROM product ORDER BY id") == [(1, 2), (2, 3)]
    assert ids(dst, "SELECT id FROM brand") == {2, 3}
    assert ids(dst, "SELECT id FROM price_point") == ({1, 2, 6, 7} if downstream else set())


def test_case07_extension_rows_of_parents_pulled_in(src_dst) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE course (id text PRIMARY KEY);
        CREATE TABLE course_text (id text PRIMARY KEY REFERENCES course(id), title text);
        CREATE TABLE bundle (id text PRIMARY KEY);
        CREATE TABLE bundle_text (id text PRIMARY KEY REFERENCES bundle(id), title text);
        CREATE TABLE bundle_course (bundle_id text REFERENCES bundle(id),
                                    course_id text REFERENCES course(id),
                                    PRIMARY KEY (bundle_id, course_id));
        INSERT INTO course VALUES ('c1'), ('c2'), ('c3'), ('c4'), ('c5'), ('c6');
        INSERT INTO course_text SELECT id, 't ' || id FROM course;
        INSERT INTO bundle VALUES ('b1'), ('b2'), ('b3'), ('b4');
        INSERT INTO bundle_text SELECT id, 't ' || id FROM bundle;
        INSERT INTO bundle_course VALUES ('b1','c1'),('b1','c2'),('b2','c2'),('b2','c3'),
                                         ('b3','c3'),('b3','c4'),('b4','c4'),('b4','c5');""")
    subset_clone(src, dst, {"root_table": "bundle", "target_size": "50%"})
    bundles = ids(dst, "SELECT id FROM bundle")
    assert len(bundles) == 2 and ids(dst, "SELECT id FROM bundle_text") == bundles
    courses = ids(dst, "SELECT course_id FROM bundle_course")
    assert ids(dst, "SELECT id FROM course") == courses == ids(dst, "SELECT id FROM course_text")
    no_orphans(dst)


def test_case08_excluded_but_referenced(src_dst) -> None:
    src, dst = src_dst
    db(src, """
        CREATE TABLE category (id int PRIMARY KEY, parent_id int REFERENCES category(id),
                               label text);
        CREATE TABLE item (id int PRIMARY KEY, category_id int NOT NULL REFERENCES category(id));
        INSERT INTO category VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, NULL, 'd');
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
        INSERT INTO item SELECT i, i % 4 + 1 FROM n;""")
    subset = {"root_table": "item", "target_size": "10%", "exclude": ["category"]}
    with pytest.raises(PlanError) as err:
        subset_clone(src, dst, subset)
    assert "main.item.category_id NOT NULL → main.category(id)" in str(err.value)
    assert not dst.exists()
    subset_clone(src, dst, {**subset, "excluded_referenced": "passthrough"})
    assert q(dst, "SELECT count(*) FROM item") == [(4,)]
    assert q(dst, "SELECT count(*) FROM category") == [(4,)]
    no_orphans(dst)


def test_chinook_twenty_percent_of_customers(tmp_path) -> None:
    if not CHINOOK.exists():
        pytest.fail(f"dataset missing: {CHINOOK}")
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    subset = {"root_table": "Customer", "target_size": "20%", "seed": 3}
    subset_clone(CHINOOK, a, subset)
    subset_clone(CHINOOK, b, subset)
    subset_clone(CHINOOK, c, {**subset, "seed": 4})
    no_orphans(a)
    customers = ids(a, "SELECT CustomerId FROM Customer")
    assert abs(len(customers) - 59 * 0.2) <= 1
    assert content(a) == content(b)
    assert ids(c, "SELECT CustomerId FROM Customer") != customers
    marks = ",".join("?" * len(customers))
    conn = sqlite3.connect(CHINOOK)
    want = {r[0] for r in conn.execute(
        f"SELECT InvoiceId FROM Invoice WHERE CustomerId IN ({marks})", sorted(customers))}
    conn.close()
    assert ids(a, "SELECT InvoiceId FROM Invoice") == want
    managers = ids(a, "SELECT ReportsTo FROM Employee WHERE ReportsTo IS NOT NULL")
    assert managers <= ids(a, "SELECT EmployeeId FROM Employee")



class TotalsSeen(RunObserver):
    """What each table's progress counts towards."""

    def __init__(self) -> None:
        self.totals: dict[str, int | None] = {}

    def table_started(self, table, rows=None) -> None:
        self.totals[table.ref.name] = rows


def test_progress_of_a_subset_counts_towards_the_selected_rows(tmp_path) -> None:
    """Not the source table's size: 12 of 59 customers is 12 rows to go, not 59."""
    if not CHINOOK.exists():
        pytest.fail(f"dataset missing: {CHINOOK}")
    dst = tmp_path / "out.db"
    text = yaml.safe_dump({"workspace": "test", "source": {"url": f"sqlite:///{CHINOOK}"},
                           "destination": {"url": f"sqlite:///{dst}"},
                           "on_unconfigured": "keep",
                           "subset": {"root_table": "Customer", "target_size": "20%",
                                      "seed": 3, "passthrough": ["Genre"]}})
    seen = TotalsSeen()
    run(parse_workspace(text, source="test.yaml", env={}), seen)
    assert seen.totals["Customer"] == q(dst, "SELECT count(*) FROM Customer")[0][0] == 12
    assert seen.totals["Invoice"] == q(dst, "SELECT count(*) FROM Invoice")[0][0]
    assert seen.totals["Genre"] is None  # copied whole: the table's own estimate stands


def test_progress_of_a_leaf_its_copy_counts_is_the_planners_estimate(tmp_path,
                                                                   monkeypatch) -> None:
    """A database too big to select at plan time counts a leaf child while copying it:
    meanwhile its progress goes towards the planner's estimate of the selected rows, not
    every row of the source table (a 1% subset showed "of ~10,000,021, 414 s left")."""
    monkeypatch.setattr(subset, "CHEAP_SELECT", 0)  # as if the database were big
    src, dst = tmp_path / "three_children_each.db", tmp_path / "out.db"
    conn = sqlite3.connect(src)
    conn.executescript("""
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (id INTEGER PRIMARY KEY,
                            parent_id INTEGER NOT NULL REFERENCES parent (id));
        WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000)
        INSERT INTO child SELECT n, (n - 1) / 3 + 1 FROM g;
        INSERT INTO parent SELECT DISTINCT parent_id FROM child;
    """)
    conn.commit()
    conn.close()
    text = yaml.safe_dump({"workspace": "test", "source": {"url": f"sqlite:///{src}"},
                           "destination": {"url": f"sqlite:///{dst}"},
                           "on_unconfigured": "keep",
                           "subset": {"root_table": "parent", "target_size": "10%",
                                      "seed": 3}})
    seen = TotalsSeen()
    run(parse_workspace(text, source="test.yaml", env={}), seen)
    assert q(dst, "SELECT count(*) FROM parent")[0][0] == 100
    assert q(dst, "SELECT count(*) FROM child")[0][0] == 300
    assert seen.totals["parent"] == 100
    assert seen.totals["child"] == 300  # 10% of 3,000: the estimate, not 3,000

# -- bad input at plan time, several roots, where with target_size -------------------------------

def subset_clone_text(src: Path, dst: Path, subset_yaml: str) -> CloneReport:
    """Like subset_clone, with the subset: section as written (for exact file:line)."""
    text = (f"workspace: test\nsource: {{url: 'sqlite:///{src}'}}\n"
            f"destination: {{url: 'sqlite:///{dst}'}}\non_unconfigured: keep\n"
            f"subset:\n{subset_yaml}")
    return run(parse_workspace(text, source="test.yaml", env={}))


@pytest.mark.parametrize(("where", "message"), [
    ("nme = 'a'", "no such column: nme"),
    ("CustomerId >", 'near ")": syntax error')])
def test_where_the_source_rejects_shows_its_message_and_the_table(tmp_path, where,
                                                                  message) -> None:
    dst = tmp_path / "dst.db"
    with pytest.raises(PlanError) as err:
        subset_clone_text(CHINOOK, dst, f"  root_table: Customer\n  target_size: 10%\n"
                                        f"  where: \"{where}\"\n")
    assert err.value.message == ("test.yaml:8: subset: where on main.Customer failed on the "
                                 f"source: {message}")
    assert "SQLite" in (err.value.hint or "")
    assert not dst.exists()


@pytest.mark.parametrize(("body", "message", "hint"), [
    ("  exclude:\n    - Genre\n    - Invoce\n",
     "test.yaml:9: table main.Invoce does not exist in the source", "did you mean 'Invoice'?"),
    ("  exclude: [mian.Invoice]\n",
     "test.yaml:7: schema 'mian' is not in the source", "did you mean 'main'?"),
    ("  passthrough: [Genre, main.MediTpe]\n",
     "test.yaml:7: table main.MediTpe does not exist in the source",
     "did you mean 'main.MediaType'?"),
    ("  virtual_foreign_keys:\n    - {from: 'Invoce(CustomerId)', to: 'Customer(CustomerId)'}\n",
     "test.yaml:8: table main.Invoce does not exist in the source", "did you mean 'Invoice'?"),
    ("  virtual_foreign_keys:\n    - from: Invoice(CustomerId)\n      to: Custmer(CustomerId)\n",
     "test.yaml:8: table main.Custmer does not exist in the source",
     "did you mean 'Customer'?")])
def test_unknown_table_in_exclude_or_virtual_fk_names_its_line_and_suggests(
        tmp_path, body, message, hint) -> None:
    from dbclone.errors import ConfigError

    dst = tmp_path / "dst.db"
    with pytest.raises(ConfigError) as err:
        subset_clone_text(CHINOOK, dst, "  root_table: Customer\n" + body)
    assert (err.value.message, err.value.hint) == (message, hint)
    assert not dst.exists()


def test_chinook_two_roots_each_with_its_own_target_size(tmp_path) -> None:
    dst = tmp_path / "dst.db"
    subset = {"roots": [{"table": "Customer", "target_size": "20%"},
                        {"table": "Playlist", "target_size": 3}], "seed": 5}
    subset_clone(CHINOOK, dst, subset)
    no_orphans(dst)
    assert q(dst, "SELECT count(*) FROM Customer") == [(12,)]  # 20% of 59, to the row
    playlists = ids(dst, "SELECT PlaylistId FROM Playlist")
    assert len(playlists) == 3
    customers = ids(dst, "SELECT CustomerId FROM Customer")
    conn = sqlite3.connect(CHINOOK)
    try:
        def of(sql: str, keys: set) -> set:
            marks = ",".join("?" * len(keys))
            return {r if len(r) > 1 else r[0]
                    for r in conn.execute(sql.format(marks), sorted(keys))}

        # each root brings its own children: invoices of the customers, tracks of the lists
        assert ids(dst, "SELECT InvoiceId FROM Invoice") == of(
            "SELECT InvoiceId FROM Invoice WHERE CustomerId IN ({})", customers)
        pairs = of("SELECT PlaylistId, TrackId FROM PlaylistTrack WHERE PlaylistId IN ({})",
                   playlists)
        sold = ids(dst, "SELECT TrackId FROM InvoiceLine")
    finally:
        conn.close()
    assert pairs and ids(dst, "SELECT PlaylistId, TrackId FROM PlaylistTrack") == pairs
    # and the tracks both reach, as parents, without their other children
    assert ids(dst, "SELECT TrackId FROM Track") == {t for _, t in pairs} | sold
    assert q(dst, "SELECT count(*) FROM Playlist WHERE PlaylistId NOT IN "
                  f"({','.join(map(str, playlists))})") == [(0,)]


STORES = """
CREATE TABLE store (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE customer (id int PRIMARY KEY, store_id int NOT NULL REFERENCES store(id));
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO store SELECT i, 'store ' || i FROM n WHERE i <= 200;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO customer SELECT i, i % 20 + 1 FROM n;
"""


@pytest.mark.parametrize(("seed", "stores", "wanted"), [
    (0, 25, 25), (6, 25, 25), (12, 25, 25), (1, 50, 50), (4, 50, 50), (3, "30%", 60),
    (11, 150, 150)])
def test_two_roots_one_a_parent_of_the_other_both_on_target(tmp_path, seed, stores,
                                                            wanted) -> None:
    """The 100 sampled customers need stores 1..20 whatever the stores' own sample: the
    store sample is taken again smaller until the stores end exactly on their target."""
    src = db(tmp_path / "src.db", STORES)
    dst = tmp_path / "dst.db"
    subset_clone(src, dst, {"roots": [{"table": "customer", "target_size": "10%"},
                                      {"table": "store", "target_size": stores}],
                            "seed": seed, "downstream": False})
    no_orphans(dst)
    assert q(dst, "SELECT count(*) FROM customer") == [(100,)]
    got = q(dst, "SELECT count(*) FROM store")[0][0]
    assert abs(got - wanted) <= wanted // 100  # within 1%, exactly below 100 rows
    assert ids(dst, "SELECT store_id FROM customer") <= ids(dst, "SELECT id FROM store")


NUMBERED = """
CREATE TABLE account (id int PRIMARY KEY, kind text NOT NULL);
CREATE TABLE entry (id int PRIMARY KEY, account_id int NOT NULL REFERENCES account(id));
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO account SELECT i, CASE WHEN i % 3 = 0 THEN 'gold' ELSE 'basic' END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
INSERT INTO entry SELECT i, (i * 7) % 3000 + 1 FROM n;
"""


@pytest.mark.parametrize(("target", "wanted"), [("10%", 100), ("0.25", 250), (40, 40),
                                                ("100%", 1000), (5000, 1000)])
def test_where_with_target_size_samples_among_the_matching_rows(tmp_path, target,
                                                                wanted) -> None:
    """1,000 of the 3,000 accounts are gold: 10% means 100 gold accounts, not 300 rows."""
    src = db(tmp_path / "src.db", NUMBERED)
    subset = {"root_table": "account", "where": "kind = 'gold'", "target_size": target,
              "seed": 9}
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    subset_clone(src, a, subset)
    subset_clone(src, b, subset)
    no_orphans(a)
    assert q(a, "SELECT kind, count(*) FROM account GROUP BY kind") == [("gold", wanted)]
    assert content(a) == content(b)
    chosen = ids(a, "SELECT id FROM account")
    assert all(i % 3 == 0 for i in chosen)
    assert ids(a, "SELECT id FROM entry") == ids(
        src, f"SELECT id FROM entry WHERE account_id IN ({','.join(map(str, chosen))})")


def test_where_with_target_size_on_chinook(tmp_path) -> None:
    dst = tmp_path / "dst.db"
    report = subset_clone(CHINOOK, dst, {"root_table": "Customer", "target_size": "50%",
                                         "where": "Country IN ('USA', 'Canada')", "seed": 2})
    assert report is not None
    # 13 + 8 = 21 customers match: half of them is 10.5, rounded to 11 (not 50% of 59)
    assert q(dst, "SELECT count(*) FROM Customer") == [(11,)]
    assert q(dst, "SELECT count(*) FROM Customer WHERE Country NOT IN ('USA', 'Canada')") \
        == [(0,)]
    no_orphans(dst)


LEAF = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id),
                    amount INTEGER);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 600)
INSERT INTO parent SELECT n, 'p' || n FROM g;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 1800)
INSERT INTO child SELECT n, (n * 7) % 600 + 1, n FROM g;
"""


def test_a_leaf_child_selected_during_the_clone_is_counted_by_its_copy(src_dst,
                                                                       monkeypatch) -> None:
    """A database too big to select at plan time: the child table (only ever reached from
    its one parent) is not counted ahead, its copy counts it, and the summary is exact."""
    import dbclone.subset as subset_pkg
    from dbclone.subset.engine import Engine

    monkeypatch.setattr(subset_pkg, "CHEAP_SELECT", 0)  # select during the run
    counted: list[object] = []
    real = Engine._count_leaf
    monkeypatch.setattr(Engine, "_count_leaf", lambda self, e: counted.append(e) or real(self, e))
    src, dst = src_dst
    db(src, LEAF)
    report = subset_clone(src, dst, {"root_table": "parent", "target_size": "10%", "seed": 1})
    plan = report.plan.subset
    child = next(tp for tp in plan.tables.values() if tp.ref.name == "child")
    got = q(dst, "SELECT count(*) FROM child")[0][0]
    parents = ids(dst, "SELECT id FROM parent")
    assert len(parents) == 60 and counted == []
    assert got == sum(1 for i in range(1, 1801) if (i * 7) % 600 + 1 in parents)
    assert child.selected == got and plan.exact
    assert plan.summary().endswith(f"-> {100 * (60 + got) / 2400:.1f}% of all rows "
                                   f"({60 + got:,} of 2,400)")
