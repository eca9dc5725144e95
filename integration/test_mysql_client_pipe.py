"""A full MariaDB clone through the command-line client (dialects/mysql/client_pipe.py): the
values the client's text form could confuse, the warnings LOAD DATA LOCAL would swallow,
passwords that need quoting, and the runs that must stay on pymysql."""

from __future__ import annotations

import secrets

import pytest
import test_mysql_support
from conftest import MY_HOST, MY_PORT, my_connect
from test_mysql_support import StubMasker, direct_clone, query, temp_databases

from dbclone.dialects import parse_url
from dbclone.dialects.base import DatabaseURL
from dbclone.dialects.mysql import client_pipe
from dbclone.errors import CloneFailed


@pytest.fixture
def client_runs(monkeypatch) -> list[int]:
    """How many tables each ClientCopy.run was given (the real run, only counted)."""
    calls: list[int] = []
    real = client_pipe.ClientCopy.run

    def counted(self, jobs, events):
        calls.append(len(jobs))
        return real(self, jobs, events)

    monkeypatch.setattr(client_pipe.ClientCopy, "run", counted)
    return calls


TRICKY = """
    CREATE TABLE tricky (id int PRIMARY KEY, s varchar(40), t text NOT NULL,
                         e ENUM('NULL', 'x'), b varbinary(8), j json, n int);
    INSERT INTO tricky VALUES
      (1, 'NULL', 'NULL', 'NULL', 0x4e554c4c, '"NULL"', NULL),
      (2, NULL, '', NULL, NULL, NULL, 0),
      (3, CONCAT('tab\\there', CHAR(10), 'nl\\\\bs', CHAR(0), 'nul', CHAR(13)),
          '=starts with =', 'x', 0x005c0a09, '{"k": "v\\\\n"}', -1),
      (4, '', 'emoji 😀 ü', 'x', '', '[]', 2147483647);
"""
ROWS = "SELECT id, s, t, e, b, j, n FROM tricky ORDER BY id"


def test_null_and_the_text_null_and_escapes_survive(my_db, client_runs):
    src = my_db(TRICKY)
    direct_clone(src, src + "_dst")
    assert client_runs == [1]
    assert query(src + "_dst", ROWS) == query(src, ROWS)
    assert query(src + "_dst", "SELECT id FROM tricky WHERE s IS NULL") == [(2,)]


def test_masked_fields_are_decoded_and_encoded_exactly(my_db, client_runs):
    src = my_db(TRICKY)
    maskers: dict[str, StubMasker] = {}

    def flip(v: str | None) -> str | None:
        return None if v is None else f"<{v}>\t\\"

    direct_clone(src, src + "_dst", masks={"tricky": {"s": flip, "b": lambda v: v}},
                 maskers=maskers)
    assert client_runs == [1]
    seen = maskers["tricky"].seen
    # the masker sees canonical text: NULL as None, the text NULL as text, binary as \x hex
    assert seen[:2] == ["NULL", "\\x4e554c4c"]
    assert seen[2:4] == [None, None]
    assert seen[4] == "tab\there\nnl\\bs\0nul\r" and seen[5] == "\\x005c0a09"
    got = query(src + "_dst", "SELECT id, s, b FROM tricky ORDER BY id")
    assert got == [(1, "<NULL>\t\\", b"NULL"), (2, None, None),
                   (3, "<tab\there\nnl\\bs\0nul\r>\t\\", b"\x00\\\n\t"), (4, "<>\t\\", b"")]


def test_a_value_the_destination_would_change_fails_the_clone(my_db, client_runs):
    src = my_db("""CREATE TABLE person (id int PRIMARY KEY, code varchar(4));
                   INSERT INTO person VALUES (1, 'ab'), (2, 'cd');""")
    with pytest.raises(CloneFailed) as info:
        direct_clone(src, src + "_dst",
                     masks={"person": {"code": lambda v: "secret-too-long"}})
    text = f"{info.value} {info.value.hint}"
    assert f"{src}.person" in text and "'code'" in text
    assert "cut to fit its column" in text or "too long" in text  # 1265 here, 1406 elsewhere
    assert "secret" not in text
    assert temp_databases() == []
    assert query(None, "SHOW DATABASES LIKE %s", (src + "_dst",)) == []


def test_a_duplicate_masked_key_fails_instead_of_being_skipped(my_db, client_runs):
    src = my_db("""CREATE TABLE person (id int PRIMARY KEY, email varchar(60),
                                        UNIQUE KEY uq_email (email));
                   INSERT INTO person VALUES (1, 'ann@example.org'), (2, 'bob@example.org');""")
    with pytest.raises(CloneFailed) as info:
        direct_clone(src, src + "_dst", masks={"person": {"email": lambda v: "same@x.test"}})
    text = f"{info.value} {info.value.hint}"
    # the unique key is added after the rows (one sorted build): it refuses the duplicate
    assert "building the keys of" in text and "Duplicate entry" in text
    assert "'uq_email'" in text and "same@" not in text
    assert client_runs == [1]


@pytest.mark.parametrize("password", ['p#w\\ x "q"', "p#w\\ x;y"])
def test_a_password_that_needs_quoting_reaches_the_client(my_db, client_runs, password,
                                                         monkeypatch):
    src = my_db("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
    user = f"dbclone_it_{secrets.token_hex(3)}"
    with my_connect() as c, c.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL ON `{src}%`.* TO '{user}'@'%'")

    def as_user(db: str) -> DatabaseURL:
        url = parse_url(f"mysql://{user}@{MY_HOST}:{MY_PORT}/{db}")
        return DatabaseURL(url.url.set(password=password), "mysql")

    monkeypatch.setattr(test_mysql_support, "my_url", as_user)
    try:
        direct_clone(src, src + "_dst")
        assert client_runs == [1]
        assert query(src + "_dst", "SELECT id FROM t ORDER BY id") == [(1,), (2,)]
    finally:
        with my_connect() as c, c.cursor() as cur:
            cur.execute(f"DROP USER '{user}'@'%'")


def test_a_spatial_column_keeps_the_run_on_pymysql(my_db, client_runs):
    src = my_db("""CREATE TABLE place (id int PRIMARY KEY, at POINT);
                   CREATE TABLE other (id int PRIMARY KEY);
                   INSERT INTO place VALUES (1, POINT(1, 2)); INSERT INTO other VALUES (1);""")
    direct_clone(src, src + "_dst")
    assert client_runs == []
    assert query(src + "_dst", "SELECT id, ST_AsText(at) FROM place") == [(1, "POINT(1 2)")]


def test_a_source_with_sequences_keeps_the_run_in_one_snapshot_on_pymysql(my_db, client_runs):
    # a sequence's position is read in dbclone's snapshot: its rows must come from that one
    src = my_db("""CREATE SEQUENCE ticket_seq START WITH 100;
                   CREATE TABLE ticket (id int PRIMARY KEY DEFAULT (NEXT VALUE FOR ticket_seq));
                   INSERT INTO ticket VALUES (DEFAULT), (DEFAULT);""")
    direct_clone(src, src + "_dst")
    assert client_runs == []
    assert query(src + "_dst", "SELECT id FROM ticket ORDER BY id") == [(100,), (101,)]


def test_a_value_the_source_could_not_read_fails_the_clone(my_db, client_runs):
    # 9 MB reads as 18 MB of hex, over this server's 16 MB max_allowed_packet: the server
    # reads NULL with a warning, which must stop the clone, never load the NULL. (The
    # pymysql path fails on it too: its INSERT would be 18 MB.)
    src = my_db("""CREATE TABLE doc (id int PRIMARY KEY, body LONGBLOB NULL);
                   INSERT INTO doc VALUES (1, REPEAT('a', 9000000)), (2, 'small');""")
    with pytest.raises(CloneFailed, match=r"doc: the source server reported 1 warning"):
        direct_clone(src, src + "_dst")
    assert client_runs == [1]
    assert temp_databases() == []
    assert query(None, "SHOW DATABASES LIKE %s", (src + "_dst",)) == []
