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

pytestmark = pytest.mark.integration

SOURCE = r"""
CREATE TABLE t (id int PRIMARY KEY, s text, b bytea, d timestamptz, f float8);
INSERT INTO t SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\there\\ ' || g END,
                     '\x00ff'::bytea, '2024-02-29 12:00+02', g / 3.0
FROM generate_series(1, 20000) g;
"""


def test_the_chunks_are_psycopgs_copy_inside_the_snapshot(pg_db):
    src = pg_db(SOURCE)
    with pg_connect(src) as conn:
        conn.autocommit = False
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
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
        conn.autocommit = False
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        with pytest.raises(pipe.SourceStopped) as err, \
                pipe.source_stream(parse_url(url(src)), snapshot,
                                   "COPY (SELECT 1 / (id - 100) FROM t) TO STDOUT") as chunks:
            b"".join(chunks)
        conn.rollback()
    assert "division by zero" in err.value.text
