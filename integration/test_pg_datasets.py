"""Acceptance on the shared sample datasets: load, clone with masking, compare everything.

One clone per dataset (module-scoped); each test checks one property of it against the
source, so a failure names what broke.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from conftest import load_dataset, pg_connect, pg_drop, unique_name
from psycopg import sql
from test_pg_support import (
    clone,
    column_digests,
    keyed_values,
    leftover_temp_databases,
    rows,
    snapshot,
    table_fingerprints,
)

from dbclone.introspect.snapshot import SchemaSnapshot, TableRef

DATASETS: dict[str, dict[str, str]] = {
    "pagila": {
        "public.customer.first_name": "fake_first_name",
        "public.customer.last_name": "fake_last_name",
        "public.customer.email": "fake_email",
        "public.staff.first_name": "fake_first_name",
        "public.staff.last_name": "fake_last_name",
        "public.staff.email": "fake_email",
        "public.staff.username": "fake_username",
    },
    "chinook-pg": {
        "public.customer.first_name": "fake_first_name",
        "public.customer.last_name": "fake_last_name",
        "public.customer.email": "fake_email",
        "public.customer.phone": "fake_phone",
        "public.employee.first_name": "fake_first_name",
        "public.employee.last_name": "fake_last_name",
        "public.employee.email": "fake_email",
    },
    "northwind": {
        "public.customers.contact_name": "fake_name",
        "public.customers.phone": "fake_phone",
        # several companies carry their contact's name ("Ana Trujillo Emparedados y
        # helados"), and orders.ship_name repeats the company: the leak audit finds those
        "public.customers.company_name": "fake_company",
        "public.orders.ship_name": "fake_company",
        "public.employees.first_name": "fake_first_name",
        "public.employees.last_name": "fake_last_name",
    },
    "synthea": {
        "public.patients.first": "fake_first_name",
        "public.patients.last": "fake_last_name",
        "public.patients.ssn": "fake_ssn",
        "public.providers.name": "fake_name",
    },
}


@dataclass
class Cloned:
    dataset: str
    src: str
    dst: str
    masks: dict[TableRef, list[str]]
    snap: SchemaSnapshot
    source_before: dict[str, str]
    source_after: dict[str, str]
    findings: list


@pytest.fixture(scope="module", params=list(DATASETS))
def cloned(request, tmp_path_factory, datasets_dir) -> Iterator[Cloned]:
    dataset = request.param
    src = unique_name()
    dst = f"{src}_dst"
    try:
        load_dataset(dataset, src)
        before = table_fingerprints(src)
        report = clone(tmp_path_factory.mktemp(dataset), src, dst, DATASETS[dataset])
        masks: dict[TableRef, list[str]] = {}
        for key in DATASETS[dataset]:
            schema, table, column = key.split(".")
            masks.setdefault(TableRef(schema, table), []).append(column)
        yield Cloned(dataset, src, dst, masks, snapshot(src), before,
                     table_fingerprints(src), report.findings)
    finally:
        pg_drop(dst)
        pg_drop(src)


def _relation_query(kinds: str) -> str:
    return (f"SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            f"ON n.oid = c.relnamespace WHERE c.relkind IN ({kinds}) "
            f"AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            f"AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2")


def test_source_is_unchanged(cloned: Cloned) -> None:
    assert cloned.source_after == cloned.source_before
    assert leftover_temp_databases() == []


def test_every_table_has_the_source_row_count(cloned: Cloned) -> None:
    def counts(db: str) -> dict[str, int]:
        with pg_connect(db) as c:
            return {f"{ns}.{t}": c.execute(sql.SQL("SELECT count(*) FROM ONLY {}").format(
                sql.Identifier(ns, t))).fetchone()[0]
                for ns, t in c.execute(_relation_query("'r'")).fetchall()}

    source = counts(cloned.src)
    assert source and counts(cloned.dst) == source
    assert sum(source.values()) > 1000


CONSTRAINTS = """
    SELECT conrelid::regclass::text, contype, count(*), count(*) FILTER (WHERE convalidated)
    FROM pg_constraint WHERE conrelid <> 0 GROUP BY 1, 2 ORDER BY 1, 2"""
INDEXES = "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes " \
          "WHERE schemaname NOT IN ('pg_catalog') ORDER BY 1, 2, 3"


def test_constraints_and_indexes_exist_and_are_valid(cloned: Cloned) -> None:
    source = rows(cloned.src, CONSTRAINTS)
    assert rows(cloned.dst, CONSTRAINTS) == source
    assert all(total == valid for *_, total, valid in source)
    assert rows(cloned.dst, INDEXES) == rows(cloned.src, INDEXES)


SEQUENCES = ("SELECT schemaname, sequencename, last_value, start_value, increment_by "
             "FROM pg_sequences ORDER BY 1, 2")
TRIGGERS = ("SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal ORDER BY 1, 2")
ROUTINES = ("SELECT p.proname, md5(p.prosrc) FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1, 2")


def test_sequences_triggers_and_routines_equal(cloned: Cloned) -> None:
    assert rows(cloned.dst, SEQUENCES) == rows(cloned.src, SEQUENCES)
    assert rows(cloned.dst, TRIGGERS) == rows(cloned.src, TRIGGERS)
    assert rows(cloned.dst, ROUTINES) == rows(cloned.src, ROUTINES)
    assert rows(cloned.dst, _relation_query("'v', 'm'")) == rows(
        cloned.src, _relation_query("'v', 'm'"))


def test_matviews_hold_what_the_destination_computes(cloned: Cloned) -> None:
    matviews = [v for v in cloned.snap.views.values() if v.materialized]
    if cloned.dataset == "pagila":
        assert [str(v.ref) for v in matviews] == ["public.rental_by_category"]
    for view in matviews:
        assert view.definition
        query = view.definition.strip().rstrip(";")
        ident = sql.Identifier(view.ref.schema, view.ref.name)
        diff = sql.SQL("SELECT count(*) FROM ((TABLE {0} EXCEPT ALL ({1})) UNION ALL "
                       "(({1}) EXCEPT ALL TABLE {0})) d").format(ident, sql.SQL(query))
        with pg_connect(cloned.dst) as c:
            c.execute("SET search_path = public")
            assert c.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()[0] > 0
            assert c.execute(diff).fetchone()[0] == 0, view.ref


def test_partitioned_rows_exactly_once(cloned: Cloned) -> None:
    roots = [t for t in cloned.snap.data_tables() if t.kind == "partitioned"]
    if cloned.dataset == "pagila":
        assert [str(t.ref) for t in roots] == ["public.payment"]
    for root in roots:
        pk = sql.SQL(", ").join(sql.Identifier(c) for c in root.primary_key)
        q = sql.SQL("SELECT count(*), count(DISTINCT ({})) FROM {}").format(
            pk, sql.Identifier(root.ref.schema, root.ref.name))
        assert rows(cloned.dst, q) == rows(cloned.src, q)
        total, distinct = rows(cloned.dst, q)[0]
        assert total == distinct > 0


def test_no_masked_value_survives(cloned: Cloned) -> None:
    for ref, columns in cloned.masks.items():
        key = list(cloned.snap.tables[ref].primary_key)
        assert key, f"{ref} needs a key to compare masked rows"
        before = keyed_values(cloned.src, ref.schema, ref.name, key, columns)
        after = keyed_values(cloned.dst, ref.schema, ref.name, key, columns)
        assert after.keys() == before.keys()
        for k, old in before.items():
            for col, was, now in zip(columns, old, after[k], strict=True):
                if was is not None:
                    assert now != was, f"{ref}.{col} kept its source value"


def test_unmasked_columns_are_byte_identical(cloned: Cloned) -> None:
    for table in cloned.snap.tables.values():
        if table.kind == "partitioned":
            continue  # its partitions are compared one by one
        masked = set(cloned.masks.get(cloned.snap.partition_root(table.ref), ()))
        cols = [c.name for c in table.columns if c.name not in masked]
        key = list(table.primary_key)
        if table.partition_of is not None and not key:
            key = list(cloned.snap.tables[cloned.snap.partition_root(table.ref)].primary_key)
        want = column_digests(cloned.src, table.ref.schema, table.ref.name, cols, key)
        got = column_digests(cloned.dst, table.ref.schema, table.ref.name, cols, key)
        assert got == want, table.ref


def test_tables_without_key_copied_intact(cloned: Cloned) -> None:
    keyless = [t for t in cloned.snap.data_tables() if not t.primary_key]
    if cloned.dataset == "synthea":
        assert len(keyless) >= 10
    for table in keyless:
        q = sql.SQL("SELECT md5(t::text) FROM {} t").format(
            sql.Identifier(table.ref.schema, table.ref.name))
        assert Counter(rows(cloned.dst, q)) == Counter(rows(cloned.src, q)), table.ref
