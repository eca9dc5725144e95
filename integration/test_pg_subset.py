"""Subsetting on the real PostgreSQL: Pagila and Synthea acceptance, the field cases 02, 03,
05, 06, 07 and 08, the plan's per-table figures and every bad input refused at plan time.

Each test asserts values read back from the destination (and the source), never merely that
the run finished. The destination enforces its FKs (validated constraints); an anti-join per
FK counts orphans on top of that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import load_dataset, pg_dataset
from subset_checks import pg_counts, pg_fks, pg_ids, pg_orphans, pg_subset_workspace, run
from test_pg_support import databases, rows, table_fingerprints, url

from dbclone import pipeline
from dbclone.config import load_workspace
from dbclone.dialects import get_dialect, parse_url
from dbclone.dialects.postgresql import parallel as par
from dbclone.errors import ConfigError, PlanError
from dbclone.introspect.snapshot import TableRef
from dbclone.subset import subset_source

PAGILA_SUBSET = {"root_table": "public.customer", "target_size": "10%", "seed": 42,
                 "passthrough": ["public.category"]}


def _assert_integrity(src: str, dst: str) -> None:
    """Every FK of the source exists in the destination, validated, with no orphan row."""
    src_fks = {(n, c, p) for n, c, p, *_ in pg_fks(src)}
    dst_fks = pg_fks(dst)
    assert {(n, c, p) for n, c, p, *_ in dst_fks} == src_fks
    assert all(validated for _, _, _, validated, _, _ in dst_fks)
    orphans = pg_orphans(dst)
    assert orphans and set(orphans.values()) == {0}, orphans


# -- Pagila, 10% of customer ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def pagila(datasets_dir) -> Iterator[str]:
    with pg_dataset("pagila") as src:  # dropped with every <src>_* destination after
        yield src


@pytest.fixture(scope="module")
def pagila_subset(pagila, tmp_path_factory) -> str:
    dst = f"{pagila}_s42"
    run(pg_subset_workspace(tmp_path_factory.mktemp("s42"), pagila, dst, PAGILA_SUBSET))
    return dst


def test_pagila_subset_keeps_every_fk_valid(pagila, pagila_subset) -> None:
    _assert_integrity(pagila, pagila_subset)


def test_pagila_customer_count_is_ten_percent(pagila, pagila_subset) -> None:
    total = rows(pagila, "SELECT count(*) FROM customer")[0][0]
    got = rows(pagila_subset, "SELECT count(*) FROM customer")[0][0]
    assert (total, got) == (599, 60)
    assert abs(got - total / 10) <= max(1, total / 1000)


def test_pagila_selected_customers_bring_all_rentals_and_payments(pagila, pagila_subset) -> None:
    customers = sorted(pg_ids(pagila_subset, "SELECT customer_id FROM customer"))
    want_rentals = pg_ids(pagila, "SELECT rental_id FROM rental WHERE customer_id = ANY(%s)",
                          (customers,))
    want_payments = pg_ids(pagila, "SELECT payment_id, payment_date FROM payment "
                                   "WHERE customer_id = ANY(%s)", (customers,))
    assert len(want_rentals) > 1000 and len(want_payments) > 1000
    got_rentals = pg_ids(pagila_subset, "SELECT rental_id FROM rental")
    got_payments = pg_ids(pagila_subset, "SELECT payment_id, payment_date FROM payment")
    # every rental of a selected customer; other customers' rentals only as parents of those
    assert want_rentals <= got_rentals
    assert want_payments == got_payments  # payment has no children: exactly theirs
    # a row copied is the source's row, unchanged
    assert rows(pagila_subset, "SELECT md5(string_agg(r::text, ',' ORDER BY rental_id)) "
                               "FROM rental r") == \
        rows(pagila, "SELECT md5(string_agg(r::text, ',' ORDER BY rental_id)) FROM rental r "
                     "WHERE rental_id = ANY(%s)", (sorted(got_rentals),))


def test_pagila_passthrough_table_is_copied_whole(pagila, pagila_subset) -> None:
    assert rows(pagila_subset, "SELECT count(*) FROM category") == [(16,)]


def test_pagila_same_seed_gives_the_identical_subset(pagila, pagila_subset, tmp_path) -> None:
    again = f"{pagila}_s42b"
    run(pg_subset_workspace(tmp_path, pagila, again, PAGILA_SUBSET))
    assert table_fingerprints(again) == table_fingerprints(pagila_subset)


def test_pagila_another_seed_gives_another_subset(pagila, pagila_subset, tmp_path) -> None:
    other = f"{pagila}_s7"
    run(pg_subset_workspace(tmp_path, pagila, other, {**PAGILA_SUBSET, "seed": 7}))
    a = pg_ids(pagila_subset, "SELECT customer_id FROM customer")
    b = pg_ids(other, "SELECT customer_id FROM customer")
    assert len(a) == 60 and abs(len(b) - 59.9) <= 1  # within 1% or one row of 10%
    assert a != b
    _assert_integrity(pagila, other)


def test_pagila_subset_with_masked_columns(pagila, tmp_path) -> None:
    masked = f"{pagila}_masked"
    run(pg_subset_workspace(tmp_path, pagila, masked, PAGILA_SUBSET, generators={
        "public.customer.email": "fake_email", "public.customer.last_name": "fake_last_name"}))
    _assert_integrity(pagila, masked)
    got = {r[0]: r[1:] for r in rows(masked, "SELECT customer_id, email, last_name, address_id,"
                                             " store_id, create_date FROM customer")}
    src = {r[0]: r[1:] for r in rows(pagila, "SELECT customer_id, email, last_name, "
                                             "address_id, store_id, create_date FROM customer "
                                             "WHERE customer_id = ANY(%s)", (sorted(got),))}
    assert len(got) == 60 and got.keys() == src.keys()
    for cid, (email, last, *rest) in got.items():
        s_email, s_last, *s_rest = src[cid]
        assert email != s_email and not email.endswith("@sakilacustomer.org")
        assert last != s_last
        assert rest == s_rest  # unmasked columns (FKs among them) are the source's
    # the same customers as the unmasked subset with this seed: masking does not move rows
    assert set(got) == pg_ids(pagila, "SELECT customer_id FROM customer WHERE customer_id = "
                                      "ANY(%s)", (sorted(got),))


def test_plan_prints_per_table_figures_matching_the_clone(pagila, pagila_subset,
                                                           tmp_path) -> None:
    path = pg_subset_workspace(tmp_path, pagila, f"{pagila}_never", PAGILA_SUBSET)
    env = {**os.environ, "COLUMNS": "250"}
    cmd = [sys.executable, "-m", "dbclone.cli", "plan", str(path)]
    text = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    data = json.loads(subprocess.run([*cmd, "--json"], capture_output=True, text=True,
                                     env=env, check=True).stdout)["subset"]
    src, dst = pg_counts(pagila), pg_counts(pagila_subset)
    by_table = {t["table"]: t for t in data["tables"]}
    assert set(by_table) == set(src)
    for name, t in by_table.items():
        assert (t["source_rows"], t["selected_rows"], t["selected_exact"]) == \
            (src[name], dst[name], True), name
    assert by_table["public.customer"]["why"].startswith("root")
    assert by_table["public.category"]["why"] == "passthrough"
    assert "child of public.customer" in by_table["public.rental"]["why"]
    assert "parent of public.customer" in by_table["public.address"]["why"]
    share = 100 * sum(dst.values()) / sum(src.values())
    summary = (f"asked 10% of public.customer (60 of 599 rows) -> {share:.1f}% of all rows "
               f"({sum(dst.values()):,} of {sum(src.values()):,})")
    assert data["summary"] == summary
    assert f"subset: {summary}" in text
    line = next(x for x in text.splitlines() if "public.customer " in x and "root" in x)
    assert line.split("│")[2:5] == [" 599            ", " 60       ", " 10.0%  "] or \
        [c.strip() for c in line.split("│")[2:5]] == ["599", "60", "10.0%"]
    assert f"{pagila}_never" not in databases()


# -- Synthea, 3 patients -------------------------------------------------------------------------

def test_synthea_three_patients_bring_their_records_and_references(pg_db, datasets_dir,
                                                                    tmp_path) -> None:
    src = pg_db()
    load_dataset("synthea", src)
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {"root_table": "patients", "target_size": 3,
                                                 "seed": 3}))
    _assert_integrity(src, dst)
    patients = sorted(pg_ids(dst, "SELECT id FROM patients"))
    assert len(patients) == 3
    for table, col, key in (("encounters", "patient", "id"), ("claims", "patientid", "id"),
                            ("conditions", "patient", "c")):
        # conditions has no key: compare whole rows (as text, with duplicates)
        want = rows(src, f"SELECT {key}::text FROM {table} c WHERE {col} = ANY(%s) ORDER BY 1",
                    (patients,))
        got = rows(dst, f"SELECT {key}::text FROM {table} c ORDER BY 1")
        assert want and got == want, table
    for table, refs in (("providers", ["SELECT provider FROM encounters",
                                       "SELECT providerid FROM claims"]),
                        ("organizations", ["SELECT organization FROM encounters",
                                           "SELECT organization FROM providers"]),
                        ("payers", ["SELECT payer FROM encounters"])):
        needed = set().union(*(pg_ids(dst, q) for q in refs)) - {None}
        have = pg_ids(dst, f"SELECT id FROM {table}")
        assert needed and needed <= have, table


# -- field cases ----------------------------------------------------------------------------------

CASE02 = """
CREATE TABLE thread_msg (
  id int PRIMARY KEY,
  parent_id int NULL REFERENCES thread_msg(id),
  root_id   int NULL REFERENCES thread_msg(id),
  created_on date NOT NULL);
INSERT INTO thread_msg VALUES
 (1,NULL,NULL,'2024-01-01'),(2,1,1,'2024-03-01'),(3,2,1,'2024-06-01'),(4,NULL,NULL,'2024-06-02');
"""


def test_case02_self_reference_twice_closes_over_both_edges(pg_db, tmp_path) -> None:
    src = pg_db(CASE02)
    run(pg_subset_workspace(tmp_path, src, f"{src}_dst", {
        "root_table": "thread_msg", "where": "created_on >= '2024-05-01'"}))
    assert table_fingerprints(f"{src}_dst") == table_fingerprints(src)
    assert pg_ids(f"{src}_dst", "SELECT id FROM thread_msg") == {1, 2, 3, 4}



AWKWARD_KEYS = r"""
CREATE TABLE tag  (name text PRIMARY KEY, note text);
CREATE TABLE post (id int PRIMARY KEY, tag text REFERENCES tag (name), parent_tag text,
                   FOREIGN KEY (parent_tag) REFERENCES tag (name));
INSERT INTO tag VALUES (E'tab\there', 'a'), (E'line\nbreak', NULL), (E'back\\slash', E'\\N'),
                       ('\N', 'literal backslash-N, not NULL'), ('', 'empty'), ('plain', 'p');
INSERT INTO post VALUES (1, E'tab\there', E'line\nbreak'), (2, E'back\\slash', '\N'),
                        (3, '', NULL), (4, NULL, 'plain');
"""


def test_keys_with_copy_escapes_are_selected_exactly(pg_db, tmp_path) -> None:
    """The selection reads keys through COPY text: tabs, newlines, backslashes, a literal
    backslash-N and '' must come back as the same keys (not as NULL, not split)."""
    src = pg_db(AWKWARD_KEYS)
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {"root_table": "post", "target_size": "100%"}))
    assert table_fingerprints(dst) == table_fingerprints(src)
    run(pg_subset_workspace(tmp_path, src, f"{src}_two", {"root_table": "post",
                                                          "where": "id = 2"}))
    assert rows(f"{src}_two", "SELECT name, note FROM tag ORDER BY name") == [
        ("\\N", "literal backslash-N, not NULL"), ("back\\slash", "\\N")]


FORKED = """
CREATE TABLE other  (id int PRIMARY KEY);
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE child  (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id),
                     other_id int REFERENCES other (id), email text UNIQUE);
INSERT INTO other SELECT g FROM generate_series(1, 50) g;
INSERT INTO parent SELECT g, CASE WHEN g % 10 > 0 THEN 'Name' || g END
FROM generate_series(1, 400) g;
INSERT INTO child SELECT g, g % 400 + 1, CASE WHEN g % 3 = 0 THEN g % 50 + 1 END,
                         CASE WHEN g % 7 > 0 THEN 'user' || g || '@corp.example' END
FROM generate_series(1, 1200) g;
"""
FORKED_RULES = {"public.parent.name": "fake_first_name", "public.child.email": "fake_email"}


def test_subset_tables_copied_by_workers_are_the_serial_copy(pg_db, tmp_path,
                                                             monkeypatch) -> None:
    """A subset's tables with enough selected rows are copied by worker processes, side by
    side; rows, masking (a unique column among them), nulled references and the masked-value
    counts are exactly those of the serial copy."""
    monkeypatch.setenv("DBCLONE_SECRET", "fork-test")
    src = pg_db(FORKED)
    subset = {"root_table": "parent", "target_size": "25%", "seed": 5, "exclude": ["other"]}
    forked: list[str] = []
    log = tmp_path / "forked.txt"
    real = par.transfer_selected

    def recorded(src_conn, dst_conn, table, *args):  # runs in the worker process
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{table.ref.name}\n")
        return real(src_conn, dst_conn, table, *args)

    def clone(dst: str, workers: int) -> tuple[list, list]:
        monkeypatch.setattr(par, "WORKERS", workers)
        work = tmp_path / dst
        work.mkdir()
        report = run(pg_subset_workspace(work, src, dst, subset, FORKED_RULES))
        counted = sorted(f.message for f in report.findings if "values masked" in f.message)
        return (rows(dst, "SELECT * FROM parent ORDER BY id"),
                rows(dst, "SELECT * FROM child ORDER BY id")), counted

    monkeypatch.setattr(par, "FORK_ROWS", 1)
    monkeypatch.setattr(par, "transfer_selected", recorded)
    (p_rows, c_rows), counts = clone(f"{src}_forked", 2)
    forked = sorted(log.read_text("utf-8").split())
    assert forked == ["child", "parent"]
    assert ((p_rows, c_rows), counts) == clone(f"{src}_serial", 1)
    assert len(p_rows) == 100 and all(o is None for _, _, o, _ in c_rows)
    emails = [e for *_, e in c_rows if e is not None]
    assert len(set(emails)) == len(emails) and len(c_rows) == 300
    # the workers' masked-value counts reached the report (child's through the wrapper
    # that nulls other_id): values masked and NULLs kept, per column
    names = [n for _, n in p_rows]
    assert counts == sorted(
        f"{len(vs) - vs.count(None)} values masked; {vs.count(None)} NULL or empty kept as is"
        for vs in (names, [e for *_, e in c_rows]))
    assert 0 < names.count(None) < 100 and 0 < len(emails) < 300

CASE03 = """
CREATE TABLE region (id int PRIMARY KEY, country char(2) NOT NULL, code text NOT NULL,
                     UNIQUE (country, code));
CREATE TABLE depot  (id int PRIMARY KEY, country char(2), region_code text,
                     FOREIGN KEY (country, region_code) REFERENCES region (country, code));
INSERT INTO region VALUES (1,'AA','N'),(2,'AA','S'),(3,'BB','N');
INSERT INTO depot  VALUES (10,'BB','N'),(11,'AA','S');
"""


def test_case03_composite_fk_to_unique_pair_joins_on_that_pair(pg_db, tmp_path) -> None:
    src = pg_db(CASE03)
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {"root_table": "depot", "where": "id = 10"}))
    assert rows(dst, "SELECT id, country, code FROM region ORDER BY id") == [(3, "BB", "N")]
    assert rows(dst, "SELECT id FROM depot") == [(10,)]


CASE05 = """
CREATE TABLE team   (id int PRIMARY KEY, captain_id int NULL);
CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL REFERENCES team(id));
ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player(id);
INSERT INTO team VALUES (1,NULL); INSERT INTO player VALUES (11,1),(12,1);
UPDATE team SET captain_id=11;
"""


@pytest.mark.parametrize("root", [{"root_table": "player", "where": "id = 12"},
                                  {"root_table": "team", "target_size": "100%"}])
def test_case05_cycle_through_nullable_fk_gives_the_source(pg_db, tmp_path, root) -> None:
    src = pg_db(CASE05)
    run(pg_subset_workspace(tmp_path, src, f"{src}_dst", root))
    assert rows(f"{src}_dst", "SELECT id, captain_id FROM team") == [(1, 11)]
    assert table_fingerprints(f"{src}_dst") == table_fingerprints(src)
    _assert_integrity(src, f"{src}_dst")


CASE05_NOT_NULL = """
CREATE TABLE team   (id int PRIMARY KEY, captain_id int NOT NULL);
CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL REFERENCES team(id));
ALTER TABLE team ADD CONSTRAINT team_captain_fk FOREIGN KEY (captain_id) REFERENCES player(id);
"""


def test_case05_cycle_of_not_null_fks_is_refused_at_plan_time(pg_db, tmp_path) -> None:
    src = pg_db(CASE05_NOT_NULL)
    path = pg_subset_workspace(tmp_path, src, f"{src}_dst", {"root_table": "team",
                                                             "target_size": "50%"})
    with pytest.raises(PlanError) as err:
        pipeline.plan(load_workspace(path))
    assert "cycle" in str(err.value) and "public.team" in str(err.value)
    with pytest.raises(PlanError):
        run(path)
    assert f"{src}_dst" not in databases()


def test_case05_deferrable_not_null_cycle_is_copied(pg_db, tmp_path) -> None:
    src = pg_db("""
        CREATE TABLE team   (id int PRIMARY KEY, captain_id int NOT NULL);
        CREATE TABLE player (id int PRIMARY KEY, team_id int NOT NULL REFERENCES team(id)
                             DEFERRABLE INITIALLY DEFERRED);
        ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player(id)
            DEFERRABLE INITIALLY DEFERRED;
        BEGIN; INSERT INTO team VALUES (1, 11), (2, 21);
        INSERT INTO player VALUES (11, 1), (12, 1), (21, 2); COMMIT;""")
    run(pg_subset_workspace(tmp_path, src, f"{src}_dst", {"root_table": "player",
                                                         "where": "id = 12"}))
    assert rows(f"{src}_dst", "SELECT id, captain_id FROM team") == [(1, 11)]
    assert pg_ids(f"{src}_dst", "SELECT id FROM player") == {11, 12}


CASE06 = """
CREATE TABLE brand (id int PRIMARY KEY);
CREATE TABLE product (id int PRIMARY KEY, brand_id int NOT NULL REFERENCES brand(id));
CREATE TABLE price_point (id int PRIMARY KEY, product_id int NOT NULL REFERENCES product(id));
INSERT INTO brand VALUES (1), (2), (3);
INSERT INTO product VALUES (1, 2), (2, 3), (3, 1), (4, 1), (5, 2);
INSERT INTO price_point SELECT i, (i - 1) % 5 + 1 FROM generate_series(1, 10) i;
"""


@pytest.mark.parametrize("downstream", [True, False])
def test_case06_schema_without_cycles(pg_db, tmp_path, downstream) -> None:
    src = pg_db(CASE06)
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {"root_table": "product", "where": "id <= 2",
                                                 "downstream": downstream}))
    assert rows(dst, "SELECT id, brand_id FROM product ORDER BY id") == [(1, 2), (2, 3)]
    assert pg_ids(dst, "SELECT id FROM brand") == {2, 3}
    assert pg_ids(dst, "SELECT id FROM price_point") == ({1, 2, 6, 7} if downstream else set())


CASE07 = """
CREATE TABLE course      (id uuid PRIMARY KEY);
CREATE TABLE course_text (id uuid PRIMARY KEY REFERENCES course(id), title text);
CREATE TABLE bundle      (id uuid PRIMARY KEY);
CREATE TABLE bundle_text (id uuid PRIMARY KEY REFERENCES bundle(id), title text);
CREATE TABLE bundle_course (bundle_id uuid REFERENCES bundle(id),
                            course_id uuid REFERENCES course(id),
                            PRIMARY KEY (bundle_id, course_id));
INSERT INTO course SELECT md5('c' || i)::uuid FROM generate_series(1, 6) i;
INSERT INTO course_text SELECT id, 'course ' || id FROM course;
INSERT INTO bundle SELECT md5('b' || i)::uuid FROM generate_series(1, 4) i;
INSERT INTO bundle_text SELECT id, 'bundle ' || id FROM bundle;
-- bundle i holds courses i and i+1
INSERT INTO bundle_course SELECT md5('b' || i)::uuid, md5('c' || j)::uuid
  FROM generate_series(1, 4) i, generate_series(1, 6) j WHERE j IN (i, i + 1);
"""


def test_case07_parents_pulled_in_bring_their_extension_rows(pg_db, tmp_path) -> None:
    src = pg_db(CASE07)
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {"root_table": "bundle",
                                                 "target_size": "50%"}))
    bundles = pg_ids(dst, "SELECT id FROM bundle")
    assert len(bundles) == 2
    assert pg_ids(dst, "SELECT id FROM bundle_text") == bundles
    links = pg_ids(src, "SELECT bundle_id, course_id FROM bundle_course "
                        "WHERE bundle_id = ANY(%s)", (sorted(bundles),))
    assert pg_ids(dst, "SELECT bundle_id, course_id FROM bundle_course") == links
    courses = {c for _, c in links}
    assert pg_ids(dst, "SELECT id FROM course") == courses
    # count(course_text) = count(course): every course pulled in brought its text row
    assert pg_ids(dst, "SELECT id FROM course_text") == courses
    _assert_integrity(src, dst)


CASE08 = """
CREATE TABLE category (id int PRIMARY KEY, parent_id int REFERENCES category(id), label text);
CREATE TABLE item (id int PRIMARY KEY, category_id int NOT NULL REFERENCES category(id));
INSERT INTO category VALUES (1, NULL, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, NULL, 'd');
INSERT INTO item SELECT i, i % 4 + 1 FROM generate_series(1, 40) i;
"""


def test_case08_excluded_table_needed_through_not_null_fk_is_refused(pg_db, tmp_path) -> None:
    src = pg_db(CASE08)
    path = pg_subset_workspace(tmp_path, src, f"{src}_dst", {
        "root_table": "item", "target_size": "10%", "exclude": ["category"]})
    with pytest.raises(PlanError) as err:
        run(path)
    assert "public.item.category_id NOT NULL → public.category(id)" in str(err.value)
    assert f"{src}_dst" not in databases()


def test_case08_excluded_referenced_passthrough_copies_it_whole(pg_db, tmp_path) -> None:
    src = pg_db(CASE08)
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {
        "root_table": "item", "target_size": "10%", "exclude": ["category"],
        "excluded_referenced": "passthrough"}))
    assert rows(dst, "SELECT count(*) FROM item") == [(4,)]
    assert rows(dst, "SELECT count(*) FROM category") == [(4,)]
    _assert_integrity(src, dst)


# -- bad input, refused at plan time --------------------------------------------------------------

SHOP = """
CREATE TABLE customer (id int PRIMARY KEY, external_id text UNIQUE, name text);
CREATE TABLE orders (id int PRIMARY KEY, customer_ref text, customer_id int NOT NULL
                     REFERENCES customer(id), total numeric);
INSERT INTO customer VALUES (1, 'x1', 'a'), (2, 'x2', 'b');
INSERT INTO orders VALUES (1, 'x1', 1, 3), (2, 'x2', 2, 4);
"""


def _plan_error(pg_db, tmp_path: Path, subset: dict, kind: type = PlanError) -> str:
    src = pg_db(SHOP)
    path = pg_subset_workspace(tmp_path, src, f"{src}_dst", subset)
    with pytest.raises(kind) as err:
        run(path)
    assert f"{src}_dst" not in databases()
    e = err.value
    return f"{e.message}\nhint: {e.hint}\n" + "\n".join(getattr(e, "problems", None) or [])


def test_unknown_root_table_suggests_the_name(pg_db, tmp_path) -> None:
    text = _plan_error(pg_db, tmp_path, {"root_table": "public.custmer", "target_size": "10%"},
                       ConfigError)
    assert "workspace.yaml:" in text and "table public.custmer does not exist" in text
    assert "public.customer" in text.split("hint:")[1]


def test_where_the_source_rejects_shows_its_message_and_the_table(pg_db, tmp_path) -> None:
    text = _plan_error(pg_db, tmp_path, {"root_table": "customer", "where": "nme = 'a'"})
    assert "where on public.customer failed on the source" in text
    assert 'column "nme" does not exist' in text
    text = _plan_error(pg_db, tmp_path, {"root_table": "customer", "where": "id >"})
    assert "public.customer" in text and "syntax error" in text


@pytest.mark.parametrize("size", ["150%", "-5%", -3, 1.5])
def test_target_size_outside_range_is_refused(pg_db, tmp_path, size) -> None:
    text = _plan_error(pg_db, tmp_path, {"root_table": "customer", "target_size": size},
                       ConfigError)
    assert "workspace.yaml:" in text and "target_size" in text


@pytest.mark.parametrize(("vfk", "expected"), [
    ({"from": "orders(customer_reff)", "to": "customer(external_id)"},
     "column public.orders.customer_reff does not exist"),
    ({"from": "orders(customer_ref, id)", "to": "customer(external_id)"},
     "2 column(s) in 'from' and 1 in 'to'"),
    ({"from": "orders(total)", "to": "customer(external_id)"},
     "public.orders.total is numeric but public.customer.external_id is text"),
])
def test_bad_virtual_foreign_key_is_refused(pg_db, tmp_path, vfk, expected) -> None:
    text = _plan_error(pg_db, tmp_path, {"root_table": "customer", "target_size": 1,
                                         "virtual_foreign_keys": [vfk]}, ConfigError)
    assert expected in text and "workspace.yaml:" in text


def test_virtual_foreign_key_is_followed(pg_db, tmp_path) -> None:
    src = pg_db(SHOP + "ALTER TABLE orders DROP COLUMN customer_id;")
    dst = f"{src}_dst"
    run(pg_subset_workspace(tmp_path, src, dst, {
        "root_table": "orders", "where": "id = 2",
        "virtual_foreign_keys": [{"from": "orders(customer_ref)",
                                  "to": "customer(external_id)"}]}))
    assert rows(dst, "SELECT id, external_id FROM customer") == [(2, "x2")]


def test_sample_orders_by_the_integer_key_hash_or_the_key_text_hash(pg_db) -> None:
    """The rows sampled are the n first by a seeded hash of the key: of the integer itself for
    one integer column (cheaper than through its text), of the key's text otherwise."""
    src = pg_db("CREATE TABLE n (id bigint PRIMARY KEY, v text);"
                "INSERT INTO n SELECT i * 7, 'v' || i FROM generate_series(1, 5000) i;"
                "CREATE TABLE s (code text PRIMARY KEY);"
                "INSERT INTO s SELECT 'c' || i FROM generate_series(1, 5000) i;")
    with get_dialect("postgresql").open_source(parse_url(url(src))) as reader:
        snap = reader.introspect(None)
        source = subset_source("postgresql", reader)

        def sample(name: str, key: str) -> list:
            table = snap.tables[TableRef("public", name)]
            return [r[0] for b in source.sample(table, (key,), (key,), None, 9, 200, 5000)
                    for r in b]

        by_int, by_text = sample("n", "id"), sample("s", "code")
    assert by_int == [str(r[0]) for r in rows(
        src, "SELECT id FROM n ORDER BY hashint8extended(id, 9), id LIMIT 200")]
    assert by_text == [r[0] for r in rows(
        src, "SELECT code FROM s ORDER BY hashtextextended(code, 9), code LIMIT 200")]


def test_sample_read_below_a_hash_cutoff_is_exactly_the_plain_sample(pg_db) -> None:
    """The sample skips most rows before sorting when it knows how many match; the rows are
    those of ORDER BY hash LIMIT n, also when the cutoff lets too few through."""
    src = pg_db("CREATE TABLE t (id int PRIMARY KEY, v text);"
                "INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 20000) i;")
    with get_dialect("postgresql").open_source(parse_url(url(src))) as reader:
        table = reader.introspect(None).tables[TableRef("public", "t")]
        source = subset_source("postgresql", reader)

        def sample(n: int, available: int | None, where: str | None = None) -> list:
            return [r for b in source.sample(table, ("id",), ("id",), where, 5, n, available)
                    for r in b]

        plain = sample(300, None)
        assert len(plain) == 300
        assert sample(300, 20000) == plain
        assert sample(300, 10**9) == plain  # cutoff far too low: the rest read above it
        odd = sample(40, None, "id % 2 = 1")
        assert sample(40, 10000, "id % 2 = 1") == odd
        assert all(int(r[0]) % 2 == 1 for r in odd)
