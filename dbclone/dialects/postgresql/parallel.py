"""A big table copied in ctid ranges by forked worker processes, on one shared snapshot.

Masking is Python work per row, so one process is bound to one core. Here each worker owns
a page range of the table: its own source connection inside a REPEATABLE READ transaction
that imports the reader's exported snapshot (``SET TRANSACTION SNAPSHOT``), so every worker
sees exactly the rows a serial COPY would, and its own COPY FROM STDIN into the temporary
database. Workers are forked, so they inherit the table's masker as built by the plan (same
keys, same pools): each row is masked exactly as the serial path masks it.

Only masking that keeps no state between rows may be split: a unique column remembers what
it produced (re-draws depend on row order), observers collect rows for other tables, and a
custom callable may count. Those tables stay serial (:func:`splittable`).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue as queue_mod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dbclone.dialects.base import DatabaseURL, Progress, RowMasker
from dbclone.dialects.postgresql.connect import apply_session_settings, connect
from dbclone.dialects.postgresql.copy_text import CopyFormatError, pump
from dbclone.dialects.postgresql.errors import safe_message
from dbclone.errors import CloneFailed, DbcloneError
from dbclone.introspect.snapshot import Table

WORKERS = max(1, min(2, os.cpu_count() or 1))
MIN_PAGES = 4096  # 32 MB of heap: below that, a second process costs more than it saves
_PROGRESS_EVERY = 5000
# Generators whose output may depend on earlier rows (or that we cannot see into).
# text_redact is not among them: its surrogates are keyed draws, its caches only save work,
# and the linked rows it reads were recorded before the fork (the table that records them
# has observers, so it stays serial). Big note tables are where two processes pay most.
_SERIAL_ONLY = frozenset({"custom", "shuffle", "categorical"})


@dataclass(frozen=True)
class Endpoints:
    source: DatabaseURL
    snapshot_id: str
    destination: DatabaseURL
    tmp_name: str


def splittable(table: Table, masker: RowMasker | None) -> bool:
    """Whether the table's rows can be masked in any order by several processes."""
    if table.kind != "table":
        return False  # ctid means nothing to a partitioned root
    if masker is None or not masker.masked_positions:
        return True
    from dbclone.transform.masker import ColumnMasker

    if type(masker) is not ColumnMasker or masker.observers:
        return False  # e.g. a subset's nulling wrapper, or rows recorded for other tables
    for _pos, _name, gen in masker.positions:
        if gen.unique or gen.name in _SERIAL_ONLY or not getattr(gen, "parallel_safe", True):
            return False
    return True


def page_ranges(conn: psycopg.Connection, table: Table,
                workers: int | None = None) -> list[tuple[int, int | None]] | None:
    """Page ranges, one per worker, or None when the table is too small to split.

    The last range is open-ended: the pages counted now hold every row the snapshot sees,
    and an open end costs nothing to be sure of it."""
    workers = WORKERS if workers is None else workers
    if workers < 2:
        return None
    pages = conn.execute(
        "SELECT pg_catalog.pg_relation_size(%s::regclass) / "
        "pg_catalog.current_setting('block_size')::bigint",
        (sql.Identifier(table.ref.schema, table.ref.name).as_string(conn),)).fetchone()[0]
    if pages < max(MIN_PAGES, workers):
        return None
    step = -(-pages // workers)
    bounds = [i * step for i in range(workers)]
    return [(lo, bounds[i + 1] if i + 1 < workers else None) for i, lo in enumerate(bounds)]


def range_copy_out(table: Table, cols: list[str], lo: int, hi: int | None) -> sql.Composed:
    # ONLY: COPY <table> TO reads no inheritance children, and neither may this.
    cond = sql.SQL("ctid >= {}::tid").format(sql.Literal(f"({lo},0)"))
    if hi is not None:
        cond += sql.SQL(" AND ctid < {}::tid").format(sql.Literal(f"({hi},0)"))
    return sql.SQL("COPY (SELECT {} FROM ONLY {} WHERE {}) TO STDOUT").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in cols),
        sql.Identifier(table.ref.schema, table.ref.name), cond)


def copy_in_statement(table: Table, cols: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.ref.schema, table.ref.name),
        sql.SQL(", ").join(sql.Identifier(c) for c in cols))


def copy_in_ranges(ends: Endpoints, table: Table, masker: RowMasker | None,
                   ranges: list[tuple[int, int | None]], progress: Progress) -> int:
    """Copy the table range by range, one forked process per range; returns rows copied.

    Raises CloneFailed naming the table when any worker fails (the caller drops the
    temporary database, so rows another worker committed never reach the destination)."""
    ctx = mp.get_context("fork")  # the workers inherit the masker as the plan built it
    results: Any = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(ends, table, masker, lo, hi, i, results),
                         name=f"dbclone copy {table.ref} part {i + 1}", daemon=True)
             for i, (lo, hi) in enumerate(ranges)]
    for p in procs:
        p.start()
    rows, done, failure = 0, set(), None
    try:
        while len(done) < len(procs) and failure is None:
            try:
                msg = results.get(timeout=0.5)
            except queue_mod.Empty:
                dead = [i for i, p in enumerate(procs)
                        if i not in done and not p.is_alive() and p.exitcode != 0]
                if dead:
                    failure = f"worker {dead[0] + 1} ended unexpectedly"
                continue
            kind = msg[0]
            if kind == "rows":
                progress(msg[1])
            elif kind == "done":
                _, idx, n, unchanged, changed = msg
                done.add(idx)
                rows += n
                _merge_counts(masker, unchanged, changed)
            else:  # "error"
                failure = msg[2]
    finally:
        if failure is not None:
            for p in procs:
                if p.is_alive():
                    p.terminate()
        for p in procs:
            p.join()
        results.close()
    if failure is not None:
        raise CloneFailed(f"copying {table.ref} failed: {failure}",
                          hint="the half-built destination was removed; the previous "
                               "destination is untouched")
    return rows


def _merge_counts(masker: RowMasker | None, unchanged: dict[str, int],
                  changed: dict[str, int]) -> None:
    for attr, counts in (("unchanged", unchanged), ("changed", changed)):
        mine = getattr(masker, attr, None)
        if mine is not None:
            for name, n in counts.items():
                mine[name] += n


def _worker(ends: Endpoints, table: Table, masker: RowMasker | None, lo: int,
            hi: int | None, idx: int, results: Any) -> None:
    try:
        before = {a: dict(getattr(masker, a, {})) for a in ("unchanged", "changed")}
        n = _copy_range(ends, table, masker, lo, hi, lambda k: results.put(("rows", k)))
        after = {a: {k: v - before[a].get(k, 0) for k, v in getattr(masker, a, {}).items()}
                 for a in ("unchanged", "changed")}
        results.put(("done", idx, n, after["unchanged"], after["changed"]))
    except psycopg.Error as exc:
        results.put(("error", idx, safe_message(exc)))
    except (CopyFormatError, DbcloneError) as exc:
        results.put(("error", idx, str(exc)))  # never row values: both messages are ours
    except BaseException as exc:
        results.put(("error", idx, f"{exc.__class__.__name__} in worker {idx + 1}"))


@contextlib.contextmanager
def _connections(ends: Endpoints) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    src = connect(ends.source, autocommit=False,
                  application_name="dbclone (source, read-only worker)")
    try:
        src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        src.read_only = True
        # The first statement of the transaction: the worker now sees the reader's rows.
        src.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(ends.snapshot_id)))
        apply_session_settings(src)
        dst = connect(ends.destination, dbname=ends.tmp_name,
                      application_name="dbclone (destination load worker)")
        try:
            apply_session_settings(dst)
            dst.execute("SET default_transaction_read_only = off")
            dst.execute("SET statement_timeout = 0")
            yield src, dst
        finally:
            dst.close()
    finally:
        src.close()


def _copy_range(ends: Endpoints, table: Table, masker: RowMasker | None, lo: int,
                hi: int | None, progress: Progress) -> int:
    cols = [c.name for c in table.writable_columns]
    with _connections(ends) as (src, dst), src.cursor() as scur, \
            scur.copy(range_copy_out(table, cols, lo, hi)) as chunks, dst.cursor() as dcur, \
            dcur.copy(copy_in_statement(table, cols)) as sink:
        return pump(chunks, sink, masker, len(cols), progress, _PROGRESS_EVERY)
