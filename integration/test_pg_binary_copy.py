"""Issue 8: unmasked tables of built-in types travel in COPY's binary format (the destination
loads it 15-20% faster than text); a table with a user-defined type in an array or a
composite, whose binary form carries type OIDs that differ between databases, stays on
text. Either way the destination holds exactly the source's rows."""

from __future__ import annotations

import pytest
from conftest import pg_connect
from test_pg_support import clone, table_fingerprints

from dbclone.dialects.postgresql import parallel as par
from dbclone.dialects.postgresql import pipe
from dbclone.dialects.postgresql import transfer as tr
from dbclone.introspect.snapshot import Column, Table, TableRef, TypeCategory

pytestmark = pytest.mark.integration

SOURCE = r"""
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE DOMAIN small_positive AS positive CHECK (VALUE < 100);
CREATE TABLE plain (
  id int PRIMARY KEY, n numeric(20, 6), f float8, r real, t text, v varchar(5), c char(3),
  b bytea, ts timestamptz, d date, i interval, u uuid, j jsonb, js json, ip inet,
  ints int[], texts text[], span int4range, bits bit varying(12), m money, ok boolean,
  p positive, x xml, ch "char");
INSERT INTO plain VALUES
  (1, 12345678901234.123456, 'NaN', '-Infinity', E'tab\there\nnew line \\ back', 'ü€',
   'ab', '\x00ff10', '2024-02-29 23:59:59.999999+05:30', '0001-01-01', '1 year -2 days 3 s',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, "ü", null]}', '{"raw":  1}',
   '192.168.0.1/24', '{1,NULL,3}', '{"a b","c\"d",NULL}', '[1,5)', B'1011', 12.34, true,
   7, '<a>x</a>', 'z'),
  (2, NULL, 1e308, 1.5, '', NULL, NULL, '', 'infinity', '9999-12-31', NULL, NULL, 'null',
   NULL, '::1', '{}', '{}', 'empty', B'', -0.01, NULL, NULL, NULL, NULL);
CREATE TABLE custom (id int PRIMARY KEY, feeling mood, feelings mood[], duo pair,
                     tiny small_positive);
INSERT INTO custom VALUES (1, 'ok', '{sad,happy}', ROW(1, 'x'), 5), (2, NULL, NULL, NULL, 9);
"""


def test_built_in_types_go_binary_and_user_types_stay_text(pg_db, tmp_path, monkeypatch):
    src = pg_db(SOURCE)
    with pg_connect(src) as conn:
        def safe(name: str, cols: list[str]) -> bool:
            table = Table(ref=TableRef("public", name), columns=[
                Column(c, "text", TypeCategory.TEXT) for c in cols])
            return tr.binary_safe(conn, conn, table, cols)

        plain_cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'plain'::regclass "
            "AND attnum > 0 ORDER BY attnum").fetchall()]
        assert safe("plain", plain_cols)  # a domain over int4 included
        for col in ("feeling", "feelings", "duo", "tiny"):  # enum, its array, a composite,
            assert not safe("custom", ["id", col]), col  # a domain over a domain
        assert safe("custom", ["id"])

    # Forked workers run the loads: each notes its format in a file (the load is real).
    notes = tmp_path / "formats"
    real = pipe.pipe_copy

    def recording(*args, **kwargs):
        binary = bool(kwargs.get("binary", args[9] if len(args) > 9 else False))
        with notes.open("a") as f:
            f.write(f"{binary}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipe, "pipe_copy", recording)
    monkeypatch.setattr(par, "FORK_PAGES", 0)  # even these small tables go to workers
    dst = f"{src}_dst"
    clone(tmp_path, src, dst)
    assert table_fingerprints(dst) == table_fingerprints(src)
    assert sorted(notes.read_text().split()) == ["False", "True"]  # custom text, plain binary
