"""SQLite end to end through ``pipeline.run``: real files, real SQLite, no server."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dbclone.config import parse_workspace
from dbclone.errors import CloneFailed, ConnectionFailed, Interrupted, PlanError
from dbclone.pipeline import CloneReport, RunObserver, run

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DBCLONE_SHARED", ROOT.parent / "shared")).resolve()
CHINOOK = SHARED / "datasets" / "chinook" / "Chinook_Sqlite.sqlite"

CUSTOMER_MASKS = {
    "Customer.FirstName": "fake_first_name",
    "Customer.LastName": "fake_last_name",
    "Customer.Email": "fake_email",
}


# -- helpers ---------------------------------------------------------------------------------

def clone(src: Path, dst: Path, generators: dict[str, object] | None = None,
          observer: RunObserver | None = None) -> CloneReport:
    text = yaml.safe_dump({
        "workspace": "test",
        "source": {"url": f"sqlite:///{src}"},
        "destination": {"url": f"sqlite:///{dst}"},
        "generators": generators or {},
        # not a test of the privacy gate: partial workspaces on purpose (as in integration/)
        "on_unconfigured": "keep",
    }, allow_unicode=True)
    return run(parse_workspace(text, source="test.yaml", env={}), observer)


def make_db(path: Path, sql: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.close()
    return path


def masker_of(tmp_path: Path, schema: str, generators: dict, table: str) -> object:
    """The masker a plan builds for ``table`` of a fresh SQLite database made by ``schema``
    (each call in its own folder below ``tmp_path``)."""
    from dbclone import pipeline
    from dbclone.introspect.snapshot import TableRef

    work = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    src = make_db(work / "src.db", schema)
    text = yaml.safe_dump({"workspace": "t", "source": {"url": f"sqlite:///{src}"},
                           "destination": {"url": f"sqlite:///{work / 'dst.db'}"},
                           "generators": generators, "on_unconfigured": "keep"})
    plan = pipeline.plan(parse_workspace(text, source="t.yaml", env={}))
    return plan.masking.masker_for(plan.snapshot.tables[TableRef("main", table)])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tables_of(path: Path) -> list[str]:
    return [n for (n,) in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                     "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def column_values(path: Path, table: str, column: str) -> list[tuple]:
    """(rowid, storage class, value) for every row: equal lists mean a byte-exact column."""
    return rows(path, f"SELECT rowid, typeof({q(column)}), {q(column)} FROM {q(table)} "
                      "ORDER BY rowid")


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".dbclone-tmp-" in p.name)


@pytest.fixture
def chinook(tmp_path: Path) -> Path:
    if not CHINOOK.exists():
        pytest.fail(f"{CHINOOK} not found (set DBCLONE_SHARED)")
    copy = tmp_path / "chinook.sqlite"
    shutil.copyfile(CHINOOK, copy)  # the shared copy is read-only; work on our own
    return copy


# -- Chinook ---------------------------------------------------------------------------------

@pytest.fixture
def chinook_clone(chinook: Path, tmp_path: Path) -> Iterator[tuple[Path, Path, str, str]]:
    before = sha256(chinook)
    dst = tmp_path / "chinook_dev.sqlite"
    clone(chinook, dst, CUSTOMER_MASKS)
    yield chinook, dst, before, sha256(chinook)


def test_chinook_every_table_keeps_its_row_count(chinook_clone) -> None:
    src, dst, *_ = chinook_clone
    assert tables_of(dst) == tables_of(src)
    assert len(tables_of(src)) == 11
    for t in tables_of(src):
        assert rows(dst, f"SELECT count(*) FROM {q(t)}") == \
            rows(src, f"SELECT count(*) FROM {q(t)}"), t
    assert rows(dst, 'SELECT count(*) FROM "PlaylistTrack"') == [(8715,)]


def test_chinook_copy_has_no_fk_violations(chinook_clone) -> None:
    _, dst, *_ = chinook_clone
    assert rows(dst, "PRAGMA foreign_key_check") == []


def test_chinook_copy_has_the_same_schema_objects(chinook_clone) -> None:
    src, dst, *_ = chinook_clone
    listing = ("SELECT type, name, tbl_name, sql FROM sqlite_master "
               "WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name")
    assert rows(dst, listing) == rows(src, listing)
    seq = "SELECT name, seq FROM sqlite_sequence ORDER BY name"
    has_seq = "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'"
    assert rows(dst, has_seq) == rows(src, has_seq)
    if rows(src, has_seq) != [(0,)]:
        assert rows(dst, seq) == rows(src, seq)


def test_chinook_masked_customer_values_all_differ(chinook_clone) -> None:
    src, dst, *_ = chinook_clone
    for column in ("FirstName", "LastName", "Email"):
        before = dict(rows(src, f'SELECT "CustomerId", {q(column)} FROM "Customer"'))
        after = dict(rows(dst, f'SELECT "CustomerId", {q(column)} FROM "Customer"'))
        assert after.keys() == before.keys()
        assert all(after[k] != before[k] for k in before), column
        assert all(isinstance(v, str) and v for v in after.values()), column
    emails_before = {v for (v,) in rows(src, 'SELECT "Email" FROM "Customer"')}
    emails_after = {v for (v,) in rows(dst, 'SELECT "Email" FROM "Customer"')}
    assert emails_before.isdisjoint(emails_after)


def test_chinook_unmasked_columns_are_identical_with_storage_classes(chinook_clone) -> None:
    src, dst, *_ = chinook_clone
    masked = {tuple(k.split(".")) for k in CUSTOMER_MASKS}
    compared = 0
    for t in tables_of(src):
        for (column,) in rows(src, "SELECT name FROM pragma_table_info(?)", (t,)):
            if (t, column) in masked:
                continue
            assert column_values(dst, t, column) == column_values(src, t, column), \
                f"{t}.{column}"
            compared += 1
    assert compared == 64 - len(masked)
    # NUMERIC(10,2) holds REALs in Chinook: they must stay REAL, not become TEXT
    assert rows(dst, 'SELECT DISTINCT typeof("Total") FROM "Invoice"') == [("real",)]


def test_chinook_source_file_is_byte_identical_after_the_clone(chinook_clone) -> None:
    _, _, before, after = chinook_clone
    assert before == after


def test_chinook_leaves_no_temp_file(chinook_clone, tmp_path: Path) -> None:
    assert leftovers(tmp_path) == []


# -- generated and identity columns (case 09), AUTOINCREMENT counters (case 10) --------------

INVOICE_LINES = """
CREATE TABLE invoice_line (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    qty INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    line_total REAL GENERATED ALWAYS AS (qty * unit_price) STORED,
    label TEXT GENERATED ALWAYS AS ('x' || qty) VIRTUAL
);
INSERT INTO invoice_line (qty, unit_price) VALUES (2, 3.5), (1, 10.0), (4, 0.25);
"""


def test_generated_columns_are_recomputed_from_masked_values(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", INVOICE_LINES)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"invoice_line.unit_price": {"type": "constant", "value": 9.5},
                     "invoice_line.qty": {"type": "constant", "value": 3}})
    got = rows(dst, "SELECT id, qty, typeof(qty), unit_price, typeof(unit_price), line_total, "
                    "label FROM invoice_line ORDER BY id")
    # the masked text came back as INTEGER and REAL, and the database recomputed both
    assert got == [(1, 3, "integer", 9.5, "real", 28.5, "x3"),
                   (2, 3, "integer", 9.5, "real", 28.5, "x3"),
                   (3, 3, "integer", 9.5, "real", 28.5, "x3")]


def test_a_rule_on_a_generated_column_is_rejected(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", INVOICE_LINES)
    with pytest.raises(PlanError) as err:
        clone(src, tmp_path / "dst.db", {"invoice_line.line_total": "redact"})
    assert "main.invoice_line.line_total is a generated column" in str(err.value)
    assert not (tmp_path / "dst.db").exists()


def test_autoincrement_counter_is_copied_not_recomputed(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE ticket (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
        INSERT INTO ticket (subject) SELECT 'subject ' || i FROM n;
        DELETE FROM ticket WHERE id > 400;
        UPDATE sqlite_sequence SET seq = 730 WHERE name = 'ticket';
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst)
    assert rows(dst, "SELECT name, seq FROM sqlite_sequence") == [("ticket", 730)]
    conn = sqlite3.connect(dst)
    with conn:
        new_id = conn.execute("INSERT INTO ticket (subject) VALUES ('x') RETURNING id").fetchone()
    conn.close()
    assert new_id == (731,)


# -- values: BLOBs (case 27), storage classes, NULL vs empty ----------------------------------

def test_blob_round_trip_keeps_bytes_empty_and_null_apart(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE attachment (id INTEGER PRIMARY KEY, blob BLOB, name TEXT);
        INSERT INTO attachment VALUES (1, x'00ff5c27', 'a'), (2, x'', 'b'), (3, NULL, 'c');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"attachment.name": "fake_first_name"})
    got = rows(dst, "SELECT id, typeof(blob), blob, length(blob) FROM attachment ORDER BY id")
    assert got == [(1, "blob", b"\x00\xff\\'", 4), (2, "blob", b"", 0), (3, "null", None, None)]


def test_untyped_column_keeps_every_storage_class(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE anything (id INTEGER PRIMARY KEY, v, note TEXT);
        INSERT INTO anything VALUES (1, 1, 'n'), (2, 1.5, 'n'), (3, '1', 'n'), (4, x'31', 'n'),
            (5, NULL, 'n'), (6, '', 'n'), (7, 'line' || char(10) || 'with ''quote'' \\', 'n');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"anything.note": "redact"})
    assert column_values(dst, "anything", "v") == column_values(src, "anything", "v")
    assert [t for (_, t, _) in column_values(dst, "anything", "v")] == \
        ["integer", "real", "text", "blob", "null", "text", "text"]


def test_masked_integer_text_and_unchanged_values_keep_their_storage_class(
        tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT, nick TEXT, code);
        INSERT INTO person VALUES (1, 'Orla Venn', NULL, 17), (2, 'Tobin Marsh', '', x'00');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"person.name": "fake_name", "person.nick": "fake_first_name",
                     "person.code": "redact"})
    got = rows(dst, "SELECT id, typeof(name), typeof(nick), nick, typeof(code) FROM person "
                    "ORDER BY id")
    # NULL stays NULL, '' stays '' (case 21); an untyped column takes the masked text
    assert got == [(1, "text", "null", None, "text"), (2, "text", "text", "", "text")]
    assert rows(dst, "SELECT code FROM person ORDER BY id") == [("XX",), ("X",)]


def test_rowids_of_tables_without_integer_primary_key_are_kept(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE tag (name TEXT NOT NULL);
        INSERT INTO tag (rowid, name) VALUES (5, 'a'), (10, 'b'), (20, 'c');
        CREATE TABLE pair (a TEXT, b TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
        INSERT INTO pair VALUES ('x', 'y'), ('p', 'q');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst)
    assert rows(dst, "SELECT rowid, name FROM tag ORDER BY rowid") == \
        [(5, "a"), (10, "b"), (20, "c")]
    assert rows(dst, "SELECT a, b FROM pair ORDER BY a") == [("p", "q"), ("x", "y")]


# -- identifiers (case 17) -------------------------------------------------------------------

ODD_NAMES = '''
CREATE TABLE "Customer" ("Id" INTEGER PRIMARY KEY, "firstName" TEXT, "last name" TEXT);
CREATE TABLE "order" ("group" INTEGER, "user" TEXT, "Customer_Id" INTEGER
                      REFERENCES "Customer" ("Id"));
CREATE TABLE "batch (2)" (id INTEGER PRIMARY KEY, "select" TEXT);
CREATE TABLE lot (id INTEGER PRIMARY KEY, batch_id INTEGER REFERENCES "batch (2)" (id));
CREATE TABLE "we""ird.v1" ("a""b" TEXT, "Płatność €" TEXT);
CREATE INDEX "idx on ""order""" ON "order" ("user");
INSERT INTO "Customer" VALUES (1, 'Orla', 'Venn'), (2, 'Tobin', 'Marsh');
INSERT INTO "order" VALUES (1, 'orla@example.com', 1), (2, 'tobin@example.com', 2);
INSERT INTO "batch (2)" VALUES (7, 'first');
INSERT INTO lot VALUES (1, 7);
INSERT INTO "we""ird.v1" VALUES ('q"uote', 'Zażółć Gęślą');
'''


def test_names_with_quotes_spaces_parentheses_reserved_words_and_non_ascii(
        tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", ODD_NAMES)
    dst = tmp_path / "dst.db"
    report = clone(src, dst, {
        "Customer.firstName": "fake_first_name",
        "Customer.last name": "fake_last_name",
        '"order".user': "fake_email",
        '"we""ird.v1".Płatność €': "redact",
    })
    snap = report.plan.snapshot
    assert sorted(t.name for t in snap.tables) == \
        ["Customer", "batch (2)", "lot", "order", 'we"ird.v1']
    fks = sorted(fk.describe() for fk in snap.foreign_keys)
    assert fks == ["main.lot(batch_id) -> main.batch (2)(id) [lot_fk0]",
                   "main.order(Customer_Id) -> main.Customer(Id) [order_fk0]"]
    assert rows(dst, 'SELECT "firstName" != \'Orla\', "last name" != \'Venn\' '
                     'FROM "Customer" WHERE "Id" = 1') == [(1, 1)]
    assert rows(dst, 'SELECT "group", "user" LIKE \'%@%\', "user" NOT LIKE \'orla%\' '
                     'FROM "order" ORDER BY "group"') == [(1, 1, 1), (2, 1, 1)]
    assert rows(dst, 'SELECT "a""b", "Płatność €" FROM "we""ird.v1"') == \
        [('q"uote', "XXXXXXXXXXXX")]
    assert rows(dst, 'SELECT * FROM "batch (2)"') == [(7, "first")]
    assert rows(dst, "SELECT name FROM sqlite_master WHERE type = 'index'") == \
        [('idx on "order"',)]
    assert rows(dst, "PRAGMA foreign_key_check") == []


# -- triggers (case 13), views, header fields -------------------------------------------------

ACCOUNTS = """
CREATE TABLE account (id INTEGER PRIMARY KEY, email TEXT);
CREATE TABLE account_log (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER, note TEXT);
CREATE TRIGGER account_ai AFTER INSERT ON account
BEGIN INSERT INTO account_log (account_id, note) VALUES (NEW.id, 'created'); END;
CREATE VIEW account_with_log AS
    SELECT a.id, count(l.id) AS n FROM account a LEFT JOIN account_log l ON l.account_id = a.id
    GROUP BY a.id;
INSERT INTO account VALUES (1, 'a@x.test'), (2, 'b@x.test'), (3, 'c@x.test');
PRAGMA user_version = 42;
PRAGMA application_id = 1234567;
"""


def test_triggers_do_not_fire_during_the_load_and_work_afterwards(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", ACCOUNTS)
    assert rows(src, "SELECT count(*) FROM account_log") == [(3,)]
    dst = tmp_path / "dst.db"
    clone(src, dst, {"account.email": "fake_email"})
    assert rows(dst, "SELECT * FROM account_log ORDER BY id") == \
        rows(src, "SELECT * FROM account_log ORDER BY id")
    trigger = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
    assert rows(dst, trigger) == rows(src, trigger)
    conn = sqlite3.connect(dst)
    with conn:
        conn.execute("INSERT INTO account VALUES (4, 'd@x.test')")
    conn.close()
    assert rows(dst, "SELECT id, account_id, note FROM account_log WHERE id = 4") == \
        [(4, 4, "created")]
    assert rows(dst, "SELECT id, n FROM account_with_log ORDER BY id") == \
        [(1, 1), (2, 1), (3, 1), (4, 1)]


def test_user_version_application_id_and_encoding_are_carried_over(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    conn = sqlite3.connect(src)
    conn.execute("PRAGMA encoding = 'UTF-16le'")
    conn.executescript(ACCOUNTS)
    conn.close()
    dst = tmp_path / "dst.db"
    clone(src, dst)
    for pragma in ("user_version", "application_id", "encoding", "page_size"):
        assert rows(dst, f"PRAGMA {pragma}") == rows(src, f"PRAGMA {pragma}"), pragma
    assert rows(dst, "PRAGMA user_version") == [(42,)]
    assert rows(dst, "PRAGMA encoding") == [("UTF-16le",)]


# -- all or nothing ---------------------------------------------------------------------------

class StopAfterFirstBatch(RunObserver):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def rows_copied(self, table, n: int) -> None:
        raise self.exc


@pytest.mark.parametrize(("raised", "expected"), [
    (RuntimeError("boom"), CloneFailed),
    (KeyboardInterrupt(), Interrupted),
])
def test_an_interrupted_clone_leaves_the_existing_destination_untouched(
        chinook: Path, tmp_path: Path, raised: BaseException, expected: type) -> None:
    dst = make_db(tmp_path / "dev.db", "CREATE TABLE old (x); INSERT INTO old VALUES (1);")
    before = sha256(dst)
    with pytest.raises(expected):
        clone(chinook, dst, CUSTOMER_MASKS, observer=StopAfterFirstBatch(raised))
    assert sha256(dst) == before
    assert leftovers(tmp_path) == []


def test_a_successful_clone_replaces_the_existing_destination(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", ACCOUNTS)
    dst = make_db(tmp_path / "dev.db", "CREATE TABLE old (x);")
    clone(src, dst)
    assert tables_of(dst) == ["account", "account_log"]
    assert leftovers(tmp_path) == []


def test_fk_violations_already_in_the_source_are_reported_not_fatal(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE parent (id INTEGER PRIMARY KEY);
        CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));
        INSERT INTO parent VALUES (1);
        INSERT INTO child VALUES (1, 1), (2, 99);
    """)
    dst = tmp_path / "dst.db"
    report = clone(src, dst)
    assert rows(dst, "SELECT count(*) FROM child") == [(2,)]
    warnings = [f for f in report.findings if f.where == "main.child"]
    assert len(warnings) == 1
    assert warnings[0].level == "warning"
    assert "1 row(s) reference missing rows of main.parent" in warnings[0].message


# -- opening the source ----------------------------------------------------------------------

def test_a_missing_source_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(ConnectionFailed) as err:
        clone(missing, tmp_path / "dst.db")
    assert str(missing) in str(err.value)
    assert "not found" in str(err.value)
    assert not missing.exists()  # read-only open never creates the file


def test_a_file_that_is_not_sqlite_is_refused_clearly(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("just some text, not a database\n" * 50)
    with pytest.raises(ConnectionFailed) as err:
        clone(bogus, tmp_path / "dst.db")
    assert f"{bogus}: not a SQLite database" in str(err.value)


# -- one consistent read, WAL, virtual tables, a busy destination -----------------------------

class WriteToSourceWhenStarted(RunObserver):
    """Another process writes to the source after the clone has taken its snapshot."""

    def __init__(self, src: Path) -> None:
        self.src = src
        self.done = False

    def table_started(self, table, expected=None) -> None:
        if not self.done:
            conn = sqlite3.connect(self.src)
            with conn:
                conn.execute("INSERT INTO account_log (account_id, note) VALUES (1, 'late')")
                conn.execute("UPDATE account SET email = 'changed@x.test'")
            conn.close()
            self.done = True


def test_the_clone_reads_one_snapshot_while_the_source_changes(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "PRAGMA journal_mode = WAL;" + ACCOUNTS)
    dst = tmp_path / "dst.db"
    observer = WriteToSourceWhenStarted(src)
    clone(src, dst, observer=observer)
    assert observer.done
    # the copy left no -wal/-shm behind (looked at before anything opens it)...
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("dst")) == ["dst.db"]
    # ...and is in WAL mode like its source
    assert rows(dst, "PRAGMA journal_mode") == [("wal",)]
    assert rows(src, "SELECT count(*) FROM account_log") == [(4,)]
    assert rows(dst, "SELECT count(*) FROM account_log") == [(3,)]
    assert rows(dst, "SELECT email FROM account ORDER BY id") == \
        [("a@x.test",), ("b@x.test",), ("c@x.test",)]


def test_a_virtual_table_is_recreated_empty_and_reported(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT);
        CREATE VIRTUAL TABLE doc_search USING fts5(body);
        INSERT INTO doc VALUES (1, 'Orla Venn called');
        INSERT INTO doc_search (rowid, body) SELECT id, body FROM doc;
    """)
    dst = tmp_path / "dst.db"
    report = clone(src, dst, {"doc.body": "redact"})
    assert rows(dst, "SELECT body FROM doc") == [("XXXXXXXXXXXXXXXX",)]
    # the index held the unmasked text: it must not be copied
    assert rows(dst, "SELECT count(*) FROM doc_search") == [(0,)]
    assert rows(dst, "SELECT count(*) FROM doc_search_content") == [(0,)]
    (finding,) = [f for f in report.findings if f.where == "main.doc_search"]
    assert finding.level == "warning" and "created empty" in finding.message


def test_a_destination_with_a_hot_journal_is_left_alone(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", ACCOUNTS)
    dst = make_db(tmp_path / "dev.db", "CREATE TABLE old (x);")
    journal = tmp_path / "dev.db-journal"
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\x00" * 504)
    before = sha256(dst)
    with pytest.raises(CloneFailed) as err:
        clone(src, dst)
    assert "dev.db-journal exists" in str(err.value)
    assert sha256(dst) == before
    assert leftovers(tmp_path) == []


def test_text_that_is_not_utf8_fails_without_showing_the_value(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE memo (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO memo VALUES (1, CAST(x'536563726574ff' AS TEXT));
    """)
    with pytest.raises(CloneFailed) as err:
        clone(src, tmp_path / "dst.db")
    assert str(err.value).startswith("main.memo: reading rows failed")
    assert "Secret" not in str(err.value) and "Secret" not in (err.value.hint or "")
    assert err.value.hint == "a TEXT value is not valid UTF-8"
    assert leftovers(tmp_path) == [] and not (tmp_path / "dst.db").exists()
