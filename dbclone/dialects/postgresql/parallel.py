"""Tables and page ranges of big tables copied by forked worker processes, side by side,
on one shared snapshot.

Masking is Python work per row, so one process is bound to one core. Each worker owns a
*part*: a whole table, a page range of one, or a
subset's selected rows of one (read by key batches from the key store, through a read-only
connection of the worker's own). It opens its own source connection inside a
REPEATABLE READ transaction that imports the reader's exported snapshot (``SET TRANSACTION
SNAPSHOT``), so every worker sees exactly the rows a serial COPY would, and its own COPY FROM
STDIN into the temporary database. Workers are forked, so they inherit the table's masker as
built by the plan (same keys, same pools): each row is masked exactly as the serial path
masks it. Keys and constraints come after the data, so tables may load in any order.

A table goes to a worker only when its masking shares no state with other tables
(``CopyJob.isolated``). Only masking that keeps no state between rows may be split into
ranges: a unique column remembers what it produced (re-draws depend on row order),
observers collect rows for other tables, and a custom callable may count. Those tables are
copied whole (:func:`splittable`).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue as queue_mod
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from dbclone.dialects.base import Progress, RowMasker, RowSelection
from dbclone.dialects.postgresql.connect import apply_session_settings, connect
from dbclone.dialects.postgresql.copy_text import CopyFormatError
from dbclone.dialects.postgresql.errors import safe_message
from dbclone.dialects.postgresql.transfer import Endpoints, transfer, transfer_selected
from dbclone.errors import CloneFailed, DbcloneError
from dbclone.introspect.snapshot import Table

WORKERS = max(1, min(2, os.cpu_count() or 1))
MIN_PAGES = 4096  # 32 MB of heap: below that, a second process costs more than it saves
FORK_PAGES = 256  # 2 MB: below that, a table is copied faster than a worker starts
FORK_ROWS = 10_000  # the same for a subset's selected rows, read by key batches
ROWS_PER_PAGE = 60  # to rank selected rows against whole tables' pages, longest first
# Generators whose output may depend on earlier rows (or that we cannot see into).
# text_redact is not among them: its surrogates are keyed draws, its caches only save work,
# and the linked rows it reads were recorded before the fork (the table that records them
# has observers, so it stays serial). Big note tables are where two processes pay most.
_SERIAL_ONLY = frozenset({"custom", "shuffle", "categorical"})


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


@dataclass(frozen=True)
class Part:
    """One worker's share of a table: all of it (``lo`` None) or pages [lo, hi)."""

    table: Table
    masker: RowMasker | None
    lo: int | None = None
    hi: int | None = None
    cost: float = 0.0  # for the order parts start in: the longest first
    push: bool = True  # let the source compute the masking it can (transfer.py)
    selection: RowSelection | None = None  # a subset's rows (whole table only)


def run_parts(ends: Endpoints, parts: list[Part], inline: list[Callable[[], None]],
              progress: Callable[[Part, int], None],
              done: Callable[[Part, int, int], None], workers: int | None = None,
              started: Callable[[Part], None] | None = None) -> None:
    """Run ``parts`` in at most ``workers`` forked processes at a time, longest first, and
    the ``inline`` callables in this process meanwhile, in their order.

    Raises CloneFailed naming the table when a worker fails; any failure stops the other
    workers (the caller drops the temporary database, so rows another worker committed
    never reach the destination)."""
    workers = WORKERS if workers is None else workers
    ctx = mp.get_context("fork")  # the workers inherit the maskers as the plan built them
    results: Any = ctx.Queue()
    pending = sorted(parts, key=lambda p: -p.cost)
    todo = list(inline)
    running: dict[int, tuple[Any, Part]] = {}
    failure: tuple[Part, str] | None = None

    def handle(msg: tuple) -> None:
        nonlocal failure
        kind, idx = msg[0], msg[1]
        if idx not in running:
            return
        part = running[idx][1]
        if kind == "rows":
            progress(part, msg[2])
        elif kind == "done":
            _, _, n, unchanged, changed, pushed = msg
            running.pop(idx)[0].join()
            _merge_counts(part.masker, unchanged, changed)
            done(part, n, pushed)
        else:  # "error"
            failure = (part, msg[2])

    next_id = 0
    try:
        while (pending or todo or running) and failure is None:
            while pending and len(running) < workers:
                part = pending.pop(0)
                proc = ctx.Process(target=_worker, args=(ends, part, next_id, results),
                                   name=f"dbclone copy {part.table.ref}", daemon=True)
                proc.start()
                running[next_id] = (proc, part)
                if started is not None:
                    started(part)
                next_id += 1
            if todo and (len(running) >= workers or not pending):
                todo.pop(0)()  # this process's own share while the workers run
                _drain(results, handle)
                continue
            with contextlib.suppress(queue_mod.Empty):
                handle(results.get(timeout=0.5))
            if any(not proc.is_alive() for proc, _ in running.values()):
                _drain(results, handle)  # an ended worker's last messages are all queued
                dead = [(i, part) for i, (proc, part) in running.items()
                        if not proc.is_alive()]
                for i, _part in dead:
                    _stop_group(running[i][0])  # its psql processes, if it was killed
                if dead and failure is None:
                    failure = (dead[0][1], f"worker {dead[0][0] + 1} ended unexpectedly")
    finally:
        for proc, _ in running.values():
            if proc.is_alive():
                proc.terminate()
        for proc, _ in running.values():
            # a worker blocked on a full queue exits only once it is read
            while proc.is_alive():
                _drain(results, lambda _msg: None)
                proc.join(timeout=0.2)
            _stop_group(proc)
        results.close()
    if failure is not None:
        part, why = failure
        raise CloneFailed(f"copying {part.table.ref} failed: {why}",
                          hint="the half-built destination was removed; the previous "
                               "destination is untouched")


def _stop_group(proc: Any) -> None:
    """Terminate what is left of a worker's process group: the psql processes of a pipe
    outlive a worker that was killed (SIGKILL, OOM killer) and would hold their
    transactions open, the destination one waiting forever for COMMIT or ROLLBACK."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)


def _drain(results: Any, handle: Callable[[tuple], None]) -> None:
    while True:
        try:
            msg = results.get_nowait()
        except queue_mod.Empty:
            return
        handle(msg)


def copy_in_ranges(ends: Endpoints, table: Table, masker: RowMasker | None,
                   ranges: list[tuple[int, int | None]], progress: Progress) -> int:
    """Copy one table range by range, one worker per range; returns rows copied."""
    rows = 0

    def done(_part: Part, n: int, _pushed: int) -> None:
        nonlocal rows
        rows += n

    run_parts(ends, [Part(table, masker, lo, hi) for lo, hi in ranges], [],
              lambda _part, n: progress(n), done, workers=len(ranges))
    return rows


def _counter(masker: RowMasker | None) -> RowMasker | None:
    """The masker that keeps the masked-value counts: a subset's nulling wrapper keeps
    none of its own, the table's masker inside it does."""
    return getattr(masker, "inner", masker)


def _merge_counts(masker: RowMasker | None, unchanged: dict[str, int],
                  changed: dict[str, int]) -> None:
    for attr, counts in (("unchanged", unchanged), ("changed", changed)):
        mine = getattr(_counter(masker), attr, None)
        if mine is not None:
            for name, n in counts.items():
                mine[name] += n


def _worker(ends: Endpoints, part: Part, idx: int, results: Any) -> None:
    masker = _counter(part.masker)
    # A group of its own holds the worker's psql processes, so the parent can stop them
    # even when the worker dies without unwinding (see _stop_group).
    os.setpgid(0, 0)
    # terminate() from the parent: unwind, so the psql processes of a pipe are stopped too
    signal.signal(signal.SIGTERM, _stop)
    sys.unraisablehook = _stopped_in_finalizer
    try:
        before = {a: dict(getattr(masker, a, {})) for a in ("unchanged", "changed")}
        n, pushed = _copy_part(ends, part, lambda k: results.put(("rows", idx, k)))
        after = {a: {k: v - before[a].get(k, 0) for k, v in getattr(masker, a, {}).items()}
                 for a in ("unchanged", "changed")}
        results.put(("done", idx, n, after["unchanged"], after["changed"], pushed))
    except psycopg.Error as exc:
        results.put(("error", idx, safe_message(exc)))
    except (CopyFormatError, DbcloneError) as exc:
        results.put(("error", idx, str(exc)))  # never row values: both messages are ours
    except BaseException as exc:
        results.put(("error", idx, f"{exc.__class__.__name__} in a worker"))


def _stop(_signum: int, _frame: object) -> None:
    raise SystemExit(1)


def _stopped_in_finalizer(unraisable: Any) -> None:
    """The stop signal landed inside a finalizer (a connection's __del__), where Python
    prints it as a traceback and carries on: end the worker quietly instead; the parent
    stops its process group (psql pipes included)."""
    if isinstance(unraisable.exc_value, SystemExit):
        os._exit(1)
    sys.__unraisablehook__(unraisable)


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
        # as the reader's own session: no timeout may end a long COPY of a big table
        src.execute("SET statement_timeout = 0")
        src.execute("SET idle_in_transaction_session_timeout = 0")
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


def _copy_part(ends: Endpoints, part: Part, progress: Progress) -> tuple[int, int]:
    pages = (part.lo, part.hi) if part.lo is not None else None
    if part.selection is not None:
        part.selection.after_fork()
        with _connections(ends) as (src, dst):
            return transfer_selected(src, dst, part.table, part.masker, part.selection,
                                     progress, ends), 0
    with _connections(ends) as (src, dst):
        return transfer(src, dst, part.table, part.masker, progress, push=part.push,
                        pages=pages, ends=ends,
                        serial=pages is None and not splittable(part.table, part.masker))
