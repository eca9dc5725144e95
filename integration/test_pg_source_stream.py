"""Rows masked in dbclone are read from a source psql in big chunks (pipe.source_stream), not
one psycopg message per row: the bytes are psycopg's, inside the same snapshot, and a source
that fails says why."""

from __future__ import annotations

import pytest
from conftest import pg_connect
from test_pg_support import url

from dbclone.dialects import parse_url
from dbclone.dialects.postgresql import pipe
from dbclone.dialects.postgresql.connect import apply_session_settings
from dbclone.dialects.postgresql.subset import copy_out_selected, selected_copy_out
from dbclone.introspect.snapshot import Column, Table, TableRef, TypeCategory

pytestmark = pytest.mark.integration

SOURCE = r"""
CREATE TABLE t (id int PRIMARY KEY, s text, b bytea, d timestamptz, f float8);
INSERT INTO t SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\there\\ ' || g END,
                     '\x00ff'::bytea, '2024-02-29 12:00+02', g / 3.0
FROM generate_series(1, 20000) g;
"""


def exported(conn) -> str:
    """A snapshot of ``conn``'s new REPEATABLE READ transaction, as the clone's reader
    exports one for its workers."""
    conn.autocommit = False
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    return conn.execute("SELECT pg_export_snapshot()").fetchone()[0]


def test_the_chunks_are_psycopgs_copy_inside_the_snapshot(pg_db):
    src = pg_db(SOURCE)
    with pg_connect(src) as conn:
        snapshot = exported(conn)
        apply_session_settings(conn)  # as every dbclone session reads (DateStyle, ...)
        with conn.cursor().copy("COPY t TO STDOUT") as copy:
            expected = b"".join(bytes(c) for c in copy)
        with pg_connect(src) as other:  # after the snapshot: must not be seen
            other.execute("INSERT INTO t VALUES (999999, 'late', NULL, NULL, NULL)")
        with pipe.source_stream(parse_url(url(src)), snapshot, "COPY t TO STDOUT") as chunks:
            got = list(chunks)
        conn.rollback()
    assert b"".join(got) == expected and b"late" not in expected
    assert len(got) < 20000 // 50  # pipe-sized reads, not a message per row


def test_a_failing_source_says_why(pg_db):
    src = pg_db(SOURCE)
    with pg_connect(src) as conn:
        snapshot = exported(conn)
        with pytest.raises(pipe.SourceStopped) as err, \
                pipe.source_stream(parse_url(url(src)), snapshot,
                                   "COPY (SELECT 1 / (id - 100) FROM t) TO STDOUT") as chunks:
            b"".join(chunks)
        conn.rollback()
    assert "division by zero" in err.value.text


KEYED = r"""
CREATE TABLE k (a text, b int, v text, PRIMARY KEY (a, b));
INSERT INTO k VALUES ('plain', 1, 'x'), ('it''s', 2, 'x'), ('com,ma', 3, 'x'),
  ('quo"te', 4, 'x'), (E'back\\slash', 5, 'x'), ('NULL', 6, 'x'), ('{brace}', 7, 'x'),
  ('spa ce', 8, 'x'), ('ünï', 9, 'x'), ('', 10, 'x'), (':var', 11, 'x'), ('left', 12, 'x');
"""


def test_a_subsets_key_batches_in_the_statement_select_what_parameters_do(pg_db):
    """selected_copy_out writes the keys into the COPY (psql takes no parameters): quotes,
    commas, backslashes, braces, 'NULL', '' and a psql :variable select exactly the rows the
    parameter form (copy_out_selected) does, batch after batch from one lazy feed."""
    src = pg_db(KEYED)
    table = Table(TableRef("public", "k"), (Column("a", "text", TypeCategory.TEXT),
                                            Column("b", "integer", TypeCategory.INTEGER),
                                            Column("v", "text", TypeCategory.TEXT)),
                  primary_key=("a", "b"))
    keys = [("plain", "1"), ("it's", "2"), ("com,ma", "3"), ('quo"te', "4"),
            ("back\\slash", "5"), ("NULL", "6"), ("{brace}", "7"), ("spa ce", "8"),
            ("ünï", "9"), ("", "10"), (":var", "11")]
    batches = [keys[:4], keys[4:8], keys[8:]]
    with pg_connect(src) as conn:
        snapshot = exported(conn)
        apply_session_settings(conn)
        expected = b"".join(bytes(c) for c in copy_out_selected(conn, table, iter(batches),
                                                                ("a", "b")))
        statements = (selected_copy_out(table, ("a", "b"), b).as_string(conn)
                      for b in batches)
        with pipe.source_stream(parse_url(url(src)), snapshot, statements) as chunks:
            got = b"".join(chunks)
        conn.rollback()
    assert sorted(got.splitlines()) == sorted(expected.splitlines())
    assert len(got.splitlines()) == 11 and b"left" not in got


def test_an_error_drawing_the_statements_fails_the_stream(pg_db):
    """Not taken for the end of the rows: a key store that fails half-way is raised."""
    src = pg_db(SOURCE)

    def statements():
        yield "COPY (SELECT id FROM t WHERE id <= 3) TO STDOUT"
        raise OSError("key store unreadable")

    with pg_connect(src) as conn:
        snapshot = exported(conn)
        with pytest.raises(OSError, match="key store unreadable"), \
                pipe.source_stream(parse_url(url(src)), snapshot, statements()) as chunks:
            b"".join(chunks)
        conn.rollback()
