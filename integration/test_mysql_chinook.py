"""Chinook on MariaDB, cloned through the whole pipeline with customer and employee names
masked: counts, FKs, counters and every unmasked value as in the source."""

from __future__ import annotations

import pytest
from conftest import MY_HOST, MY_PORT, MY_USER, load_dataset, write_workspace
from test_mysql_support import databases, query, temp_databases

from dbclone import pipeline
from dbclone.config import load_workspace

MASKED = {
    "Customer": ("FirstName", "LastName", "Email"),
    "Employee": ("FirstName", "LastName"),
}


@pytest.fixture
def chinook(my_db):
    src = my_db()
    load_dataset("chinook-mysql", src)
    return src


def _workspace(tmp_path, src: str, dst: str):
    rules = "\n".join(f"  {t}.{c}: {gen}" for t, cols in MASKED.items() for c, gen in zip(
        cols, ("fake_first_name", "fake_last_name", "fake_email"), strict=False))
    text = (f"workspace: chinook-test\n"
            f"source: {{url: 'mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{src}'}}\n"
            f"destination: {{url: 'mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{dst}'}}\n"
            f"generators:\n{rules}\n")
    return load_workspace(write_workspace(tmp_path, text))


def _tables(db: str) -> list[str]:
    return [r[0] for r in query(None, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                      "WHERE TABLE_SCHEMA = %s ORDER BY 1", (db,))]


def _columns(db: str, table: str) -> list[str]:
    return [r[0] for r in query(None, "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                                      "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
                                      "ORDER BY ORDINAL_POSITION", (db, table))]


def _pk(db: str, table: str) -> list[str]:
    return [r[0] for r in query(None, "SELECT COLUMN_NAME FROM information_schema.STATISTICS "
                                      "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND "
                                      "INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
                                (db, table))]


def _column_hash(db: str, table: str, column: str, order: list[str]) -> tuple:
    """MD5 of every value of one column in PK order; NULL and '' kept apart."""
    by = ", ".join(f"`{c}`" for c in order)
    return query(db, f"SELECT COUNT(*), MD5(GROUP_CONCAT(IF(`{column}` IS NULL, '\\\\N', "
                     f"HEX(`{column}`)) ORDER BY {by} SEPARATOR ',')) FROM `{table}`")[0]


def _fks(db: str) -> list[tuple]:
    return query(None, "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, "
                       "REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
                       "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s "
                       "AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1, 2, 3", (db,))


def _source_state(db: str) -> dict[str, list[tuple]]:
    return {t: query(db, f"CHECKSUM TABLE `{t}` EXTENDED") for t in _tables(db)}


def test_chinook_clone_masks_names_and_keeps_everything_else(chinook, tmp_path):
    src = chinook
    dst = src + "_dev"
    before = _source_state(src)
    config = _workspace(tmp_path, src, dst)

    report = pipeline.run(config)

    tables = _tables(src)
    assert len(tables) == 11 and _tables(dst) == tables
    for t in tables:  # every row, and the report says so
        count = f"SELECT count(*) FROM `{t}`"
        assert query(dst, count) == query(src, count)
    assert {r.table.name: r.rows_written for r in report.tables} == {
        t: query(src, f"SELECT count(*) FROM `{t}`")[0][0] for t in tables}

    # every FK present, pointing into the destination, and no orphans
    src_fks = _fks(src)
    assert len(src_fks) == 11
    assert _fks(dst) == [(*fk[:3], dst, *fk[4:]) for fk in src_fks]
    for table, _name, col, _schema, ref_table, ref_col in src_fks:
        assert query(dst, f"SELECT count(*) FROM `{table}` c LEFT JOIN `{ref_table}` p "
                          f"ON p.`{ref_col}` = c.`{col}` "
                          f"WHERE c.`{col}` IS NOT NULL AND p.`{ref_col}` IS NULL") == [(0,)]

    counters = ("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s ORDER BY 1")
    assert query(None, counters, (dst,)) == query(None, counters, (src,))

    # masked: no non-NULL value equals its source (joined on the PK)
    for table, cols in MASKED.items():
        pk = _pk(src, table)[0]
        for col in cols:
            same = query(None, f"SELECT count(*) FROM `{src}`.`{table}` s "
                               f"JOIN `{dst}`.`{table}` d ON d.`{pk}` = s.`{pk}` "
                               f"WHERE d.`{col}` IS NOT NULL AND BINARY d.`{col}` = s.`{col}`")
            assert same == [(0,)], f"{table}.{col} kept a source value"
            assert query(dst, f"SELECT count(*) FROM `{table}` WHERE `{col}` IS NULL") == [(0,)]

    # unmasked: identical, column by column
    for t in tables:
        order = _pk(src, t)
        for col in _columns(src, t):
            if col in MASKED.get(t, ()):
                continue
            assert _column_hash(dst, t, col, order) == _column_hash(src, t, col, order), \
                f"{t}.{col} differs"

    assert _source_state(src) == before  # the source was only read
    assert temp_databases() == []
    assert databases(src) == [src, dst]


def test_chinook_failed_clone_keeps_the_previous_copy(chinook, tmp_path):
    src = chinook
    dst = src + "_dev"
    config = _workspace(tmp_path, src, dst)
    pipeline.run(config)
    fingerprint = _column_hash(dst, "Customer", "Email", ["CustomerId"])
    bangs = query(dst, "SELECT count(*) FROM Track WHERE Name LIKE '%!'")
    query(src, "UPDATE Track SET Name = CONCAT(Name, '!')")  # the next clone would differ

    class Boom(pipeline.RunObserver):
        def rows_copied(self, table, n):
            if table.ref.name == "Track":
                raise RuntimeError("disk on fire")

    with pytest.raises(Exception, match="disk on fire"):
        pipeline.run(config, Boom())
    assert _column_hash(dst, "Customer", "Email", ["CustomerId"]) == fingerprint
    assert query(dst, "SELECT count(*) FROM Track WHERE Name LIKE '%!'") == bangs
    assert _tables(dst) == _tables(src)
    assert temp_databases() == []
