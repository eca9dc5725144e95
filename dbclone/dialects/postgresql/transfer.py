"""One table's rows (or one page range of them) from the source's COPY into the
destination's: with the masking the source can compute pushed into its SELECT
(:mod:`pushdown`), the rest masked here row by row.

Used by the serial path and by every worker alike, so both produce the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dbclone.dialects.base import DatabaseURL, Progress, RowMasker, RowSelection
from dbclone.dialects.postgresql import pipe
from dbclone.dialects.postgresql import pushdown as pd
from dbclone.dialects.postgresql.connect import conninfo
from dbclone.dialects.postgresql.copy_text import pump
from dbclone.dialects.postgresql.errors import psql_error
from dbclone.dialects.postgresql.reader import copy_out_statement
from dbclone.dialects.postgresql.subset import copy_out_selected, selected_copy_out
from dbclone.errors import CloneFailed
from dbclone.introspect.snapshot import Table
from dbclone.transform import pushdown

PROGRESS_EVERY = 5000  # rows between progress callbacks


def page_range(lo: int, hi: int | None, alias: str | None = None) -> sql.Composable:
    ctid = sql.SQL("{}.ctid").format(sql.Identifier(alias)) if alias else sql.SQL("ctid")
    cond = sql.SQL("{} >= {}::tid").format(ctid, sql.Literal(f"({lo},0)"))
    if hi is not None:
        cond += sql.SQL(" AND {} < {}::tid").format(ctid, sql.Literal(f"({hi},0)"))
    return cond


def range_copy_out(table: Table, cols: list[str], lo: int, hi: int | None) -> sql.Composed:
    # ONLY: COPY <table> TO reads no inheritance children, and neither may this.
    return sql.SQL("COPY (SELECT {} FROM ONLY {} WHERE {}) TO STDOUT").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        sql.Identifier(table.ref.schema, table.ref.name), page_range(lo, hi))


def copy_in_statement(table: Table, cols: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.ref.schema, table.ref.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in cols))


def split_for(table: Table, masker: RowMasker | None,
              serial: bool = False) -> pushdown.Split | None:
    """The part of the table's masking the source can compute, if any; only all of it
    unless the table is ``serial`` (masked by one process whatever happens)."""
    if masker is None or not masker.masked_positions:
        return None
    return pushdown.split(masker, lambda name, spec: pd.pushable(table, name, spec),
                          partial=serial)


def _pushable_here(src: psycopg.Connection, table: Table, split: pushdown.Split,
                   where: sql.Composable | None) -> bool:
    """The source can compute this masking for these rows: a UTF8 database (the pools and
    the shape tests are UTF-8), and no row that needs the Python path."""
    if src.info.parameter_status("server_encoding") != "UTF8":
        return False
    probe = pd.python_rows(table, split.specs, where)
    return probe is None or not src.execute(probe).fetchone()[0]


@dataclass(frozen=True)
class Endpoints:
    """Where the psql pipe (pipe.py) connects: the source inside the snapshot, and the
    temporary destination database."""

    source: DatabaseURL
    snapshot_id: str
    destination: DatabaseURL
    tmp_name: str


def transfer(src: psycopg.Connection, dst: psycopg.Connection, table: Table,
             masker: RowMasker | None, progress: Progress, *, push: bool,
             pages: tuple[int, int | None] | None = None,
             ends: Endpoints | None = None, serial: bool = False) -> tuple[int, int]:
    """Copy the table's rows (those of ``pages`` when given); returns the rows copied and
    how many masked columns the source computed.

    ``src`` is inside the snapshot transaction: a pushed-down COPY runs in a savepoint, so
    when it fails on purpose (SQL cannot be exact for some row) the transaction goes on and
    the table is copied again through the Python path.

    With ``ends``, rows that need no Python go through psql processes instead (pipe.py).
    """
    cols = [c.name for c in table.writable_columns]
    split = split_for(table, masker, serial) if push else None
    if split is not None and not _pushable_here(
            src, table, split, page_range(*pages, alias="t") if pages is not None else None):
        split = None
    piped = ends is not None and pipe.can_pipe(table)
    if piped and (masker is None or not masker.masked_positions):
        assert ends is not None
        where = page_range(*pages) if pages is not None else None
        out = (copy_out_statement(table.ref, cols, table.kind) if where is None
               else range_copy_out(table, cols, *pages))  # type: ignore[misc]
        binary = binary_safe(src, dst, table, cols)
        if binary:
            out = sql.SQL("{} (FORMAT binary)").format(out)
        return _pipe(src, ends, table, cols, out, progress, pages is None, binary), 0
    if split is not None:
        sent = 0

        def counted(n: int) -> None:
            nonlocal sent
            sent += n
            progress(n)

        where = page_range(*pages, alias="t") if pages is not None else None
        statement = pd.select(table, cols, split.specs, where)
        try:
            if piped and split.rest is None:
                assert ends is not None
                return (_pipe(src, ends, table, cols, statement, counted, pages is None),
                        len(split.specs))
            with src.transaction():
                # JIT would spend seconds compiling the long expressions for what takes
                # microseconds a row to interpret
                src.execute("SET LOCAL jit = off")
                rows = _pump(src, dst, table, statement, split.rest, counted)
            pushdown.merge_counts(masker, split.rest)
            return rows, len(split.specs)
        except (psycopg.Error, pipe.SourceStopped) as exc:
            if pd.is_fallback(exc) and split.rest is not None:
                # python_rows() said no row needs Python; rows already masked here hold
                # unique draws a second pass would count twice: stop rather than differ
                raise CloneFailed(f"copying {table.ref} failed: a row the source could not "
                                  "mask exactly", hint="set source.pushdown: false and "
                                  "report this as a bug") from None
            if not pd.is_fallback(exc):
                if isinstance(exc, pipe.SourceStopped):
                    raise CloneFailed(f"reading {table.ref} failed: {psql_error(exc.text)}",
                                      hint="the half-built destination was removed; the "
                                           "previous destination is untouched") from None
                raise
            if sent:
                progress(-sent)  # the rows come again
        finally:
            pushdown.rebind(masker)
    out = (copy_out_statement(table.ref, cols, table.kind) if pages is None
           else range_copy_out(table, cols, *pages))
    if piped:  # masked here: the source's rows read in big chunks from a psql
        assert ends is not None
        return _pump_from_psql(src, dst, table, out, masker, progress, ends), 0
    return _pump(src, dst, table, out, masker, progress), 0


def binary_safe(src: psycopg.Connection, dst: psycopg.Connection, table: Table,
                cols: list[str]) -> bool:
    """Whether the columns can travel in COPY's binary format, which the destination loads
    15-20% faster than text (10M pgbench rows: 15.5 s against 18.6 s): both servers of one
    major version, and every column of a built-in type, directly or through one domain, or
    an array of one. A binary array or composite carries its element types' OIDs, which a
    user-defined type has under another number in every database."""
    if src.info.server_version // 10000 != dst.info.server_version // 10000:
        return False
    row = src.execute("""
        SELECT coalesce(bool_and(b.typnamespace = 'pg_catalog'::regnamespace
                                 AND b.typtype IN ('b', 'r', 'm')
                                 AND (b.typelem = 0
                                      OR e.typnamespace = 'pg_catalog'::regnamespace)), true)
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        JOIN pg_catalog.pg_type b
          ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
        LEFT JOIN pg_catalog.pg_type e ON e.oid = b.typelem
        WHERE a.attrelid = pg_catalog.format('%%I.%%I', %s::text, %s::text)::regclass
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = ANY(%s::text[])""",
        (table.ref.schema, table.ref.name, cols)).fetchone()
    return bool(row and row[0])


def _pipe(src: psycopg.Connection, ends: Endpoints, table: Table, cols: list[str],
          out: sql.Composable, progress: Progress, whole: bool, binary: bool = False) -> int:
    name = sql.Identifier(table.ref.schema, table.ref.name).as_string(src)
    target = sql.SQL("{} ({})").format(
        sql.Identifier(table.ref.schema, table.ref.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in cols)).as_string(src)
    # the whole of a plain table: loaded frozen (COPY FREEZE cannot load a partitioned one)
    freeze = name if whole and table.kind == "table" else None
    with psycopg.connect(conninfo(ends.destination, dbname=ends.tmp_name,
                                  application_name="dbclone (load progress)"),
                         autocommit=True) as watcher:
        try:
            return pipe.pipe_copy(ends.source, ends.snapshot_id, out.as_string(src),
                                  ends.destination, ends.tmp_name, target, progress, watcher,
                                  freeze, binary)
        except pipe.SourceStopped as exc:
            if pd.is_fallback(exc):
                raise
            raise CloneFailed(f"reading {table.ref} failed: {psql_error(exc.text)}",
                              hint="the half-built destination was removed; the previous "
                                   "destination is untouched") from None


def _pump(src: psycopg.Connection, dst: psycopg.Connection, table: Table,
          out: sql.Composable, masker: Any, progress: Progress) -> int:
    cols = [c.name for c in table.writable_columns]
    with src.cursor() as scur, scur.copy(out) as chunks, dst.cursor() as dcur, \
            dcur.copy(copy_in_statement(table, cols)) as sink:
        # unmasked rows pass through: the bytes the source wrote are those it reads
        return pump(chunks, sink, masker, len(cols), progress, PROGRESS_EVERY)


def _pump_from_psql(src: psycopg.Connection, dst: psycopg.Connection, table: Table,
                    out: sql.Composable | Iterator[str], masker: Any, progress: Progress,
                    ends: Endpoints) -> int:
    cols = [c.name for c in table.writable_columns]
    script = out.as_string(src) if isinstance(out, sql.Composable) else out
    try:
        with pipe.source_stream(ends.source, ends.snapshot_id, script) as chunks, \
                dst.cursor() as dcur, dcur.copy(copy_in_statement(table, cols)) as sink:
            return pump(chunks, sink, masker, len(cols), progress, PROGRESS_EVERY)
    except pipe.SourceStopped as exc:
        raise CloneFailed(f"reading {table.ref} failed: {psql_error(exc.text)}",
                          hint="the half-built destination was removed; the previous "
                               "destination is untouched") from None


def transfer_selected(src: psycopg.Connection, dst: psycopg.Connection, table: Table,
                      masker: RowMasker | None, selection: RowSelection,
                      progress: Progress, ends: Endpoints | None = None) -> int:
    """A subset's rows of the table, read key batch by key batch, through the same masking
    path as a whole table; returns the rows copied. With ``ends``, a source psql reads
    them (one COPY per batch, in megabyte chunks, not a message per row)."""
    cols = [c.name for c in table.writable_columns]
    if ends is not None and pipe.can_pipe(table):
        key = selection.key_columns
        statements = (selected_copy_out(table, key, batch).as_string(src)
                      for batch in selection.batches())
        return _pump_from_psql(src, dst, table, statements, masker, progress, ends)
    chunks = copy_out_selected(src, table, selection.batches(), selection.key_columns)
    with dst.cursor() as cur, cur.copy(copy_in_statement(table, cols)) as sink:
        return pump(chunks, sink, masker, len(cols), progress, PROGRESS_EVERY)
