"""What the MySQL dialect reads from information_schema, checked on the real MariaDB."""

from __future__ import annotations

from test_mysql_support import direct_clone, my_url, query

from dbclone.dialects import get_dialect
from dbclone.introspect.snapshot import ForeignKey, TableRef, TypeCategory


def test_keys_composite_self_and_nullable_fks(my_db):
    src = my_db("""
        CREATE TABLE region (id int PRIMARY KEY, country char(2) NOT NULL,
                             code varchar(5) NOT NULL, UNIQUE KEY uq_cc (country, code));
        CREATE TABLE store (
          id int PRIMARY KEY, r_code varchar(5) NOT NULL, r_country char(2) NOT NULL,
          manager_id int NULL,
          CONSTRAINT fk_region FOREIGN KEY (r_country, r_code) REFERENCES region (country, code),
          CONSTRAINT fk_mgr FOREIGN KEY (manager_id) REFERENCES store (id));
        INSERT INTO region VALUES (1, 'NL', 'UT'), (2, 'BE', 'UT');
        INSERT INTO store VALUES (1, 'UT', 'NL', NULL), (2, 'UT', 'BE', 1);
    """)
    with get_dialect("mysql").open_source(my_url(src)) as source:
        snap = source.introspect([src])
    assert (snap.default_schema, snap.schemas, snap.dialect) == (src, (src,), "mysql")
    region, store = snap.tables[TableRef(src, "region")], snap.tables[TableRef(src, "store")]
    assert region.primary_key == ("id",) and region.unique_constraints == (("country", "code"),)
    assert sorted(store.foreign_keys, key=lambda fk: fk.name) == [
        ForeignKey("fk_mgr", store.ref, ("manager_id",), store.ref, ("id",), nullable=True),
        ForeignKey("fk_region", store.ref, ("r_country", "r_code"), region.ref,
                   ("country", "code"), nullable=False),
    ]
    dst = src + "_dst"
    direct_clone(src, dst)
    assert query(dst, "SELECT * FROM store ORDER BY id") == query(src, "SELECT * FROM store "
                                                                       "ORDER BY id")
    assert query(dst, "SELECT count(*) FROM store s JOIN region r "
                      "ON (r.code, r.country) = (s.r_code, s.r_country)") == [(2,)]


def test_column_types_lengths_defaults_and_checks(my_db):
    src = my_db("""
        CREATE TABLE profile (
          id int AUTO_INCREMENT PRIMARY KEY,
          nick varchar(40) CHARACTER SET utf8mb4 NOT NULL DEFAULT 'it''s',
          bio text, note tinytext CHARACTER SET latin1,
          doc json, born date, seen datetime DEFAULT current_timestamp(),
          at time, score decimal(6,2), ratio double, token uuid, flags bit(3),
          kind enum('a','b') NOT NULL, pic blob, age int CHECK (age >= 0),
          CONSTRAINT adult CHECK (age IS NULL OR age < 200));
    """)
    with get_dialect("mysql").open_source(my_url(src)) as source:
        snap = source.introspect(None)
    table = snap.tables[TableRef(src, "profile")]
    cols = {c.name: c for c in table.columns}
    assert {n: c.category for n, c in cols.items()} == {
        "id": TypeCategory.INTEGER, "nick": TypeCategory.TEXT, "bio": TypeCategory.TEXT,
        "note": TypeCategory.TEXT, "doc": TypeCategory.JSON, "born": TypeCategory.DATE,
        "seen": TypeCategory.TIMESTAMP, "at": TypeCategory.TIME, "score": TypeCategory.NUMERIC,
        "ratio": TypeCategory.NUMERIC, "token": TypeCategory.UUID, "flags": TypeCategory.BIT,
        "kind": TypeCategory.ENUM, "pic": TypeCategory.BINARY, "age": TypeCategory.INTEGER,
    }
    # characters, not bytes: TEXT holds 65535 bytes, 16383 four-byte characters
    assert (cols["nick"].max_length, cols["bio"].max_length, cols["note"].max_length) == (
        40, 16383, 255)
    assert cols["pic"].max_length is None
    assert (cols["nick"].default, cols["seen"].default, cols["bio"].default) == (
        "'it''s'", "current_timestamp()", None)
    assert (cols["nick"].nullable, cols["bio"].nullable) == (False, True)
    assert (cols["score"].numeric_precision, cols["score"].numeric_scale) == (6, 2)
    assert cols["id"].identity == "by default" and cols["nick"].identity is None
    assert cols["kind"].type_sql == "enum('a','b')"
    assert sorted(c.name for c in table.checks) == ["adult", "age", "doc"]


def test_sample_of_a_big_table_reads_random_key_ranges_the_same_each_run(my_db):
    """A big table with an integer key is sampled through its index, after random points
    of the key's range: the rows spread over the table, none twice, the same every run
    (ORDER BY RAND() would sort all of it: 5 s on 3M rows)."""
    src = my_db("CREATE TABLE big (id int PRIMARY KEY, v varchar(20));"
                "INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_60000;"
                "ANALYZE TABLE big;")
    with get_dialect("mysql").open_source(my_url(src)) as source:
        table = source.introspect([src]).tables[TableRef(src, "big")]
        assert table.row_estimate > 50 * 1000  # big enough not to be sorted
        first = list(source.scan_rows(table, ["id", "v"], limit=1000, sample=True))
        again = list(source.scan_rows(table, ["id", "v"], limit=1000, sample=True))
    ids = [int(i) for i, _ in first]
    assert first == again and len(ids) == 1000 == len(set(ids))
    assert all(v == f"v{i}" for i, v in zip(ids, (v for _, v in first), strict=True))
    # from all over the key range, not its first thousand rows
    assert max(ids) - min(ids) > 30_000 and ids != list(range(1, 1001))
