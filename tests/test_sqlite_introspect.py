"""SQLite catalog -> SchemaSnapshot, and the affinity rules behind TypeCategory."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dbclone.dialects import get_dialect, parse_url
from dbclone.dialects.sqlite.connect import q
from dbclone.dialects.sqlite.sqltext import has_keyword
from dbclone.dialects.sqlite.types import Affinity, affinity, category, from_text
from dbclone.errors import ConfigError
from dbclone.introspect.snapshot import ForeignKey, SchemaSnapshot, TableRef, TypeCategory


def snapshot_of(tmp_path: Path, sql: str, **kw) -> SchemaSnapshot:
    path = tmp_path / "src.db"
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    dialect = get_dialect("sqlite")
    with dialect.open_source(parse_url(f"sqlite:///{path}")) as source:
        return source.introspect(kw.get("schemas"), kw.get("exclude", ()))


def ref(name: str) -> TableRef:
    return TableRef("main", name)


def test_the_dialect_is_registered_with_main_as_its_schema() -> None:
    dialect = get_dialect("sqlite")
    assert dialect.name == "sqlite"
    assert dialect.default_schema == "main"
    assert dialect.constraints_after_data is True


def test_columns_types_defaults_and_nullability(tmp_path: Path) -> None:
    snap = snapshot_of(tmp_path, """
        CREATE TABLE person (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name VARCHAR(40) NOT NULL DEFAULT 'anon',
            born DATE,
            seen DATETIME,
            score NUMERIC(10, 2),
            ratio DOUBLE PRECISION,
            active BOOLEAN DEFAULT 1,
            photo BLOB,
            extra,
            upper_name TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL,
            name_len INTEGER GENERATED ALWAYS AS (length(name)) STORED
        );
    """)
    assert snap.dialect == "sqlite"
    assert snap.default_schema == "main" and snap.schemas == ("main",)
    t = snap.tables[ref("person")]
    cols = {c.name: c for c in t.columns}
    assert list(cols) == ["id", "name", "born", "seen", "score", "ratio", "active", "photo",
                          "extra", "upper_name", "name_len"]
    assert t.primary_key == ("id",)
    assert cols["id"].identity == "by default" and not cols["id"].nullable
    assert cols["id"].category is TypeCategory.INTEGER
    assert (cols["name"].type_sql, cols["name"].max_length, cols["name"].nullable,
            cols["name"].default) == ("VARCHAR(40)", 40, False, "'anon'")
    assert cols["born"].category is TypeCategory.DATE
    assert cols["seen"].category is TypeCategory.TIMESTAMP
    assert (cols["score"].category, cols["score"].numeric_precision,
            cols["score"].numeric_scale) == (TypeCategory.NUMERIC, 10, 2)
    assert cols["ratio"].category is TypeCategory.NUMERIC
    assert cols["active"].category is TypeCategory.BOOLEAN and cols["active"].default == "1"
    assert cols["photo"].category is TypeCategory.BINARY
    assert cols["extra"].category is TypeCategory.OTHER and cols["extra"].type_sql == ""
    assert cols["upper_name"].generated == "virtual"
    assert cols["name_len"].generated == "stored"
    assert [c.name for c in t.writable_columns] == list(cols)[:9]


def test_integer_primary_key_without_autoincrement_is_no_identity(tmp_path: Path) -> None:
    snap = snapshot_of(tmp_path, """
        CREATE TABLE a (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'AUTOINCREMENT');
        CREATE TABLE b (id INT PRIMARY KEY);
    """)
    assert snap.tables[ref("a")].columns[0].identity is None
    assert snap.tables[ref("b")].columns[0].identity is None
    # INT (not INTEGER) is no rowid alias: SQLite's legacy rule lets this key hold NULL
    assert snap.tables[ref("b")].columns[0].nullable is True


def test_keys_uniques_and_composite_foreign_keys(tmp_path: Path) -> None:
    snap = snapshot_of(tmp_path, """
        CREATE TABLE Region (code TEXT, country TEXT, name TEXT UNIQUE,
                             PRIMARY KEY (country, code)) WITHOUT ROWID;
        CREATE TABLE office (
            id INTEGER PRIMARY KEY,
            region_code TEXT, region_country TEXT NOT NULL, alt_code TEXT, alt_country TEXT,
            email TEXT, slug TEXT,
            UNIQUE (region_country, email),
            FOREIGN KEY (region_code, region_country) REFERENCES region (code, country),
            FOREIGN KEY (alt_country, alt_code) REFERENCES REGION
        );
        CREATE UNIQUE INDEX office_slug ON office (slug);
        CREATE UNIQUE INDEX office_lower ON office (lower(email));
        CREATE UNIQUE INDEX office_partial ON office (alt_code) WHERE alt_code IS NOT NULL;
    """)
    region = snap.tables[ref("Region")]
    assert region.primary_key == ("country", "code")
    assert not next(c for c in region.columns if c.name == "code").nullable  # WITHOUT ROWID
    assert region.unique_constraints == (("name",),)
    office = snap.tables[ref("office")]
    assert office.unique_constraints == (("slug",), ("region_country", "email"))
    fks = sorted(office.foreign_keys, key=lambda fk: fk.name)
    assert fks == [
        ForeignKey("office_fk0", ref("office"), ("alt_country", "alt_code"), ref("Region"),
                   ("country", "code"), nullable=True),
        ForeignKey("office_fk1", ref("office"), ("region_code", "region_country"),
                   ref("Region"), ("code", "country"), nullable=False),
    ]


def test_self_reference_cycle_and_dangling_reference(tmp_path: Path) -> None:
    snap = snapshot_of(tmp_path, """
        CREATE TABLE employee (id INTEGER PRIMARY KEY, boss_id INTEGER REFERENCES employee);
        CREATE TABLE patient (id INTEGER PRIMARY KEY, last_visit INTEGER REFERENCES visit (id));
        CREATE TABLE visit (id INTEGER PRIMARY KEY,
                            patient_id INTEGER NOT NULL REFERENCES patient (id));
        CREATE TABLE orphan (id INTEGER PRIMARY KEY, gone_id INTEGER REFERENCES gone (id));
    """)
    (boss,) = snap.tables[ref("employee")].foreign_keys
    assert (boss.columns, boss.ref_table, boss.ref_columns) == (("boss_id",), ref("employee"),
                                                               ("id",))
    (last,) = snap.tables[ref("patient")].foreign_keys
    assert last.nullable is True
    (back,) = snap.tables[ref("visit")].foreign_keys
    assert back.nullable is False
    (gone,) = snap.tables[ref("orphan")].foreign_keys
    assert gone.ref_table == ref("gone") and ref("gone") not in snap.tables


def test_views_triggers_and_what_is_left_out(tmp_path: Path) -> None:
    snap = snapshot_of(tmp_path, """
        CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
        CREATE TABLE audit (at TEXT, what TEXT);
        CREATE VIEW item_names AS SELECT name FROM "item";
        CREATE VIEW item_count AS SELECT count(*) AS n FROM item_names;
        CREATE TRIGGER item_ai AFTER INSERT ON item BEGIN
            INSERT INTO audit VALUES (datetime('now'), NEW.name); END;
        CREATE VIRTUAL TABLE search USING fts5(body);
        INSERT INTO item (name) VALUES ('x');
        ANALYZE;
    """)
    # sqlite_sequence, sqlite_stat1 and the FTS table with its shadow tables hold no user data
    assert sorted(t.name for t in snap.tables) == ["audit", "item"]
    assert snap.views[ref("item_names")].depends_on == (ref("item"),)
    assert snap.views[ref("item_count")].depends_on == (ref("item_names"),)
    (trigger,) = snap.tables[ref("item")].triggers
    assert trigger.name == "item_ai" and trigger.definition.startswith("CREATE TRIGGER")
    assert snap.tables[ref("item")].row_estimate == 1


def test_only_the_main_schema_exists(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        snapshot_of(tmp_path, "CREATE TABLE t (x);", schemas=["public"])
    assert "one schema, 'main'" in str(err.value)
    assert snapshot_of(tmp_path, "CREATE TABLE u (x);", schemas=["main"]).tables


@pytest.mark.parametrize(("declared", "expected"), [
    ("INTEGER", Affinity.INTEGER), ("BIGINT", Affinity.INTEGER), ("CHARINT", Affinity.INTEGER),
    ("VARCHAR(10)", Affinity.TEXT), ("NVARCHAR(40)", Affinity.TEXT), ("CLOB", Affinity.TEXT),
    ("BLOB", Affinity.BLOB), ("", Affinity.BLOB), ("REAL", Affinity.REAL),
    ("DOUBLE PRECISION", Affinity.REAL), ("FLOAT", Affinity.REAL),
    ("NUMERIC(10,2)", Affinity.NUMERIC), ("DATE", Affinity.NUMERIC),
    ("BOOLEAN", Affinity.NUMERIC), ("FLOATING POINT", Affinity.INTEGER),
])
def test_affinity_follows_sqlites_rules(declared: str, expected: Affinity) -> None:
    assert affinity(declared) is expected


@pytest.mark.parametrize(("declared", "expected"), [
    ("DATE", TypeCategory.DATE), ("datetime", TypeCategory.TIMESTAMP),
    ("TIMESTAMP", TypeCategory.TIMESTAMP), ("BOOLEAN", TypeCategory.BOOLEAN),
    ("UUID", TypeCategory.UUID), ("JSON", TypeCategory.JSON), ("TEXT", TypeCategory.TEXT),
    ("INT", TypeCategory.INTEGER), ("DECIMAL(5,2)", TypeCategory.NUMERIC),
    ("BLOB", TypeCategory.BINARY), ("", TypeCategory.OTHER),
])
def test_category_refines_affinity_by_declared_name(declared: str,
                                                    expected: TypeCategory) -> None:
    assert category(declared) is expected


@pytest.mark.parametrize(("text", "aff", "expected"), [
    ("42", Affinity.INTEGER, 42), ("-7", Affinity.NUMERIC, -7), ("1.5", Affinity.REAL, 1.5),
    ("1e3", Affinity.REAL, 1000.0), ("42", Affinity.REAL, 42.0), ("42", Affinity.TEXT, "42"),
    ("1_000", Affinity.INTEGER, "1_000"), (" 5", Affinity.INTEGER, " 5"),
    ("nan", Affinity.REAL, "nan"), ("1985-03-01", Affinity.NUMERIC, "1985-03-01"),
    ("99999999999999999999", Affinity.INTEGER, 1e20), ("x", Affinity.BLOB, "x"),
])
def test_masked_text_goes_back_to_the_columns_storage_class(text: str, aff: Affinity,
                                                            expected: object) -> None:
    got = from_text(text, aff)
    assert got == expected and type(got) is type(expected)


def test_identifiers_are_quoted_exactly_once() -> None:
    assert q("id") == '"id"'
    assert q('a"b') == '"a""b"'
    assert q("batch (2)") == '"batch (2)"'


def test_keywords_inside_strings_comments_and_names_do_not_count() -> None:
    assert has_keyword("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT)", "AUTOINCREMENT")
    assert not has_keyword("CREATE TABLE t (id INTEGER PRIMARY KEY, "
                           "note TEXT DEFAULT 'AUTOINCREMENT', \"autoincrement\" TEXT) "
                           "-- AUTOINCREMENT\n", "AUTOINCREMENT")
    assert has_keyword("CREATE TABLE t (a) without   rowid", "WITHOUT", "ROWID")
    assert not has_keyword("CREATE TABLE t (a /* WITHOUT ROWID */)", "WITHOUT", "ROWID")
