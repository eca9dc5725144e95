"""Subsetting on real SQLite files through ``pipeline.run`` (no server): the field cases 02,
03, 05, 06, 07 and 08 and Chinook at 20% of Customer, with foreign keys checked by SQLite."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbclone.config import parse_workspace
from dbclone.errors import PlanError
from dbclone.pipeline import CloneReport, run

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
