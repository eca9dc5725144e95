"""Issue 4 on the real PostgreSQL: masked keys through composite, self-referencing and
wider FKs (PostgreSQL validates every FK when the copy's constraints are created), except
lists on both sides, consistent_with across tables, composite unique keys, and CHECK, enum
and domain constraints found at plan time from the real catalogs."""

from __future__ import annotations

import pytest
from test_pg_support import clone, databases, rows, workspace

from dbclone import pipeline
from dbclone.config import load_workspace
from dbclone.errors import PlanError

SCHEMA = """
CREATE TABLE employee (id int PRIMARY KEY, manager_id int REFERENCES employee(id),
                       title text NOT NULL UNIQUE);
CREATE TABLE badge (id int PRIMARY KEY, holder bigint NOT NULL REFERENCES employee(id));
CREATE TABLE depot (region int, code int, name text NOT NULL UNIQUE,
                    PRIMARY KEY (region, code));
CREATE TABLE shipment (id int PRIMARY KEY, region int, code int, weight int NOT NULL,
                       handler int REFERENCES employee(id),
                       FOREIGN KEY (region, code) REFERENCES depot (region, code));
CREATE TABLE category (id smallint PRIMARY KEY, label text NOT NULL);
CREATE TABLE item (id int PRIMARY KEY, category_id smallint REFERENCES category(id));
INSERT INTO employee VALUES (1, NULL, 'CEO');
INSERT INTO employee SELECT i, (i - 2) / 3 + 1, 'E' || i FROM generate_series(2, 400) i;
INSERT INTO badge SELECT i, 1 + (i * 7) % 400 FROM generate_series(1, 300) i;
INSERT INTO depot SELECT r, c, 'D' || r || '-' || c
                  FROM generate_series(1, 5) r, generate_series(1, 40) c;
INSERT INTO shipment SELECT i, 1 + i % 5, 1 + i % 40, i, 1 + i % 400
                     FROM generate_series(0, 999) i;
INSERT INTO shipment VALUES (1000, NULL, NULL, 0, NULL);
INSERT INTO category VALUES (0, 'none'), (1, 'first');
INSERT INTO category SELECT i, 'c' || i FROM generate_series(2, 300) i;
INSERT INTO item SELECT i, i % 301 FROM generate_series(1, 2000) i;
"""

JOINS = {
    "hierarchy": "SELECT count(*) FROM employee e JOIN employee m ON e.manager_id = m.id "
                 "JOIN employee g ON m.manager_id = g.id",
    "badges": "SELECT count(*) FROM badge b JOIN employee e ON b.holder = e.id",
    "depots": "SELECT count(*), sum(s.weight) FROM shipment s JOIN depot d "
              "USING (region, code)",
    "by_depot": "SELECT string_agg(name || ':' || n, ',' ORDER BY name) FROM (SELECT d.name, "
                "count(*) n FROM shipment s JOIN depot d USING (region, code) GROUP BY 1) x",
    "by_manager": "SELECT string_agg(m.title || ':' || n, ',' ORDER BY m.title) FROM (SELECT "
                  "manager_id, count(*) n FROM employee GROUP BY 1) x "
                  "JOIN employee m ON m.id = x.manager_id",
    "items": "SELECT string_agg(c.label || ':' || n, ',' ORDER BY c.label) FROM (SELECT "
             "category_id, count(*) n FROM item GROUP BY 1) x "
             "JOIN category c ON c.id = x.category_id",
}

RULES = {
    "public.employee.id": "integer_key",
    "public.depot.region": "integer_key",
    "public.depot.code": "integer_key",
    "public.category.id": {"type": "integer_key", "except": [0, 1]},
}


@pytest.fixture
def keyed(pg_db, tmp_path, monkeypatch) -> tuple[str, str]:
    monkeypatch.setenv("DBCLONE_SECRET", "pg-keys")
    src = pg_db(SCHEMA)
    dst = f"{src}_dst"
    path = workspace(tmp_path, src, dst, RULES)
    # The excepted ids are copied on purpose; the leak audit does not know except lists (yet)
    # and would count them as leaks.
    with path.open("a", encoding="utf-8") as f:
        f.write("audit:\n  allow: [public.category.id, public.item.category_id]\n")
    pipeline.run(load_workspace(path))
    return src, dst


def test_masked_keys_keep_every_fk_and_join(keyed) -> None:
    src, dst = keyed
    # the copy's FKs were created (and so validated by PostgreSQL) after the data
    fks = ("SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' "
           "AND convalidated ORDER BY 1, 2")
    assert rows(dst, fks) == rows(src, fks) and len(rows(dst, fks)) == 5
    for name, query in JOINS.items():
        assert rows(dst, query) == rows(src, query), name
    # the keys did move: a hierarchy of other ids, composite keys of other values
    assert rows(dst, "SELECT count(*) FROM employee WHERE id BETWEEN 1 AND 400") == [(0,)]
    assert rows(dst, "SELECT count(*) FROM depot WHERE region BETWEEN 1 AND 5 "
                     "OR code BETWEEN 1 AND 40") == [(0,)]
    assert rows(dst, "SELECT max(holder) > 400 FROM badge") == [(True,)]  # bigint side too
    assert rows(dst, "SELECT region, code, handler FROM shipment WHERE id = 1000") == [
        (None, None, None)]


def test_excepted_keys_stay_on_both_sides(keyed) -> None:
    src, dst = keyed
    assert rows(dst, "SELECT id, label FROM category WHERE id IN (0, 1) ORDER BY id") == [
        (0, "none"), (1, "first")]
    # the children of 0 and 1 still point at them, and no other category took 0 or 1
    assert rows(dst, "SELECT count(*) FROM item WHERE category_id IN (0, 1)") == \
        rows(src, "SELECT count(*) FROM item WHERE category_id IN (0, 1)")
    assert rows(dst, "SELECT count(*) FROM category WHERE id = substr(label, 2)::int "
                     "AND label LIKE 'c%'")[0][0] <= 1


def test_consistent_with_and_composite_unique(pg_db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "pg-keys")
    src = pg_db("""
        CREATE TABLE customer (id int PRIMARY KEY, last_name varchar(40) NOT NULL);
        CREATE TABLE employee (id int PRIMARY KEY, surname varchar(9) NOT NULL);
        CREATE TABLE person (id int PRIMARY KEY, first_name text NOT NULL,
                             last_name text NOT NULL, UNIQUE (first_name, last_name));
        INSERT INTO customer SELECT i, 'Sn' || i FROM generate_series(1, 300) i;
        INSERT INTO employee SELECT i, 'Sn' || i FROM generate_series(1, 300) i;
        INSERT INTO person SELECT i, 'F' || i % 300, 'L' || i / 300
                           FROM generate_series(0, 5999) i;
    """)
    dst = f"{src}_dst"
    clone(tmp_path, src, dst, {
        "public.customer.last_name": "fake_last_name",
        "public.employee.surname": {"type": "fake_last_name",
                                    "consistent_with": "public.customer.last_name"},
        "public.person.first_name": "fake_first_name",
        "public.person.last_name": "fake_last_name"})
    assert rows(dst, "SELECT count(*) FROM customer c JOIN employee e USING (id) "
                     "WHERE c.last_name = e.surname") == [(300,)]
    assert rows(dst, "SELECT count(*) FROM customer WHERE last_name LIKE 'Sn%'") == [(0,)]
    assert rows(dst, "SELECT count(*), count(DISTINCT (first_name, last_name)) "
                     "FROM person") == [(6000, 6000)]


def test_check_enum_and_domain_problems_at_plan_time(pg_db, tmp_path) -> None:
    src = pg_db("""
        CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE DOMAIN level AS varchar(10) CHECK (VALUE IN ('low', 'high'));
        CREATE DOMAIN birth_year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155);
        CREATE TABLE ticket (
            id int PRIMARY KEY,
            status text CHECK (status IN ('open', 'closed')),
            priority int CHECK (priority BETWEEN 1 AND 5),
            code text CONSTRAINT code_len CHECK (char_length(code) <= 6),
            feeling mood, lvl level, born birth_year,
            note text);
        INSERT INTO ticket VALUES (1, 'open', 3, 'AB12', 'ok', 'low', 1980, 'n');
    """)
    dst = f"{src}_dst"
    with pytest.raises(PlanError) as info:
        clone(tmp_path, src, dst, {
            "public.ticket.status": "redact",
            "public.ticket.priority": "integer_key",
            "public.ticket.code": "fake_city",
            "public.ticket.feeling": {"type": "constant", "value": "meh"},
            "public.ticket.lvl": "fake_first_name",
            "public.ticket.born": {"type": "number_noise", "absolute": 5},
            "public.ticket.note": {"type": "redact", "widht": 3}})
    got = [p.split("workspace.yaml:", 1)[1] for p in info.value.problems]
    tail = ("; choose a generator whose values meet it (e.g. categorical draws from the "
            "column's own values)")
    assert got == [
        "17: public.ticket.note: redact: widht: unknown option (did you mean 'width'?)",
        "9: public.ticket.code: fake_city cannot fit text with a length CHECK of 6: its "
        "shortest value has 7 characters",
        "7: public.ticket.status: redact can produce 'XXXX', which CHECK ticket_status_check "
        "(CHECK ((status = ANY (ARRAY['open'::text, 'closed'::text])))) does not allow" + tail,
        "8: public.ticket.priority: integer_key can produce '1611525996', which CHECK "
        "ticket_priority_check (CHECK (((priority >= 1) AND (priority <= 5)))) does not allow "
        "(priority <= 5)" + tail,
        "10: public.ticket.feeling: constant can produce 'meh', which type mood (one of "
        "'sad', 'ok', 'happy') does not allow" + tail,
        "13: public.ticket.lvl: fake_first_name can produce 'Darren', which CHECK level_check "
        "(CHECK (((VALUE)::text = ANY ((ARRAY['low'::character varying, 'high'::character "
        "varying])::text[])))) does not allow" + tail,
        "14: public.ticket.born: number_noise can produce '1898', which CHECK "
        "birth_year_check (CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))) does not allow "
        "(born >= 1901)" + tail]
    assert dst not in databases()
    # generators that meet them: the clone runs and PostgreSQL accepts every row
    clone(tmp_path, src, dst, {"public.ticket.status": "categorical",
                               "public.ticket.code": "fake_state",
                               "public.ticket.feeling": "categorical",
                               "public.ticket.lvl": {"type": "constant", "value": "high"}})
    assert rows(dst, "SELECT status, char_length(code) <= 6, feeling::text, lvl::text "
                     "FROM ticket") == [("open", True, "ok", "high")]
