"""Field cases on the real MariaDB: each test is one case's right value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import MY_HOST, MY_PORT, MY_USER, my_connect, write_workspace
from test_mysql_support import (
    StubMasker,
    databases,
    direct_clone,
    my_url,
    query,
    temp_databases,
)

from dbclone import pipeline
from dbclone.config import load_workspace
from dbclone.dialects import get_dialect
from dbclone.dialects.base import DatabaseURL
from dbclone.errors import CloneFailed, ConfigError, ConnectionFailed, PlanError
from dbclone.introspect.snapshot import TableRef, TypeCategory


@pytest.fixture(autouse=True, params=["client", "pymysql"])
def copy_path(request, monkeypatch) -> str:
    """Every case holds on both ways a full clone moves rows (writer.copy_tables)."""
    if request.param == "pymysql":
        monkeypatch.setenv("DBCLONE_MYSQL_CLIENT", "off")
    return request.param


def test_case25_bit_values_defaults_set_and_enum(my_db):
    src = my_db("""
        CREATE TABLE flag_row (id int PRIMARY KEY, active BIT(1) NOT NULL DEFAULT b'0',
                               perms BIT(8), tags SET('a','b','c'), size ENUM('S','M','L'));
        INSERT INTO flag_row VALUES (1, b'1', b'10100101', 'c,a', 'M'),
                                    (2, b'0', NULL, '', NULL);
    """)
    dst = src + "_dst"
    snap = direct_clone(src, dst)
    cols = {c.name: c for c in snap.tables[TableRef(src, "flag_row")].columns}
    assert cols["active"].category is TypeCategory.BIT
    assert cols["active"].default == "b'0'"
    assert cols["tags"].category is TypeCategory.ENUM
    assert cols["tags"].enum_values == ("a", "b", "c")
    assert cols["size"].enum_values == ("S", "M", "L")
    assert query(dst, "SELECT id, active + 0, perms + 0, tags, size FROM flag_row ORDER BY id") \
        == [(1, 1, 165, "a,c", "M"), (2, 0, None, "", None)]
    ddl = query(dst, "SHOW CREATE TABLE flag_row")[0][1]
    assert "`active` bit(1) NOT NULL DEFAULT b'0'" in ddl


def test_case25_masked_bit_is_written_as_an_integer(my_db):
    src = my_db("""
        CREATE TABLE flag_row (id int PRIMARY KEY, perms BIT(8));
        INSERT INTO flag_row VALUES (1, b'10100101'), (2, NULL);
    """)
    dst = src + "_dst"
    maskers: dict[str, StubMasker] = {}
    direct_clone(src, dst, masks={"flag_row": {"perms": lambda v: None if v is None else "7"}},
                 maskers=maskers)
    assert maskers["flag_row"].seen == ["165", None]  # canonical text: the integer
    assert query(dst, "SELECT id, perms + 0 FROM flag_row ORDER BY id") == [(1, 7), (2, None)]


def test_case27_blob_and_varbinary_round_trip_byte_exact(my_db):
    src = my_db("""
        CREATE TABLE attachment (id int PRIMARY KEY, data BLOB, vb VARBINARY(16),
                                 fixed BINARY(4), name varchar(10));
        INSERT INTO attachment VALUES (1, 0x00ff5c27, 0x00ff5c27, 0x00ff5c27, 'a'),
                                      (2, '', '', 0x00000000, 'b'),
                                      (3, NULL, NULL, NULL, 'c');
    """)
    dst = src + "_dst"
    direct_clone(src, dst)
    got = query(dst, "SELECT id, data, vb, fixed, name FROM attachment ORDER BY id")
    assert got == [(1, b"\x00\xff\\'", b"\x00\xff\\'", b"\x00\xff\\'", "a"),
                   (2, b"", b"", b"\x00\x00\x00\x00", "b"),
                   (3, None, None, None, "c")]


def test_case09_generated_columns_recomputed_and_auto_increment_ids_kept(my_db):
    src = my_db("""
        CREATE TABLE invoice_line (
          id int AUTO_INCREMENT PRIMARY KEY,
          qty int NOT NULL,
          unit_price decimal(10,2) NOT NULL,
          line_total decimal(12,2) AS (qty * unit_price) STORED,
          line_tax decimal(12,2) AS (qty * unit_price / 10) VIRTUAL);
        INSERT INTO invoice_line (qty, unit_price) VALUES (2, 3.50), (1, 10.00);
    """)
    dst = src + "_dst"
    snap = direct_clone(src, dst, masks={
        "invoice_line": {"unit_price": lambda v: str(Decimal(v) + 1)}})
    table = snap.tables[TableRef(src, "invoice_line")]
    cols = {c.name: c for c in table.columns}
    assert (cols["line_total"].generated, cols["line_tax"].generated) == ("stored", "virtual")
    assert cols["id"].identity == "by default"
    assert [c.name for c in table.writable_columns] == ["id", "qty", "unit_price"]
    assert query(dst, "SELECT id, qty, unit_price, line_total, line_tax FROM invoice_line "
                      "ORDER BY id") == [
        (1, 2, Decimal("4.50"), Decimal("9.00"), Decimal("0.90")),
        (2, 1, Decimal("11.00"), Decimal("11.00"), Decimal("1.10")),
    ]


def test_case09_a_rule_on_a_generated_column_is_rejected_before_any_row_moves(my_db, tmp_path):
    src = my_db("""
        CREATE TABLE invoice_line (id int AUTO_INCREMENT PRIMARY KEY, qty int NOT NULL,
          unit_price decimal(10,2) NOT NULL,
          line_total decimal(12,2) AS (qty * unit_price) STORED);
    """)
    ws = write_workspace(tmp_path, f"""workspace: gen
source: {{url: 'mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{src}'}}
destination: {{url: 'mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{src}_dst'}}
generators:
  invoice_line.unit_price: number_noise
  invoice_line.line_total: number_noise
""")
    with pytest.raises(PlanError) as info:
        pipeline.plan(load_workspace(ws))
    assert len(info.value.problems) == 1
    assert f"{src}.invoice_line.line_total is a generated column" in info.value.problems[0]
    assert databases(src) == [src]

def test_case10_auto_increment_next_value_is_the_sources(my_db):
    src = my_db("""
        CREATE TABLE ticket (id bigint AUTO_INCREMENT PRIMARY KEY, subject varchar(20));
        CREATE TABLE empty_counter (id int AUTO_INCREMENT PRIMARY KEY) AUTO_INCREMENT = 42;
        CREATE SEQUENCE ticket_seq NOCACHE;
        CREATE TABLE label (id int PRIMARY KEY DEFAULT NEXTVAL(ticket_seq), name varchar(9));
        INSERT INTO label VALUES (1, 'explicit');
    """)
    values = ",".join(f"('s{i}')" for i in range(500))
    query(src, f"INSERT INTO ticket (subject) VALUES {values}")
    query(src, "DELETE FROM ticket WHERE id > 400")
    query(src, "ALTER TABLE ticket AUTO_INCREMENT = 731")
    query(src, "SELECT NEXTVAL(ticket_seq), NEXTVAL(ticket_seq), NEXTVAL(ticket_seq)")
    dst = src + "_dst"
    direct_clone(src, dst)

    def counters(db):
        return query(None, "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
                           "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
                           "ORDER BY TABLE_NAME", (db,))

    assert counters(dst) == counters(src) == [
        ("empty_counter", 42), ("label", None), ("ticket", 731)]
    with my_connect(dst) as c, c.cursor() as cur:
        cur.execute("INSERT INTO ticket (subject) VALUES ('x')")
        assert cur.lastrowid == 731
        cur.execute("SELECT NEXTVAL(ticket_seq)")
        assert cur.fetchone()[0] == 4
        cur.execute("INSERT INTO label (name) VALUES ('default')")  # the destination's seq
        cur.execute("SELECT id FROM label WHERE name = 'default'")
        assert cur.fetchone()[0] == 5
    assert query(dst, "SELECT count(*), max(id) FROM ticket") == [(401, 731)]
    assert f"DEFAULT nextval(`{dst}`.`ticket_seq`)" in query(dst, "SHOW CREATE TABLE label")[0][1]


def test_case17_identifiers_quoted_exactly_once(my_db):
    src = my_db("""
        CREATE TABLE `Customer` (`Id` int PRIMARY KEY, `firstName` varchar(40));
        CREATE TABLE `order` (`group` int, `user` varchar(40), `Customer_Id` int,
                              FOREIGN KEY (`Customer_Id`) REFERENCES `Customer` (`Id`));
        CREATE TABLE `batch (2)` (id int PRIMARY KEY);
        CREATE TABLE lot (id int PRIMARY KEY, batch_id int,
                          FOREIGN KEY (batch_id) REFERENCES `batch (2)` (id));
        CREATE TABLE `we``ird %s` (`a``b` int PRIMARY KEY, `100%` varchar(5));
        CREATE VIEW `select` AS SELECT o.`group`, c.`firstName` FROM `order` o
                                JOIN `Customer` c ON c.`Id` = o.`Customer_Id`;
        CREATE TRIGGER `batch (2) ai` AFTER INSERT ON `batch (2)` FOR EACH ROW SET @n = 1;
        INSERT INTO `Customer` VALUES (1, 'Ann'), (2, 'Bob');
        INSERT INTO `order` VALUES (10, 'ann', 1), (20, 'bob', 2);
        INSERT INTO `batch (2)` VALUES (1), (2);
        INSERT INTO lot VALUES (1, 1), (2, NULL);
        INSERT INTO `we``ird %s` VALUES (1, 'x%sy');
    """)
    dst = src + "_dst"
    snap = direct_clone(src, dst, masks={
        "Customer": {"firstName": lambda v: v and v.upper()},
        "order": {"user": lambda v: v and "u-" + v},
    })
    assert sorted(t.name for t in snap.tables) == [
        "Customer", "batch (2)", "lot", "order", "we`ird %s"]
    fks = {fk.name: fk for fk in snap.foreign_keys}
    assert {(fk.table.name, fk.columns, fk.ref_table.name, fk.ref_columns)
            for fk in fks.values()} == {
        ("order", ("Customer_Id",), "Customer", ("Id",)),
        ("lot", ("batch_id",), "batch (2)", ("id",)),
    }
    assert query(dst, "SELECT `Id`, `firstName` FROM `Customer` ORDER BY 1") == [
        (1, "ANN"), (2, "BOB")]
    assert query(dst, "SELECT `group`, `user` FROM `order` ORDER BY 1") == [
        (10, "u-ann"), (20, "u-bob")]
    assert query(dst, "SELECT `a``b`, `100%` FROM `we``ird %s`") == [(1, "x%sy")]
    assert query(dst, "SELECT * FROM `select` ORDER BY 1") == [(10, "ANN"), (20, "BOB")]
    assert query(None, "SELECT TABLE_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME "
                       "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s "
                       "AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY 1", (dst,)) == [
        ("lot", dst, "batch (2)"), ("order", dst, "Customer")]
    assert query(None, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM "
                       "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (dst,)) == [
        ("batch (2) ai", "batch (2)")]


def test_case13_trigger_does_not_fire_during_the_load_and_exists_after(my_db):
    src = my_db("""
        CREATE TABLE account (id int PRIMARY KEY, email varchar(100));
        CREATE TABLE account_log (id int AUTO_INCREMENT PRIMARY KEY, account_id int,
                                  note varchar(20));
        CREATE TRIGGER account_ai AFTER INSERT ON account FOR EACH ROW
          INSERT INTO account_log (account_id, note) VALUES (NEW.id, 'created');
        INSERT INTO account VALUES (1, 'a@example.org'), (2, 'b@example.org'),
                                   (3, 'c@example.org');
    """)
    dst = src + "_dst"
    direct_clone(src, dst, masks={"account": {"email": lambda v: v and "x" + v}})
    log = "SELECT id, account_id, note FROM account_log ORDER BY id"
    assert query(dst, log) == query(src, log) == [
        (1, 1, "created"), (2, 2, "created"), (3, 3, "created")]
    trig = ("SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING, EVENT_OBJECT_TABLE, "
            "ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s")
    assert query(None, trig, (dst,)) == query(None, trig, (src,))
    assert len(query(None, trig, (dst,))) == 1
    query(dst, "INSERT INTO account VALUES (4, 'd@example.org')")  # and it fires afterwards
    assert query(dst, "SELECT account_id FROM account_log WHERE id = 4") == [(4,)]


def test_views_routines_and_events_follow_into_the_destination(my_db):
    src = my_db("""
        CREATE TABLE item (id int PRIMARY KEY, price decimal(8,2));
        INSERT INTO item VALUES (1, 2.50), (2, 4.00);
        CREATE FUNCTION doubled(x decimal(8,2)) RETURNS decimal(9,2) DETERMINISTIC
          RETURN x * 2;
        CREATE PROCEDURE item_count(OUT n int) SELECT count(*) INTO n FROM item;
        CREATE VIEW z_base AS SELECT id, doubled(price) AS p2 FROM item;
        CREATE VIEW a_top AS SELECT sum(p2) AS total FROM z_base;
        CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM item WHERE 0;
    """)
    dst = src + "_dst"
    direct_clone(src, dst)
    assert query(dst, "SELECT total FROM a_top") == [(Decimal("13.00"),)]
    defs = query(None, "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
                       "WHERE TABLE_SCHEMA = %s ORDER BY 1", (dst,))
    assert [d[0] for d in defs] == ["a_top", "z_base"]
    assert all(f"`{src}`" not in d[1] and f"`{dst}`" in d[1] for d in defs)
    assert query(None, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
                       "WHERE ROUTINE_SCHEMA = %s ORDER BY 2", (dst,)) == [
        ("FUNCTION", "doubled"), ("PROCEDURE", "item_count")]
    assert query(None, "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS "
                       "WHERE EVENT_SCHEMA = %s", (dst,)) == [("nightly", "DISABLED")]


def test_text_dates_and_numbers_are_stored_as_read(my_db):
    src = my_db("""
        CREATE TABLE odd (id int PRIMARY KEY, f float, d double, n decimal(30,10),
                          z date, dt datetime(6), ts timestamp(3) NULL, t time,
                          y year, j json, s varchar(20) CHARACTER SET latin1,
                          u varchar(20), c char(5));
        INSERT INTO odd VALUES
          (0, 16777215, 0.1, 12345678901234567890.0123456789, '0000-00-00',
           '2024-02-29 23:59:59.000001', '2021-03-28 02:30:00.123', '-838:59:59', 2155,
           '{"a": [1, "x"]}', 'café', 'emoji 😀 \\\\ \\'', 'ab'),
          (1, 1.2345678, 3.3333333333333335e299, -0.5, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, '', NULL);
    """)
    dst = src + "_dst"
    direct_clone(src, dst)
    sql = ("SELECT id, CAST(f AS DOUBLE), d, n, CAST(z AS CHAR), dt, CAST(ts AS CHAR), "
           "CAST(t AS CHAR), y, j, s, u, c FROM odd ORDER BY id")
    assert query(dst, sql) == query(src, sql)
    assert query(dst, "SELECT id FROM odd WHERE id = 0") == [(0,)]  # id 0 stays 0


def test_failed_clone_leaves_existing_destination_untouched(my_db):
    src = my_db("""
        CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
        CREATE TABLE c (id int PRIMARY KEY);
        INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); INSERT INTO c VALUES (1);
    """)
    dst = my_db("CREATE TABLE keep_me (v varchar(10)); INSERT INTO keep_me VALUES ('old');",
                name=src + "_dst")

    def explode(table: str, n: int) -> None:
        if table == "b":
            raise RuntimeError("stop in the middle")

    with pytest.raises(RuntimeError):
        direct_clone(src, dst, progress=explode)
    assert query(dst, "SELECT v FROM keep_me") == [("old",)]
    assert query(None, "SELECT TABLE_NAME FROM information_schema.TABLES "
                       "WHERE TABLE_SCHEMA = %s", (dst,)) == [("keep_me",)]
    assert temp_databases() == []
    assert databases(src) == [src, dst]


def test_duplicate_entry_error_names_table_and_key_but_no_value(my_db, copy_path):
    src = my_db("""
        CREATE TABLE person (id int PRIMARY KEY, email varchar(60), UNIQUE KEY uq_email (email));
        INSERT INTO person VALUES (1, 'ann@example.org'), (2, 'bob@example.org');
    """)
    dst = src + "_dst"
    with pytest.raises(CloneFailed) as info:
        direct_clone(src, dst, masks={"person": {"email": lambda v: "same'x@example.org"}})
    text = f"{info.value} {info.value.hint}"
    # the unique key is built after the rows: the duplicate shows when it is
    assert f"building the keys of {src}.person" in text and "'uq_email'" in text
    assert "Duplicate entry" in text and "unique-safe generator" in text
    assert "example.org" not in text and "same" not in text
    assert temp_databases() == []
    assert databases(src) == [src]


def test_connection_errors_are_explained_without_the_password(my_db):
    dialect = get_dialect("mysql")
    src = my_db("CREATE TABLE t (id int PRIMARY KEY);")
    url = my_url(src)
    with pytest.raises(ConnectionFailed, match=r"cannot reach .* at 127\.0\.0\.1:1$"):
        dialect.open_source(DatabaseURL(url.url.set(port=1), "mysql"))
    bad_pw = DatabaseURL(url.url.set(password="s3cr3t-pw"), "mysql")
    with pytest.raises(ConnectionFailed) as info:
        dialect.open_source(bad_pw)
    assert "access denied for user 'root'" in str(info.value)
    assert "s3cr3t" not in f"{info.value} {info.value.hint} {bad_pw}"
    with pytest.raises(ConnectionFailed) as info:
        dialect.open_source(url.with_database(src + "x"))
    assert "unknown database" in str(info.value)
    assert info.value.hint == f"did you mean '{src}'?"


def test_source_is_read_in_one_snapshot_and_never_written(my_db):
    src = my_db("""
        CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);
        INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (1);
    """)
    dst = src + "_dst"

    def write_meanwhile(table: str, n: int) -> None:
        if table == "a":  # 'b' is read after this commit, but as of the snapshot
            query(src, "INSERT INTO b VALUES (2), (3)")

    direct_clone(src, dst, progress=write_meanwhile)
    assert query(dst, "SELECT id FROM b") == [(1,)]
    assert query(src, "SELECT count(*) FROM b") == [(3,)]
    with get_dialect("mysql").open_source(my_url(src)) as source, \
            pytest.raises(CloneFailed) as info:
        source.fetch("INSERT INTO a VALUES (9)")
    assert info.value.__cause__.args[0] == 1792  # "... in a READ ONLY transaction"
    assert query(src, "SELECT count(*) FROM a") == [(2,)]


def test_non_snapshot_tables_are_reported(my_db):
    src = my_db("""
        CREATE TABLE plain (id int PRIMARY KEY) ENGINE=InnoDB;
        CREATE TABLE cache (id int PRIMARY KEY) ENGINE=MyISAM;
        CREATE TABLE audited (id int PRIMARY KEY, v int) WITH SYSTEM VERSIONING;
        INSERT INTO cache VALUES (1); INSERT INTO audited VALUES (1, 1);
        UPDATE audited SET v = 2;
    """)
    dialect = get_dialect("mysql")
    with dialect.open_source(my_url(src)) as source:
        snapshot = source.introspect(None)
        writer = dialect.writer(my_url(src + "_dst"), my_url(src))
        writer.prepare()
        try:
            writer.create_schema(source, snapshot)
            for table in snapshot.data_tables():
                writer.copy_table(source, table, None, lambda n: None)
            findings = writer.finish(source, snapshot)
            writer.swap()
        except BaseException:
            writer.abort()
            raise
    assert [(f.where, f.message.split(":")[0]) for f in findings] == [
        (f"{src}.audited", "system-versioned"),
        (f"{src}.cache", "engine MyISAM has no snapshots"),
    ]
    assert query(src + "_dst", "SELECT id, v FROM audited") == [(1, 2)]
    assert query(src + "_dst", "SELECT id FROM cache") == [(1,)]


def test_destination_that_is_the_source_under_another_host_name_is_refused(my_db):
    src = my_db("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")
    source_url = my_url(src)
    alias = DatabaseURL(source_url.url.set(host="localhost"), "mysql")
    dialect = get_dialect("mysql")
    with dialect.open_source(source_url) as source:
        snapshot = source.introspect(None)
        writer = dialect.writer(alias, source_url)
        writer.prepare()
        with pytest.raises(ConfigError, match="is the source database"):
            writer.create_schema(source, snapshot)
        writer.abort()
    assert query(src, "SELECT id FROM t") == [(1,)]
    assert temp_databases() == []


def test_date_shift_keeps_zero_dates_and_moves_invalid_days_with_the_audit_passing(
        my_db, tmp_path, monkeypatch):
    monkeypatch.setenv("DBCLONE_SECRET", "fixed-for-the-test")
    src = my_db("""
        SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
        CREATE TABLE visit (id int PRIMARY KEY, patient int NOT NULL, seen date);
        INSERT INTO visit VALUES (1, 7, '0000-00-00'), (2, 7, '2024-02-31'),
                                 (3, 7, '2024-02-29'), (4, 8, NULL), (5, 8, '2024-05-00');
    """)
    ws = write_workspace(tmp_path, f"""workspace: zero
source: {{url: 'mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{src}'}}
destination: {{url: 'mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{src}_dst'}}
generators:
  visit.seen: {{type: date_shift, key: patient}}
""")
    report = pipeline.run(load_workspace(ws))
    assert report.audit is None or report.audit.passed
    got = dict(query(src + "_dst", "SELECT id, CAST(seen AS CHAR) FROM visit"))
    assert got[1] == "0000-00-00" and got[5] == "2024-05-00" and got[4] is None
    assert got[2] == got[3] != "2024-02-29"  # Feb 31 moves as Feb 29 does, same patient


DEFERRED_KEYS = """
CREATE TABLE org (id int PRIMARY KEY, code varchar(10) NOT NULL, UNIQUE KEY uq_code (code));
CREATE TABLE member (
  id int PRIMARY KEY, seq int NOT NULL AUTO_INCREMENT, email varchar(60), name varchar(40),
  org_code varchar(10),
  UNIQUE KEY uq_seq (seq), UNIQUE KEY uq_email (email), KEY k_name (name, email(10)),
  KEY k_org (org_code), FULLTEXT KEY ft_name (name),
  CONSTRAINT fk_org FOREIGN KEY (org_code) REFERENCES org (code));
INSERT INTO org VALUES (1, 'A'), (2, 'B');
INSERT INTO member (id, email, name, org_code) VALUES
  (1, 'ann@example.org', 'Ann', 'A'), (2, 'bob@example.org', 'Bob', 'B'),
  (3, NULL, 'Cy', NULL);
"""


def _definitions(db: str, table: str) -> set[str]:
    ddl = query(db, f"SHOW CREATE TABLE `{table}`")[0][1]
    return {line.strip().rstrip(",") for line in ddl.split("\n")[1:]
            if not line.startswith(")")}


def test_keys_added_after_the_rows_give_the_source_schema(my_db):
    """Secondary keys are built once the rows are in (sorted, not row by row), except those a
    foreign key or an AUTO_INCREMENT column needs at CREATE time: the copy ends with exactly
    the source's keys, no index added in their place, and a masked unique column checked."""
    src = my_db(DEFERRED_KEYS)
    dst = src + "_dst"
    direct_clone(src, dst, masks={"member": {"email": lambda v: v and "x" + v}})
    for table in ("org", "member"):
        assert _definitions(dst, table) == _definitions(src, table)
    assert query(dst, "SELECT id, email, org_code FROM member ORDER BY id") == [
        (1, "xann@example.org", "A"), (2, "xbob@example.org", "B"), (3, None, None)]
    assert query(dst, "SELECT count(*) FROM information_schema.STATISTICS WHERE "
                      "TABLE_SCHEMA = %s AND TABLE_NAME = 'member' AND INDEX_NAME = "
                      "'uq_email' AND NON_UNIQUE = 0", (dst,)) == [(1,)]
