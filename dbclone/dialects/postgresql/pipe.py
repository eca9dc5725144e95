"""Rows that need no Python (nothing masked, or every masked column computed by the source)
go from the source to the destination through two ``psql`` processes, the way ``pg_dump |
psql`` moves them: C reads and writes the COPY stream. A Python relay spends about a
microsecond per row on iteration alone, nine seconds of CPU for ten million rows, and on a
two-core machine that is time the servers need.

The source ``psql`` joins the clone's snapshot (``SET TRANSACTION SNAPSHOT``). The
destination ``psql`` loads inside a transaction and then reads how to end it from a FIFO:
COMMIT only once the source has finished cleanly. A source that fails half-way, or stops on
purpose (:data:`pushdown.FALLBACK`), leaves no rows behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO

import psycopg

from dbclone.dialects.base import DatabaseURL, Progress
from dbclone.dialects.postgresql.connect import SESSION_SETTINGS, client_env, conninfo
from dbclone.dialects.postgresql.dump import client_program, read_all, stop
from dbclone.dialects.postgresql.errors import psql_error
from dbclone.errors import CloneFailed
from dbclone.introspect.snapshot import Table

POLL_SECONDS = 1.0  # how often the destination's COPY progress is read
_COPIED = re.compile(r"^COPY (\d+)$", re.MULTILINE)


class SourceStopped(Exception):
    """The source psql failed; ``text`` is its stderr (never shown: the caller scrubs)."""

    def __init__(self, text: str) -> None:
        super().__init__("the source psql failed")
        self.text = text


def can_pipe(table: Table) -> bool:
    """psql's \\copy takes the table's and columns' names on one line: names with a
    control character or a backslash go through the Python relay instead."""
    names = [table.ref.schema, table.ref.name, *(c.name for c in table.writable_columns)]
    return not any(ch < " " or ch in "\\\x7f" for n in names for ch in n)


def _settings(local: bool) -> str:
    """The settings COPY text depends on (connect.py), as SET statements: in the scripts,
    not PGOPTIONS, which a URL's own options= parameter would replace."""
    verb = "SET LOCAL" if local else "SET"
    return "".join(f"{verb} {name} = '{value}';\n" for name, value in SESSION_SETTINGS
                   if name != "client_encoding")


def _env(url: DatabaseURL, app: str) -> dict[str, str]:
    env = client_env(url)
    env["PGCLIENTENCODING"] = "UTF8"
    env["PGAPPNAME"] = app
    return env


def _source_head(snapshot_id: str) -> str:
    # as the reader's own session: no timeout may end a long COPY of a big table
    return ("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n"
            f"SET TRANSACTION SNAPSHOT '{snapshot_id}';\n{_settings(local=True)}"
            "SET LOCAL statement_timeout = 0;\n"
            "SET LOCAL idle_in_transaction_session_timeout = 0;\n"
            "SET LOCAL jit = off;\n")


def _source_script(snapshot_id: str, copy_out: str) -> str:
    return f"{_source_head(snapshot_id)}{copy_out};\nCOMMIT;\n"


def _source_psql(source: DatabaseURL, err: IO[bytes]) -> subprocess.Popen:
    return subprocess.Popen(
        [client_program("psql"), "-X", "-w", "-q", "-v", "ON_ERROR_STOP=1", "--dbname",
         conninfo(source, password=False, application_name="dbclone (source read)")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
        env=_env(source, "dbclone (source read)"))


READ_CHUNK = 1 << 20


@contextlib.contextmanager
def source_stream(source: DatabaseURL, snapshot_id: str, copy_out: str | Iterable[str]
                  ) -> Iterator[Iterator[bytes]]:
    """``copy_out`` run by a source psql inside the snapshot; its COPY data in chunks of up
    to a megabyte, for rows masked here. psycopg hands a COPY over one message per row,
    which costs Python about a microsecond and a half a row, more than the C masking of six
    columns. Raises SourceStopped when the source failed.

    ``copy_out`` may be several COPY statements (a subset's key batches), drawn lazily: a
    thread writes each to psql while its rows are read here, so only one batch's statement
    is held at a time. An error drawing them is raised here, never taken for the end."""
    statements = [copy_out] if isinstance(copy_out, str) else copy_out
    with tempfile.TemporaryFile() as err, _processes() as procs:
        src = _source_psql(source, err)
        procs.append(src)
        assert src.stdin is not None and src.stdout is not None
        feeder = _Feeder(src.stdin, _source_head(snapshot_id), statements)
        feeder.start()
        out = src.stdout

        def chunks() -> Iterator[bytes]:
            while data := out.read1(READ_CHUNK):
                yield data

        yield chunks()  # on an error here, _processes ends psql and the feeder's writes fail
        out.close()
        code = src.wait()
        feeder.join()
        if feeder.error is not None:
            raise feeder.error
        if code != 0:
            raise SourceStopped(read_all(err))


class _Feeder(threading.Thread):
    """Writes a source psql's script, statement by statement, then ends its input."""

    def __init__(self, stdin: IO[bytes], head: str, statements: Iterable[str]) -> None:
        super().__init__(name="dbclone source script", daemon=True)
        self.stdin, self.head, self.statements = stdin, head, statements
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.stdin.write(self.head.encode("utf-8"))
            for statement in self.statements:
                self.stdin.write(f"{statement};\n".encode())
            self.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped first: its exit code and stderr say why
        except BaseException as exc:  # handed to the reading thread
            self.error = exc
        finally:
            with contextlib.suppress(BrokenPipeError):
                self.stdin.close()


def pipe_copy(source: DatabaseURL, snapshot_id: str, copy_out: str, dest: DatabaseURL,
              dest_db: str, copy_in_target: str, progress: Progress,
              watcher: psycopg.Connection, freeze_table: str | None = None,
              binary: bool = False) -> int:
    """Run ``copy_out`` (a COPY ... TO STDOUT) on the source inside the snapshot and load
    its rows with ``\\copy copy_in_target FROM pstdin``; returns the rows loaded.

    With ``freeze_table`` (the whole of a plain table, loaded by this one process) the load
    truncates it first and copies WITH (FREEZE): rows written frozen, so the index builds,
    ANALYZE and the audit that read them next never rewrite every page to set hint bits.
    ``binary``: ``copy_out`` writes COPY's binary format (transfer.binary_safe).

    Raises SourceStopped when the source failed (nothing was loaded), CloneFailed when the
    destination did."""
    app = f"dbclone load {secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory(prefix="dbclone-pipe-") as tmp:
        decision = os.path.join(tmp, "end")
        os.mkfifo(decision, 0o600)
        script = os.path.join(tmp, "load.sql")
        with open(script, "w", encoding="utf-8") as f:
            options = [o for o, on in (("FORMAT binary", binary),
                                        ("FREEZE", freeze_table is not None)) if on]
            load = f"\\copy {copy_in_target} FROM pstdin"
            if options:
                load += f" WITH ({', '.join(options)})"
            if freeze_table is not None:  # ONLY: an inheritance child keeps its rows
                load = f"TRUNCATE ONLY {freeze_table};\n{load}"
            f.write(f"{_settings(local=False)}SET default_transaction_read_only = off;\n"
                    f"SET statement_timeout = 0;\nBEGIN;\n{load}\n\\i '{decision}'\n")
        src_script = _source_script(snapshot_id, copy_out)
        with _processes() as procs, tempfile.TemporaryFile() as src_err, \
                tempfile.TemporaryFile() as dst_out, tempfile.TemporaryFile() as dst_err:
            src = _source_psql(source, src_err)
            procs.append(src)
            dst = subprocess.Popen(
                [client_program("psql"), "-X", "-w", "-v", "ON_ERROR_STOP=1", "-f", script,
                 "--dbname", conninfo(dest, dbname=dest_db, password=False,
                                      application_name=app)],
                stdin=src.stdout, stdout=dst_out, stderr=dst_err, env=_env(dest, app))
            procs.append(dst)
            assert src.stdout is not None and src.stdin is not None
            src.stdout.close()  # the destination psql owns the read end now
            src.stdin.write(src_script.encode("utf-8"))
            src.stdin.close()
            seen = _watch(src, watcher, app, progress)
            ok = src.wait() == 0
            _decide(decision, dst, "COMMIT" if ok else "ROLLBACK")
            dst_rc = dst.wait()
            out, err = read_all(dst_out), read_all(dst_err)
            if dst_rc != 0:
                raise CloneFailed(f"loading {copy_in_target} failed: {psql_error(err)}",
                                  hint="the half-built destination was removed; the "
                                       "previous destination is untouched")
            if not ok:
                raise SourceStopped(read_all(src_err))
            found = _COPIED.findall(out)
            rows = int(found[-1]) if found else 0
            progress(rows - seen)  # psql's own count settles what the polls saw
            return rows


def _watch(src: subprocess.Popen, watcher: psycopg.Connection, app: str,
           progress: Progress) -> int:
    """Report the destination COPY's rows while the source runs; returns those reported."""
    seen = 0
    while True:
        try:
            src.wait(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        if watcher.info.server_version < 140000:
            continue  # no pg_stat_progress_copy before PostgreSQL 14: the count comes at the end
        row = watcher.execute(
            "SELECT c.tuples_processed FROM pg_catalog.pg_stat_progress_copy c "
            "JOIN pg_catalog.pg_stat_activity a ON a.pid = c.pid "
            "WHERE a.application_name = %s", (app,)).fetchone()
        if row is not None and row[0] > seen:
            progress(int(row[0]) - seen)
            seen = int(row[0])
    return seen


def _decide(fifo: str, dst: subprocess.Popen, word: str) -> None:
    """Tell the destination psql how to end its transaction (it reads the FIFO after the
    data); if it has already stopped, there is nobody to tell."""
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if dst.poll() is not None:
                return
            time.sleep(0.01)  # still loading the last rows: not reading the FIFO yet
            continue
        try:
            os.write(fd, f"{word};\n".encode())
        finally:
            os.close(fd)
        return


@contextlib.contextmanager
def _processes() -> Iterator[list[subprocess.Popen]]:
    procs: list[subprocess.Popen] = []
    try:
        yield procs
    finally:
        stop(procs)
