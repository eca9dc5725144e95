"""Subsetting on the real MariaDB: Chinook at 20% of Customer and the field cases 02, 03, 05,
06, 07 and 08. The destination enforces its FKs; an anti-join per FK counts orphans too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import load_dataset, my_drop, unique_name
from subset_checks import my_fks, my_ids, my_orphans, my_subset_workspace, run
from test_mysql_support import databases, query

from dbclone.errors import ConfigError, PlanError

CHINOOK_SUBSET = {"root_table": "Customer", "target_size": "20%", "seed": 11}


def _tables(db: str) -> list[str]:
    return [r[0] for r in query(None, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                      "WHERE TABLE_SCHEMA = %s ORDER BY 1", (db,))]


def _content(db: str) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: equal content means the identical subset."""
    return {t: sorted(query(db, f"SELECT * FROM `{t}`"), key=repr) for t in _tables(db)}


def _assert_integrity(src: str, dst: str) -> None:
    assert {(n, c, p) for n, c, p, *_ in my_fks(dst)} == \
        {(n, c, p) for n, c, p, *_ in my_fks(src)}
    orphans = my_orphans(dst)
    assert orphans and set(orphans.values()) == {0}, orphans


@pytest.fixture(scope="module")
def chinook(datasets_dir) -> Iterator[str]:
    src = unique_name()
    try:
        load_dataset("chinook-mysql", src)
        yield src
    finally:
        for db in databases(src):
            my_drop(db)


@pytest.fixture(scope="module")
def chinook_subset(chinook, tmp_path_factory) -> str:
    dst = f"{chinook}_s11"
    run(my_subset_workspace(tmp_path_factory.mktemp("s11"), chinook, dst, CHINOOK_SUBSET))
    return dst


def test_chinook_subset_keeps_every_fk_valid(chinook, chinook_subset) -> None:
    _assert_integrity(chinook, chinook_subset)


def test_chinook_customer_count_is_twenty_percent(chinook, chinook_subset) -> None:
    total = query(chinook, "SELECT COUNT(*) FROM Customer")[0][0]
    got = query(chinook_subset, "SELECT COUNT(*) FROM Customer")[0][0]
    assert total == 59
    assert abs(got - total * 0.2) <= max(1, total * 0.2 / 100)


def test_chinook_selected_customers_bring_all_invoices_and_lines(chinook,
                                                                 chinook_subset) -> None:
    customers = sorted(my_ids(chinook_subset, "SELECT CustomerId FROM Customer"))
    marks = ", ".join(["%s"] * len(customers))
    invoices = my_ids(chinook, f"SELECT InvoiceId FROM Invoice WHERE CustomerId IN ({marks})",
                      tuple(customers))
    lines = my_ids(chinook, "SELECT InvoiceLineId FROM InvoiceLine l JOIN Invoice i "
                            f"USING (InvoiceId) WHERE i.CustomerId IN ({marks})",
                   tuple(customers))
    assert len(invoices) > 50 and len(lines) > 200
    assert my_ids(chinook_subset, "SELECT InvoiceId FROM Invoice") == invoices
    assert my_ids(chinook_subset, "SELECT InvoiceLineId FROM InvoiceLine") == lines


def test_chinook_employee_reports_to_is_closed(chinook, chinook_subset) -> None:
    employees = my_ids(chinook_subset, "SELECT EmployeeId FROM Employee")
    managers = my_ids(chinook_subset, "SELECT ReportsTo FROM Employee "
                                      "WHERE ReportsTo IS NOT NULL")
    reps = my_ids(chinook_subset, "SELECT SupportRepId FROM Customer "
                                  "WHERE SupportRepId IS NOT NULL")
    assert reps and managers and (reps | managers) <= employees
    # the chain goes up to the top: the general manager (ReportsTo NULL) is there
    assert my_ids(chinook_subset, "SELECT EmployeeId FROM Employee WHERE ReportsTo IS NULL") \
        == my_ids(chinook, "SELECT EmployeeId FROM Employee WHERE ReportsTo IS NULL")


def test_chinook_same_seed_identical_other_seed_different(chinook, chinook_subset,
                                                          tmp_path) -> None:
    again, other = f"{chinook}_s11b", f"{chinook}_s12"
    run(my_subset_workspace(tmp_path, chinook, again, CHINOOK_SUBSET, name="a.yaml"))
    run(my_subset_workspace(tmp_path, chinook, other, {**CHINOOK_SUBSET, "seed": 12},
                            name="b.yaml"))
    assert _content(again) == _content(chinook_subset)
    a = my_ids(chinook_subset, "SELECT CustomerId FROM Customer")
    b = my_ids(other, "SELECT CustomerId FROM Customer")
    assert abs(len(b) - 11.8) <= 1 and a != b
    _assert_integrity(chinook, other)


def test_chinook_subset_with_masked_columns(chinook, chinook_subset, tmp_path) -> None:
    masked = f"{chinook}_masked"
    run(my_subset_workspace(tmp_path, chinook, masked, CHINOOK_SUBSET, generators={
        "Customer.Email": "fake_email", "Customer.LastName": "fake_last_name"}))
    _assert_integrity(chinook, masked)
    cols = "CustomerId, Email, LastName, SupportRepId, Country"
    got = {r[0]: r[1:] for r in query(masked, f"SELECT {cols} FROM Customer")}
    plain = {r[0]: r[1:] for r in query(chinook_subset, f"SELECT {cols} FROM Customer")}
    assert got.keys() == plain.keys()  # masking does not move the subset
    for cid, (email, last, *rest) in got.items():
        p_email, p_last, *p_rest = plain[cid]
        assert email != p_email and last != p_last
        assert rest == p_rest


# -- field cases ----------------------------------------------------------------------------------

def _subset(my_db, tmp_path, ddl: str, subset: dict) -> tuple[str, str]:
    src = my_db(ddl)
    dst = f"{src}_dst"
    run(my_subset_workspace(tmp_path, src, dst, subset))
    return src, dst


CASE02 = """
CREATE TABLE thread_msg (id int PRIMARY KEY, parent_id int NULL, root_id int NULL,
  created_on date NOT NULL,
  FOREIGN KEY (parent_id) REFERENCES thread_msg(id),
  FOREIGN KEY (root_id) REFERENCES thread_msg(id));
INSERT INTO thread_msg VALUES (1,NULL,NULL,'2024-01-01'),(2,1,1,'2024-03-01'),
  (3,2,1,'2024-06-01'),(4,NULL,NULL,'2024-06-02');
"""


def test_case02_self_reference_twice(my_db, tmp_path) -> None:
    src, dst = _subset(my_db, tmp_path, CASE02, {"root_table": "thread_msg",
                                                 "where": "created_on >= '2024-05-01'"})
    assert _content(dst) == _content(src)


def test_case03_composite_fk_to_unique_pair(my_db, tmp_path) -> None:
    _, dst = _subset(my_db, tmp_path, """
        CREATE TABLE region (id int PRIMARY KEY, country char(2) NOT NULL,
                             code varchar(10) NOT NULL, UNIQUE (country, code));
        CREATE TABLE depot (id int PRIMARY KEY, country char(2), region_code varchar(10),
                            FOREIGN KEY (country, region_code) REFERENCES region (country, code));
        INSERT INTO region VALUES (1,'AA','N'),(2,'AA','S'),(3,'BB','N');
        INSERT INTO depot VALUES (10,'BB','N'),(11,'AA','S');""",
                     {"root_table": "depot", "where": "id = 10"})
    assert query(dst, "SELECT id, country, code FROM region") == [(3, "BB", "N")]


def test_case05_cycle_through_nullable_fk(my_db, tmp_path) -> None:
    src, dst = _subset(my_db, tmp_path, """
        CREATE TABLE team (id int PRIMARY KEY, captain_id int NULL);
        CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL,
                             FOREIGN KEY (team_id) REFERENCES team(id));
        ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player(id);
        INSERT INTO team VALUES (1, NULL); INSERT INTO player VALUES (11, 1), (12, 1);
        UPDATE team SET captain_id = 11;""", {"root_table": "player", "where": "id = 12"})
    assert _content(dst) == _content(src)
    _assert_integrity(src, dst)


def test_case05_cycle_of_not_null_fks_is_refused_at_plan_time(my_db, tmp_path) -> None:
    src = my_db("""
        CREATE TABLE team (id int PRIMARY KEY, captain_id int NOT NULL);
        CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL,
                             FOREIGN KEY (team_id) REFERENCES team(id));
        ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player(id);""")
    with pytest.raises(PlanError, match="cycle"):
        run(my_subset_workspace(tmp_path, src, f"{src}_dst", {"root_table": "team"}))
    assert databases(f"{src}_dst") == []


def test_case06_schema_without_cycles(my_db, tmp_path) -> None:
    _, dst = _subset(my_db, tmp_path, """
        CREATE TABLE brand (id int PRIMARY KEY);
        CREATE TABLE product (id int PRIMARY KEY, brand_id int NOT NULL,
                              FOREIGN KEY (brand_id) REFERENCES brand(id));
        CREATE TABLE price_point (id int PRIMARY KEY, product_id int NOT NULL,
                                  FOREIGN KEY (product_id) REFERENCES product(id));
        INSERT INTO brand VALUES (1), (2), (3);
        INSERT INTO product VALUES (1, 2), (2, 3), (3, 1), (4, 1), (5, 2);
        INSERT INTO price_point VALUES (1,1),(2,2),(3,3),(4,4),(5,5),(6,1),(7,2),(8,3),(9,4),
                                       (10,5);""",
                     {"root_table": "product", "where": "id <= 2"})
    assert query(dst, "SELECT id, brand_id FROM product ORDER BY id") == [(1, 2), (2, 3)]
    assert my_ids(dst, "SELECT id FROM brand") == {2, 3}
    assert my_ids(dst, "SELECT id FROM price_point") == {1, 2, 6, 7}


def test_case07_extension_rows_of_parents_pulled_in(my_db, tmp_path) -> None:
    src, dst = _subset(my_db, tmp_path, """
        CREATE TABLE course (id char(36) PRIMARY KEY);
        CREATE TABLE course_text (id char(36) PRIMARY KEY, title text,
                                  FOREIGN KEY (id) REFERENCES course(id));
        CREATE TABLE bundle (id char(36) PRIMARY KEY);
        CREATE TABLE bundle_text (id char(36) PRIMARY KEY, title text,
                                  FOREIGN KEY (id) REFERENCES bundle(id));
        CREATE TABLE bundle_course (bundle_id char(36), course_id char(36),
            PRIMARY KEY (bundle_id, course_id),
            FOREIGN KEY (bundle_id) REFERENCES bundle(id),
            FOREIGN KEY (course_id) REFERENCES course(id));
        INSERT INTO course VALUES ('c1'), ('c2'), ('c3'), ('c4'), ('c5'), ('c6');
        INSERT INTO course_text SELECT id, CONCAT('t ', id) FROM course;
        INSERT INTO bundle VALUES ('b1'), ('b2'), ('b3'), ('b4');
        INSERT INTO bundle_text SELECT id, CONCAT('t ', id) FROM bundle;
        INSERT INTO bundle_course VALUES ('b1','c1'),('b1','c2'),('b2','c2'),('b2','c3'),
                                         ('b3','c3'),('b3','c4'),('b4','c4'),('b4','c5');""",
                       {"root_table": "bundle", "target_size": "50%"})
    bundles = my_ids(dst, "SELECT id FROM bundle")
    assert len(bundles) == 2 and my_ids(dst, "SELECT id FROM bundle_text") == bundles
    courses = my_ids(dst, "SELECT course_id FROM bundle_course")
    assert my_ids(dst, "SELECT id FROM course") == courses
    assert my_ids(dst, "SELECT id FROM course_text") == courses
    _assert_integrity(src, dst)


CASE08 = """
CREATE TABLE category (id int PRIMARY KEY, parent_id int, label text,
                       FOREIGN KEY (parent_id) REFERENCES category(id));
CREATE TABLE item (id int PRIMARY KEY, category_id int NOT NULL,
                   FOREIGN KEY (category_id) REFERENCES category(id));
INSERT INTO category VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, NULL, 'd');
INSERT INTO item VALUES (1,1),(2,2),(3,3),(4,4),(5,1),(6,2),(7,3),(8,4),(9,1),(10,2),
  (11,3),(12,4),(13,1),(14,2),(15,3),(16,4),(17,1),(18,2),(19,3),(20,4);
"""


def test_case08_excluded_but_referenced(my_db, tmp_path) -> None:
    src = my_db(CASE08)
    subset = {"root_table": "item", "target_size": "10%", "exclude": ["category"]}
    with pytest.raises(PlanError) as err:
        run(my_subset_workspace(tmp_path, src, f"{src}_dst", subset))
    assert f"{src}.item.category_id NOT NULL → {src}.category(id)" in str(err.value)
    assert databases(f"{src}_dst") == []
    run(my_subset_workspace(tmp_path, src, f"{src}_dst",
                            {**subset, "excluded_referenced": "passthrough"}))
    assert query(f"{src}_dst", "SELECT COUNT(*) FROM item") == [(2,)]
    assert query(f"{src}_dst", "SELECT COUNT(*) FROM category") == [(4,)]
    _assert_integrity(src, f"{src}_dst")


# -- bad input at plan time, several roots, where with target_size -------------------------------

def _refused(tmp_path: Path, src: str, subset: dict, kind: type = PlanError,
             ) -> tuple[Path, BaseException]:
    dst = f"{src}_refused"
    path = my_subset_workspace(tmp_path, src, dst, subset, name="refused.yaml")
    with pytest.raises(kind) as err:
        run(path)
    assert databases(dst) == []  # refused before anything was created
    return path, err.value


def _line_of(path: Path, text: str) -> int:
    (n,) = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return n


@pytest.mark.parametrize(("where", "message"), [
    ("nme = 'a'", "Unknown column 'nme' in 'WHERE'"),
    ("CustomerId >", "You have an error in your SQL syntax; check the manual that corresponds "
                     "to your MariaDB server version for the right syntax to use near ')' at "
                     "line 1")])
def test_where_the_source_rejects_shows_its_message_and_the_table(chinook, tmp_path, where,
                                                                  message) -> None:
    path, e = _refused(tmp_path, chinook, {"root_table": "Customer", "target_size": "10%",
                                           "where": where})
    assert e.message == (f"{path}:{_line_of(path, 'where:')}: subset: where on "
                         f"{chinook}.Customer failed on the source: {message}")
    assert "this database's SQL" in (e.hint or "")


@pytest.mark.parametrize(("key", "value", "bad", "hint"), [
    ("exclude", ["Genre", "Invoce"], "Invoce", "did you mean 'Invoice'?"),
    ("passthrough", ["MediaTyp"], "MediaTyp", "did you mean 'MediaType'?"),
    ("virtual_foreign_keys", [{"from": "Invoce(CustomerId)", "to": "Customer(CustomerId)"}],
     "Invoce", "did you mean 'Invoice'?"),
    ("virtual_foreign_keys", [{"from": "Invoice(CustomerId)", "to": "Custmer(CustomerId)"}],
     "Custmer", "did you mean 'Customer'?")])
def test_unknown_table_in_exclude_or_virtual_fk_names_its_line_and_suggests(
        chinook, tmp_path, key, value, bad, hint) -> None:
    path, e = _refused(tmp_path, chinook, {"root_table": "Customer", key: value}, ConfigError)
    line = _line_of(path, bad) if key != "virtual_foreign_keys" else _line_of(path, "- from:")
    assert (e.message, e.hint) == (
        f"{path}:{line}: table {chinook}.{bad} does not exist in the source", hint)


def test_chinook_two_roots_each_with_its_own_target_size(chinook, tmp_path) -> None:
    dst = f"{chinook}_two"
    run(my_subset_workspace(tmp_path, chinook, dst, {
        "roots": [{"table": "Customer", "target_size": "20%"},
                  {"table": "Playlist", "target_size": 3}], "seed": 5}))
    _assert_integrity(chinook, dst)
    assert query(dst, "SELECT COUNT(*) FROM Customer") == [(12,)]  # 20% of 59, to the row
    playlists = sorted(my_ids(dst, "SELECT PlaylistId FROM Playlist"))
    assert len(playlists) == 3
    customers = sorted(my_ids(dst, "SELECT CustomerId FROM Customer"))
    c_marks, p_marks = ", ".join(["%s"] * len(customers)), ", ".join(["%s"] * 3)
    assert my_ids(dst, "SELECT InvoiceId FROM Invoice") == my_ids(
        chinook, f"SELECT InvoiceId FROM Invoice WHERE CustomerId IN ({c_marks})",
        tuple(customers))
    pairs = my_ids(chinook, "SELECT PlaylistId, TrackId FROM PlaylistTrack "
                            f"WHERE PlaylistId IN ({p_marks})", tuple(playlists))
    assert pairs and my_ids(dst, "SELECT PlaylistId, TrackId FROM PlaylistTrack") == pairs
    sold = my_ids(dst, "SELECT TrackId FROM InvoiceLine")
    assert my_ids(dst, "SELECT TrackId FROM Track") == {t for _, t in pairs} | sold


def test_two_roots_one_a_parent_of_the_other_both_on_target(my_db, tmp_path) -> None:
    src = my_db("""
        CREATE TABLE store (id int PRIMARY KEY, name varchar(20) NOT NULL);
        CREATE TABLE customer (id int PRIMARY KEY, store_id int NOT NULL,
                               FOREIGN KEY (store_id) REFERENCES store(id));
        INSERT INTO store SELECT seq, CONCAT('store ', seq) FROM seq_1_to_200;
        INSERT INTO customer SELECT seq, seq % 20 + 1 FROM seq_1_to_1000;""")
    dst = f"{src}_dst"
    run(my_subset_workspace(tmp_path, src, dst, {
        "roots": [{"table": "customer", "target_size": "10%"},
                  {"table": "store", "target_size": 25}], "seed": 3, "downstream": False}))
    _assert_integrity(src, dst)
    # the 100 customers need stores 1..20 whatever the stores' own sample: that sample is
    # taken again smaller until the stores end on their 25
    assert query(dst, "SELECT COUNT(*) FROM customer") == [(100,)]
    assert query(dst, "SELECT COUNT(*) FROM store") == [(25,)]


def test_chinook_where_with_target_size_samples_among_the_matching_rows(chinook,
                                                                        tmp_path) -> None:
    dst = f"{chinook}_where"
    where = "Country IN ('USA', 'Canada')"
    run(my_subset_workspace(tmp_path, chinook, dst, {"root_table": "Customer",
                                                     "target_size": "50%", "where": where,
                                                     "seed": 2}))
    _assert_integrity(chinook, dst)
    assert query(chinook, f"SELECT COUNT(*) FROM Customer WHERE {where}") == [(21,)]
    # half of the 21 matching customers (10.5, rounded to 11), not half of all 59
    assert query(dst, "SELECT COUNT(*) FROM Customer") == [(11,)]
    assert query(dst, f"SELECT COUNT(*) FROM Customer WHERE NOT ({where})") == [(0,)]
    customers = sorted(my_ids(dst, "SELECT CustomerId FROM Customer"))
    marks = ", ".join(["%s"] * len(customers))
    assert my_ids(dst, "SELECT InvoiceId FROM Invoice") == my_ids(
        chinook, f"SELECT InvoiceId FROM Invoice WHERE CustomerId IN ({marks})",
        tuple(customers))


@pytest.mark.parametrize(("target", "wanted"), [("10%", 100), (40, 40), (5000, 1000)])
def test_where_with_target_size_counts_the_matching_rows(my_db, tmp_path, target,
                                                         wanted) -> None:
    src = my_db("""
        CREATE TABLE account (id int PRIMARY KEY, kind varchar(10) NOT NULL);
        INSERT INTO account SELECT seq, IF(seq % 3 = 0, 'gold', 'basic') FROM seq_1_to_3000;""")
    dst = f"{src}_dst"
    run(my_subset_workspace(tmp_path, src, dst, {"root_table": "account", "seed": 9,
                                                 "where": "kind = 'gold'",
                                                 "target_size": target}))
    assert query(dst, "SELECT kind, COUNT(*) FROM account GROUP BY kind") == [("gold", wanted)]
    assert query(dst, "SELECT COUNT(*) FROM account WHERE id % 3 <> 0") == [(0,)]
