"""Chinook on MariaDB, cloned through the whole pipeline with customer and employee names
masked: counts, FKs, counters and every unmasked value as in the source, and a schema whose
catalog rows (keys, indexes, FK rules, checks, columns, engines) equal the source's."""

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


# -- the schema, catalog row by catalog row ---------------------------------------------------
# Each query reads one information_schema view of one database, without the schema name, so
# the source's rows and the destination's compare with ==. A reference to a table of the same
# database is shown as '=' (the destination's FKs must point into the destination).

CATALOG: dict[str, str] = {
    "tables": "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, ROW_FORMAT, "
              "CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES "
              "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
    "columns": "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, "
               "COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_COMMENT, "
               "IS_GENERATED, GENERATION_EXPRESSION FROM information_schema.COLUMNS "
               "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
    "constraints": "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE "
                   "FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s "
                   "ORDER BY TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE",
    "key_columns": "SELECT TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME, "
                   "POSITION_IN_UNIQUE_CONSTRAINT, "
                   "IF(REFERENCED_TABLE_SCHEMA = TABLE_SCHEMA, '=', REFERENCED_TABLE_SCHEMA), "
                   "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
                   "FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_SCHEMA = %s "
                   "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
    "indexes": "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, "
               "COLLATION, SUB_PART, NULLABLE, INDEX_TYPE, COMMENT, INDEX_COMMENT, IGNORED "
               "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
               "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    "foreign_keys": "SELECT TABLE_NAME, CONSTRAINT_NAME, "
                    "IF(UNIQUE_CONSTRAINT_SCHEMA = CONSTRAINT_SCHEMA, '=', "
                    "UNIQUE_CONSTRAINT_SCHEMA), UNIQUE_CONSTRAINT_NAME, REFERENCED_TABLE_NAME, "
                    "MATCH_OPTION, UPDATE_RULE, DELETE_RULE "
                    "FROM information_schema.REFERENTIAL_CONSTRAINTS "
                    "WHERE CONSTRAINT_SCHEMA = %s ORDER BY TABLE_NAME, CONSTRAINT_NAME",
    "checks": "SELECT TABLE_NAME, CONSTRAINT_NAME, LEVEL, CHECK_CLAUSE "
              "FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s "
              "ORDER BY TABLE_NAME, CONSTRAINT_NAME",
}


def _catalog(db: str) -> dict[str, list[tuple]]:
    return {name: query(None, sql, (db,)) for name, sql in CATALOG.items()}


def _assert_same_catalog(src: str, dst: str) -> dict[str, list[tuple]]:
    want, got = _catalog(src), _catalog(dst)
    for name in CATALOG:  # one view at a time, so a failure names what differs
        assert got[name] == want[name], f"information_schema {name} differs"
    return want


# Chinook has no unique key, CHECK, FK rule other than NO ACTION, default, auto-increment or
# second engine: these make each of them appear in the catalogs at least once.
EXTRAS = [
    "ALTER TABLE `Genre` ADD CONSTRAINT `UQ_GenreName` UNIQUE (`Name`)",
    "ALTER TABLE `MediaType` MODIFY `MediaTypeId` INT NOT NULL AUTO_INCREMENT",
    "ALTER TABLE `InvoiceLine` ADD CONSTRAINT `CK_InvoiceLineQuantity` CHECK (`Quantity` > 0),"
    " ADD CONSTRAINT `CK_InvoiceLinePrice` CHECK (`UnitPrice` >= 0 AND `UnitPrice` < 100)",
    "ALTER TABLE `Track` MODIFY `Milliseconds` INT NOT NULL DEFAULT 0 "
    "CHECK (`Milliseconds` >= 0), MODIFY `UnitPrice` DECIMAL(10,2) NOT NULL DEFAULT '0.99'",
    "ALTER TABLE `Invoice` ADD `Created` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP "
    "ON UPDATE CURRENT_TIMESTAMP, ADD `Note` VARCHAR(20) CHARACTER SET latin1 "
    "COLLATE latin1_swedish_ci DEFAULT 'n/a' COMMENT 'a comment'",
    # columns in another order than the table's, a descending part and a prefix length
    "CREATE INDEX `IX_TrackComposerName` ON `Track` (`Composer`(20), `Name` DESC)",
    "CREATE UNIQUE INDEX `UX_InvoiceCustomerDate` ON `Invoice` (`InvoiceDate`, `CustomerId`)",
    "ALTER TABLE `Album` DROP FOREIGN KEY `FK_AlbumArtistId`",
    "ALTER TABLE `Album` ADD CONSTRAINT `FK_AlbumArtistId` FOREIGN KEY (`ArtistId`) "
    "REFERENCES `Artist` (`ArtistId`) ON DELETE CASCADE ON UPDATE CASCADE",
    "ALTER TABLE `Customer` DROP FOREIGN KEY `FK_CustomerSupportRepId`",
    "ALTER TABLE `Customer` ADD CONSTRAINT `FK_CustomerSupportRepId` FOREIGN KEY "
    "(`SupportRepId`) REFERENCES `Employee` (`EmployeeId`) ON DELETE SET NULL "
    "ON UPDATE RESTRICT",
    "ALTER TABLE `Playlist` COLLATE = utf8mb4_unicode_ci, COMMENT = 'lists'",
    "CREATE TABLE `PlaylistNote` (`PlaylistNoteId` INT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "`Note` TEXT, KEY `IX_PlaylistNote` (`Note`(10))) ENGINE = MyISAM "
    "DEFAULT CHARSET = latin1 COLLATE = latin1_bin AUTO_INCREMENT = 40",
    "INSERT INTO `PlaylistNote` (`Note`) VALUES ('first'), (NULL), ('third')",
    "ALTER TABLE `Artist` ROW_FORMAT = COMPACT",
]


def test_chinook_schema_catalogs_equal_the_sources(chinook, tmp_path):
    src, dst = chinook, chinook + "_dev"
    pipeline.run(_workspace(tmp_path, src, dst))
    cat = _assert_same_catalog(src, dst)
    # what was compared is Chinook's schema, not empty lists
    assert len(cat["tables"]) == 11 and len(cat["columns"]) == 64
    assert {r[2] for r in cat["constraints"]} == {"PRIMARY KEY", "FOREIGN KEY"}
    assert len(cat["foreign_keys"]) == 11 and len(cat["indexes"]) == 23
    assert ("PlaylistTrack", "PRIMARY", 0, 2, "TrackId") in {r[:5] for r in cat["indexes"]}


def test_chinook_with_rules_checks_and_engines_keeps_every_catalog_row(chinook, tmp_path):
    src, dst = chinook, chinook + "_dev"
    for stmt in EXTRAS:
        query(src, stmt)
    pipeline.run(_workspace(tmp_path, src, dst))
    cat = _assert_same_catalog(src, dst)
    # the extras are there to be compared
    assert {r[2] for r in cat["constraints"]} == {"PRIMARY KEY", "FOREIGN KEY", "UNIQUE",
                                                   "CHECK"}
    assert {(r[1], r[6], r[7]) for r in cat["foreign_keys"]} >= {
        ("FK_AlbumArtistId", "CASCADE", "CASCADE"),
        ("FK_CustomerSupportRepId", "RESTRICT", "SET NULL")}
    assert {r[1] for r in cat["checks"]} == {"CK_InvoiceLineQuantity", "CK_InvoiceLinePrice",
                                             "Milliseconds"}
    assert [r[1:7] for r in cat["indexes"] if r[1] == "IX_TrackComposerName"] == [
        ("IX_TrackComposerName", 1, 1, "Composer", "A", 20),
        ("IX_TrackComposerName", 1, 2, "Name", "D", None)]
    engines = {r[0]: r[2:4] for r in cat["tables"]}
    assert engines["PlaylistNote"] == ("MyISAM", "latin1_bin")
    assert engines["Playlist"] == ("InnoDB", "utf8mb4_unicode_ci")
    assert [r[6] for r in cat["columns"] if r[2] in ("MediaTypeId", "Created")
            and r[0] in ("MediaType", "Invoice")] == ["on update current_timestamp()",
                                                      "auto_increment"]
    # the data still arrived under the new rules
    for t in _tables(src):
        count = f"SELECT count(*) FROM `{t}`"
        assert query(dst, count) == query(src, count)
