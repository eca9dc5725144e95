"""Issue 4, items 2 and 3 end to end on SQLite: consistency groups (consistent_with), masked
keys carried to every FK column referencing them (composite, self-referencing, of another
width), and except lists applied to both sides of an FK."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from dbclone.config import parse_workspace
from dbclone.errors import PlanError
from dbclone.pipeline import run
from tests.test_sqlite_clone import clone, make_db, rows

SURNAMES = [f"Surname{i:03d}" for i in range(300)]


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "keys-and-consistency")


def fill(path: Path, sql: str, data: dict[str, list[tuple]]) -> Path:
    make_db(path, sql)
    conn = sqlite3.connect(path)
    for table, values in data.items():
        marks = ", ".join("?" for _ in values[0])
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
    conn.commit()
    conn.close()
    return path


def clone_excepting(src: Path, dst: Path, generators: dict, allow: list[str]) -> None:
    """clone(), with the leak audit on: excepted values are copied on purpose and the audit
    does not count them; ``allow`` lists columns whose values may survive otherwise (a small
    key permutation can have a fixed point)."""
    text = yaml.safe_dump({"workspace": "test", "source": {"url": f"sqlite:///{src}"},
                           "destination": {"url": f"sqlite:///{dst}"},
                           "generators": generators, "on_unconfigured": "keep",
                           "audit": {"allow": allow}})
    run(parse_workspace(text, source="test.yaml", env={}))


def by_id(path: Path, table: str, column: str) -> dict[int, str]:
    return dict(rows(path, f"SELECT id, {column} FROM {table}"))


# -- 1. consistent_with ----------------------------------------------------------------------

def people(tmp_path: Path) -> Path:
    names = list(enumerate(SURNAMES))
    return fill(tmp_path / "src.db", """
        CREATE TABLE customer (id integer PRIMARY KEY, last_name varchar(40));
        CREATE TABLE employee (id integer PRIMARY KEY, surname varchar(9));
        CREATE TABLE contact (id integer PRIMARY KEY, family_name text);
    """, {"customer": names, "employee": names, "contact": names})


def test_consistent_with_gives_equal_values_for_equal_sources_across_widths(
        tmp_path: Path) -> None:
    # Without a shared mapping, a varchar(9) column draws from the names that fit 9
    # characters and a varchar(40) one from all of them: the same person got two surnames.
    src = people(tmp_path)
    dst = tmp_path / "dst.db"
    clone(src, dst, {
        "customer.last_name": "fake_last_name",
        "employee.surname": {"type": "fake_last_name", "consistent_with": "customer.last_name"},
        # a chain: contact -> employee -> customer is one group
        "contact.family_name": {"type": "fake_last_name",
                                "consistent_with": "employee.surname"}})
    customer = by_id(dst, "customer", "last_name")
    employee = by_id(dst, "employee", "surname")
    contact = by_id(dst, "contact", "family_name")
    assert customer == employee == contact
    assert all(len(v) <= 9 for v in employee.values())  # fits the narrowest column
    assert not set(customer.values()) & set(SURNAMES)
    assert len(set(customer.values())) > 100  # a real mapping, not a handful of values


def test_without_consistent_with_other_options_map_independently(tmp_path: Path) -> None:
    src = people(tmp_path)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"customer.last_name": {"type": "hash", "length": 16},
                     "contact.family_name": {"type": "hash", "length": 24},
                     "employee.surname": {"type": "fake_last_name", "locale": "de_DE"}})
    short, long = by_id(dst, "customer", "last_name"), by_id(dst, "contact", "family_name")
    # other options are another mapping, not a longer cut of the same one
    assert all(long[i][:16] != short[i] for i in short)
    assert len(set(short.values())) == len(set(long.values())) == len(SURNAMES)
    dst2 = tmp_path / "dst2.db"
    clone(src, dst2, {"customer.last_name": "fake_last_name",
                      "contact.family_name": "fake_last_name"})
    # same generator and options on columns of the same kind: one mapping already, by design
    assert by_id(dst2, "customer", "last_name") == by_id(dst2, "contact", "family_name")
    english = by_id(dst2, "customer", "last_name")
    german = by_id(dst, "employee", "surname")
    assert sum(english[i] == german[i] for i in english) < 30  # another locale: independent


def test_consistent_with_refuses_what_cannot_share_a_mapping(tmp_path: Path) -> None:
    src = people(tmp_path)
    with pytest.raises(PlanError) as info:
        clone(src, tmp_path / "dst.db", {
            "customer.last_name": {"type": "hash", "length": 16},
            "employee.surname": {"type": "hash", "length": 24,
                                 "consistent_with": "customer.last_name"},
            "contact.family_name": {"type": "fake_last_name",
                                    "consistent_with": "customer.last_name"}})
    assert info.value.problems == [  # (the workspace is written with sorted keys)
        "test.yaml:4: main.contact.family_name: consistent_with main.customer.last_name, "
        "which uses hash, not fake_last_name",
        "test.yaml:10: main.employee.surname: consistent_with main.customer.last_name: the "
        "options differ (length: 24 vs 16); columns sharing a mapping need the same ones"]
    with pytest.raises(PlanError) as info:
        clone(src, tmp_path / "dst.db", {
            "customer.last_name": {"type": "fake_last_name",
                                   "consistent_with": "customer.last_name"},
            "employee.surname": {"type": "fake_last_name",
                                 "consistent_with": "contact.family_name"}})
    assert info.value.problems == [
        "test.yaml:4: main.customer.last_name: consistent_with names the column itself",
        "test.yaml:7: main.employee.surname: consistent_with main.contact.family_name names "
        "a column without a rule"]


# -- 2. masked keys through composite, self-referencing and wider FKs -------------------------

def org(tmp_path: Path) -> Path:
    employees = [(1, None, "CEO")] + [(i, (i - 2) // 3 + 1, f"E{i}") for i in range(2, 401)]
    return fill(tmp_path / "src.db", """
        PRAGMA foreign_keys = ON;
        CREATE TABLE employee (id int PRIMARY KEY, manager_id int REFERENCES employee(id),
                               title text);
        CREATE TABLE badge (id int PRIMARY KEY, holder bigint NOT NULL REFERENCES employee(id));
    """, {"employee": employees,
          "badge": [(i, 1 + (i * 7) % 400) for i in range(1, 301)]})


def test_self_referencing_fk_keeps_the_hierarchy(tmp_path: Path) -> None:
    src = org(tmp_path)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"employee.id": "integer_key"})
    assert rows(dst, "PRAGMA foreign_key_check") == []
    mapping = {s: d for (s,), (d,) in zip(rows(src, "SELECT id FROM employee ORDER BY title"),
                                          rows(dst, "SELECT id FROM employee ORDER BY title"),
                                          strict=True)}
    assert sum(s == d for s, d in mapping.items()) == 0
    tree = {t: m for t, m in rows(src, "SELECT title, manager_id FROM employee")}
    masked_tree = {t: m for t, m in rows(dst, "SELECT title, manager_id FROM employee")}
    assert masked_tree == {t: None if m is None else mapping[m] for t, m in tree.items()}
    join = ("SELECT count(*) FROM employee e JOIN employee m ON e.manager_id = m.id "
            "JOIN employee g ON m.manager_id = g.id")
    assert rows(dst, join) == rows(src, join) != [(0,)]


def test_fk_column_of_a_wider_type_gets_the_same_mapping(tmp_path: Path) -> None:
    # badge.holder is bigint, employee.id int: integer_key permutes within the column type's
    # range, so the bigint side used to get another permutation and every badge was orphaned.
    src = org(tmp_path)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"employee.id": "integer_key"})
    assert rows(dst, "PRAGMA foreign_key_check") == []
    join = "SELECT count(*) FROM badge b JOIN employee e ON b.holder = e.id"
    assert rows(dst, join) == rows(src, join) == [(300,)]
    assert rows(dst, "SELECT max(holder) FROM badge")[0][0] > 400  # masked, not kept


def test_text_key_into_a_wider_and_a_narrower_fk_column(tmp_path: Path) -> None:
    src = fill(tmp_path / "src.db", """
        CREATE TABLE account (code varchar(40) PRIMARY KEY, owner text);
        CREATE TABLE wide_ref (id int PRIMARY KEY, code varchar(80) REFERENCES account(code));
        CREATE TABLE narrow_ref (id int PRIMARY KEY, code varchar(36) REFERENCES account(code));
    """, {"account": [(f"ACC-{i:05d}", f"o{i}") for i in range(200)],
          "wide_ref": [(i, f"ACC-{i % 200:05d}") for i in range(500)],
          "narrow_ref": [(i, f"ACC-{(i * 3) % 200:05d}") for i in range(500)]})
    dst = tmp_path / "dst.db"
    clone(src, dst, {"account.code": "hash"})
    assert rows(dst, "PRAGMA foreign_key_check") == []
    for t in ("wide_ref", "narrow_ref"):
        join = f"SELECT count(*) FROM {t} r JOIN account a ON r.code = a.code"
        assert rows(dst, join) == rows(src, join) == [(500,)], t
    # one mapping for the three columns, cut to the narrowest (still 144 bits: one-to-one)
    assert {len(c) for (c,) in rows(dst, "SELECT code FROM account")} == {36}
    # too narrow a column for a collision-free hash is refused before any row moves
    src2 = fill(tmp_path / "src2.db", """
        CREATE TABLE account (code varchar(40) PRIMARY KEY);
        CREATE TABLE tiny_ref (id int PRIMARY KEY, code varchar(12) REFERENCES account(code));
    """, {"account": [("A",)], "tiny_ref": [(1, "A")]})
    with pytest.raises(PlanError) as info:
        clone(src2, tmp_path / "dst2.db", {"account.code": "hash"})
    assert info.value.problems == [
        "test.yaml:4: main.account.code: hash is not one-to-one on main.tiny_ref.code "
        "(varchar(12)), the narrowest column sharing the mapping, so a masked key referenced "
        "by main.tiny_ref.code could collide; use integer_key, uuid_key or hash"]


def shipments(tmp_path: Path) -> Path:
    return fill(tmp_path / "src.db", """
        CREATE TABLE depot (region int NOT NULL, code int NOT NULL, name text,
                            PRIMARY KEY (region, code));
        CREATE TABLE shipment (id int PRIMARY KEY, region int, code int, weight int,
                               FOREIGN KEY (region, code) REFERENCES depot (region, code));
    """, {"depot": [(r, c, f"D{r}-{c}") for r in range(1, 6) for c in range(1, 41)],
          "shipment": [(i, 1 + i % 5, 1 + i % 40, i) for i in range(1000)]
          + [(1000, None, None, 0)]})


@pytest.mark.parametrize("masked", [["code"], ["region", "code"]])
def test_composite_fk_keeps_its_joins(tmp_path: Path, masked: list[str]) -> None:
    src = shipments(tmp_path)
    dst = tmp_path / "dst.db"
    clone(src, dst, {f"depot.{c}": "integer_key" for c in masked})
    assert rows(dst, "PRAGMA foreign_key_check") == []
    join = ("SELECT count(*), sum(s.weight) FROM shipment s JOIN depot d "
            "ON (s.region, s.code) = (d.region, d.code)")
    assert rows(dst, join) == rows(src, join) == [(1000, sum(range(1000)))]
    # the same shipments reach the same depot (by name) as in the source
    by_depot = ("SELECT d.name, count(*) FROM shipment s JOIN depot d "
                "ON (s.region, s.code) = (d.region, d.code) GROUP BY d.name ORDER BY d.name")
    assert rows(dst, by_depot) == rows(src, by_depot)
    for c in masked:
        assert rows(dst, f"SELECT count(*) FROM depot WHERE {c} BETWEEN 1 AND 40") == [(0,)]
    assert rows(dst, "SELECT region, code FROM shipment WHERE id = 1000") == [(None, None)]


# -- 3. except on both sides of an FK -------------------------------------------------------

def test_excepted_key_stays_the_same_in_the_parent_and_the_child(tmp_path: Path) -> None:
    # tinyint: integer_key permutes 1..127, and every one of them is an id here. With 7
    # excepted, the id that the permutation sends to 7 must go elsewhere, or two rows get 7.
    src = fill(tmp_path / "src.db", """
        CREATE TABLE category (id tinyint PRIMARY KEY, label text);
        CREATE TABLE item (id int PRIMARY KEY, category_id tinyint REFERENCES category(id));
    """, {"category": [(i, f"c{i}") for i in range(1, 128)],
          "item": [(i, 1 + i % 127) for i in range(1000)]})
    dst = tmp_path / "dst.db"
    # except given as YAML integers: they used to be refused ("Input should be a valid string")
    clone_excepting(src, dst, {"category.id": {"type": "integer_key", "except": [7, 100]}},
                    allow=["category.id", "item.category_id"])  # a fixed point, see above
    assert rows(dst, "PRAGMA foreign_key_check") == []
    assert rows(dst, "SELECT id FROM category WHERE label IN ('c7', 'c100') ORDER BY id") == \
        [(7,), (100,)]
    got = rows(dst, "SELECT i.id, i.category_id FROM item i WHERE i.id IN (6, 99)")
    assert sorted(got) == [(6, 7), (99, 100)]
    assert rows(dst, "SELECT count(DISTINCT id), min(id), max(id) FROM category") == \
        [(127, 1, 127)]
    assert rows(dst, "SELECT count(*) FROM category WHERE id = CAST(substr(label, 2) AS int)"
                )[0][0] < 10  # the others moved (a 127-value permutation has a fixed point or so)
    join = "SELECT c.label, count(*) FROM item i JOIN category c ON i.category_id = c.id " \
           "GROUP BY c.label ORDER BY c.label"
    assert rows(dst, join) == rows(src, join)


def test_excepted_uuid_key_and_unique_text_value_are_never_targets(tmp_path: Path) -> None:
    from dbclone.transform import pools

    cities = pools.fitting("city", "en_US", 30)
    keep = cities[0]
    src = fill(tmp_path / "src.db", """
        CREATE TABLE site (id char(36) PRIMARY KEY, city varchar(30) UNIQUE);
        CREATE TABLE visit (id int PRIMARY KEY, site_id char(36) REFERENCES site(id));
    """, {"site": [(f"00000000-0000-4000-8000-{i:012d}", keep if i == 0 else f"Town {i}")
                   for i in range(550)],
          "visit": [(i, f"00000000-0000-4000-8000-{i % 550:012d}") for i in range(800)]})
    sentinel = "00000000-0000-4000-8000-000000000000"
    dst = tmp_path / "dst.db"
    clone_excepting(src, dst, {"site.id": {"type": "uuid_key", "except": [sentinel]},
                               "site.city": {"type": "fake_city", "except": [keep]}},
                    allow=[])
    assert rows(dst, "PRAGMA foreign_key_check") == []
    assert rows(dst, "SELECT count(*) FROM visit WHERE site_id = ?", (sentinel,)) == [(2,)]
    assert rows(dst, "SELECT city FROM site WHERE id = ?", (sentinel,)) == [(keep,)]
    # 549 other cities drawn from a pool that holds the excepted one: none lands on it
    assert rows(dst, "SELECT count(*), count(DISTINCT city) FROM site") == [(550, 550)]
    assert rows(dst, "SELECT count(*) FROM site WHERE city = ?", (keep,)) == [(1,)]
    join = "SELECT count(*) FROM visit v JOIN site s ON v.site_id = s.id"
    assert rows(dst, join) == rows(src, join) == [(800,)]
