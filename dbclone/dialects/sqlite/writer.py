"""The SQLite destination: built in ``<dest>.dbclone-tmp-<random>`` next to the destination,
then moved onto it with one ``os.replace`` (atomic on the same filesystem).

Order: tables (from their own CREATE text) -> rows, with foreign keys off and no trigger in
existence yet -> AUTOINCREMENT counters -> indexes, views, triggers -> foreign_key_check ->
swap. Creating indexes after the data is faster, and creating triggers after it means they
can never fire on copied rows.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import time
from collections import Counter
from pathlib import Path

from dbclone.dialects.base import (
    DatabaseURL,
    DestinationWriter,
    Finding,
    Progress,
    RowMasker,
    RowSelection,
    SourceReader,
    TableCopyResult,
)
from dbclone.dialects.sqlite.connect import SCHEMA, first_line, q
from dbclone.dialects.sqlite.reader import FORMAT_PRAGMAS, HEADER_PRAGMAS, SQLiteSourceReader
from dbclone.dialects.sqlite.subset import selected_rows
from dbclone.dialects.sqlite.types import Affinity, affinity, from_text
from dbclone.errors import CloneFailed
from dbclone.introspect.snapshot import SchemaSnapshot, Table

BATCH = 2000
_ROWID_NAMES = ("rowid", "_rowid_", "oid")
_SIDECARS = ("-journal", "-wal", "-shm")


class SQLiteWriter(DestinationWriter):
    def __init__(self, dest: Path, url: DatabaseURL | None = None) -> None:
        self.dest = dest
        self.url = url
        self.tmp: Path | None = None
        self.conn: sqlite3.Connection | None = None
        self.created: set[str] = set()  # lowercased names of tables made in create_schema
        self.virtual: list[str] = []

    # -- lifecycle -----------------------------------------------------------------------

    def prepare(self) -> None:
        parent = self.dest.parent
        if not parent.is_dir():
            raise CloneFailed(f"{parent}: the destination's directory does not exist",
                              hint="create the directory or fix destination.url")
        if self.dest.is_dir():
            raise CloneFailed(f"{self.dest}: the destination is a directory",
                              hint="point destination.url at a file name")
        self.tmp = parent / f"{self.dest.name}.dbclone-tmp-{secrets.token_hex(6)}"
        try:
            self.conn = sqlite3.connect(str(self.tmp), isolation_level=None,
                                        check_same_thread=False)
            # A crash leaves only a temp file to delete, so durability per statement buys
            # nothing; the finished file is fsynced once before the swap.
            self.conn.execute("PRAGMA journal_mode = MEMORY")
            self.conn.execute("PRAGMA synchronous = OFF")
            self.conn.execute("PRAGMA foreign_keys = OFF")
        except sqlite3.Error as exc:
            self.abort()
            raise CloneFailed(f"{self.tmp}: cannot create the temporary database: "
                              f"{first_line(exc)}",
                              hint="check that the destination directory is writable") from exc

    def create_schema(self, source: SourceReader, snapshot: SchemaSnapshot) -> None:
        src = _sqlite(source)
        conn = self._conn()
        # File format first: encoding, page size and auto_vacuum only apply to an empty file.
        for name in FORMAT_PRAGMAS:
            value = src.pragma(name)
            conn.execute(f"PRAGMA main.{name} = {_pragma_literal(value)}")
        for name in HEADER_PRAGMAS:
            conn.execute(f"PRAGMA main.{name} = {int(src.pragma(name))}")  # type: ignore[arg-type]
        kinds = src.table_kinds()
        wanted = {ref.name for ref in snapshot.tables if ref.schema == SCHEMA}
        conn.execute("BEGIN")
        for row in src.master():
            if row.type != "table" or not row.sql:
                continue
            if row.name in wanted or row.name in kinds.virtual:
                self._ddl(row.sql, f"{SCHEMA}.{row.name}", "creating the table")
                self.created.add(row.name.lower())
                if row.name in kinds.virtual:
                    self.virtual.append(row.name)
        conn.execute("COMMIT")

    def copy_table(self, source: SourceReader, table: Table, masker: RowMasker | None,
                   progress: Progress,
                   selection: RowSelection | None = None) -> TableCopyResult:
        src = _sqlite(source)
        conn = self._conn()
        started = time.monotonic()
        writable = table.writable_columns
        names = [c.name for c in writable]
        # Keep the rowid of a rowid table that has no INTEGER PRIMARY KEY: SQLite would renumber
        # it, and FTS content tables and applications may point at it.
        rowid = self._rowid_alias(src, table)
        read_cols = ([rowid] if rowid else []) + names
        insert = (f"INSERT INTO main.{q(table.ref.name)} ({', '.join(q(c) for c in read_cols)}) "
                  f"VALUES ({', '.join('?' for _ in read_cols)})")
        offset = 1 if rowid else 0
        positions = tuple(masker.masked_positions) if masker else ()
        affinities = [affinity(c.type_sql) for c in writable]
        result = TableCopyResult()
        conn.execute("BEGIN")
        # A subset reads its rows key batch by key batch, through the same masking path.
        chunks = (src.rows(table.ref.name, read_cols, BATCH) if selection is None else
                  selected_rows(src, table.ref.name, read_cols, selection.batches(),
                                selection.key_columns))
        prime = tuple(getattr(masker, "prime_positions", ()))
        for chunk in chunks:
            if masker is not None:
                if prime:  # text_redact: NER over the whole batch first
                    columns = {p: [_canonical(r[offset + p]) for r in chunk] for p in prime}
                    masker.prime(columns)  # type: ignore[attr-defined]
                chunk = [_masked(row, offset, masker, positions, affinities) for row in chunk]
            try:
                conn.executemany(insert, chunk)
            except sqlite3.Error as exc:
                raise CloneFailed(f"{table.ref}: writing rows failed: {first_line(exc)}",
                                  hint=_write_hint(exc)) from exc
            result.rows_read += len(chunk)
            result.rows_written += len(chunk)
            progress(len(chunk))
        conn.execute("COMMIT")
        result.seconds = time.monotonic() - started
        return result

    def finish(self, source: SourceReader, snapshot: SchemaSnapshot) -> list[Finding]:
        src = _sqlite(source)
        conn = self._conn()
        findings: list[Finding] = []
        conn.execute("BEGIN")
        self._copy_sequences(src)
        master = src.master()
        for row in master:
            if row.type == "index" and row.sql and row.tbl_name.lower() in self.created:
                self._ddl(row.sql, f"{SCHEMA}.{row.name}", "creating the index")
        views = self._create_views([r for r in master if r.type == "view" and r.sql])
        for row in master:
            if row.type == "trigger" and row.sql and (row.tbl_name.lower() in self.created
                                                      or row.tbl_name.lower() in views):
                self._ddl(row.sql, f"{SCHEMA}.{row.name}", "creating the trigger")
        conn.execute("COMMIT")
        if src.has_table("sqlite_stat1"):
            # Planner statistics of the copy, not the source's (sqlite_stat4 holds row samples)
            self._ddl("ANALYZE", "statistics", "running ANALYZE")
        findings.extend(self._check_foreign_keys(src))
        findings.extend(Finding("warning", f"{SCHEMA}.{name}", "virtual table created empty: "
                                "its rows are not copied (rebuild it from the copied tables)")
                        for name in self.virtual)
        if str(src.pragma("journal_mode")).lower() == "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        return findings

    def staged_url(self) -> DatabaseURL | None:
        # read while the writer's connection is still open, so the reader leaves no -wal or
        # -shm behind: the last connection to close (swap's) removes them
        if self.url is None or self.tmp is None:
            return None
        return self.url.with_database(str(self.tmp))

    def swap(self) -> None:
        assert self.tmp is not None
        if self.conn is not None:
            # One read first: a connection that has not read since the switch to WAL (the
            # audit's reader did) leaves -wal/-shm behind when it closes last.
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self.conn.close()  # a WAL-mode copy checkpoints and drops its -wal here
            self.conn = None
        for suffix in ("-journal", "-wal"):
            side = Path(str(self.dest) + suffix)
            if side.exists() and side.stat().st_size > 0:
                # A hot journal or WAL belongs to the old file; SQLite would replay it onto
                # the new one and corrupt it.
                raise CloneFailed(f"{self.dest}: the destination is open or was left with an "
                                  f"unfinished transaction ({side.name} exists)",
                                  hint="close programs using it, then rerun the clone")
        try:
            _fsync(self.tmp)
            os.replace(self.tmp, self.dest)
            with contextlib.suppress(OSError):  # not every platform can fsync a directory
                _fsync(self.dest.parent)
        except OSError as exc:
            raise CloneFailed(f"{self.dest}: moving the finished copy into place failed: "
                              f"{exc.strerror or exc.__class__.__name__}") from exc
        self.tmp = None

    def abort(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None
        if self.tmp is not None:
            for path in [self.tmp, *(Path(str(self.tmp) + s) for s in _SIDECARS)]:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            self.tmp = None

    # -- pieces --------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            raise CloneFailed(f"{self.dest}: the writer is not prepared",
                              hint="this is a bug in dbclone: prepare() runs first")
        return self.conn

    def _ddl(self, sql: str, what: str, stage: str) -> None:
        try:
            self._conn().execute(sql)
        except sqlite3.Error as exc:
            raise CloneFailed(f"{what}: {stage} failed: {first_line(exc)}",
                              hint="a custom collation, function or module the source "
                                   "relies on may be missing here") from exc

    def _rowid_alias(self, src: SQLiteSourceReader, table: Table) -> str | None:
        kinds = src.table_kinds()
        if table.ref.name in kinds.without_rowid:
            return None
        pk = table.primary_key
        if len(pk) == 1 and (c := table.column(pk[0])) and c.type_sql.upper() == "INTEGER":
            return None  # the INTEGER PRIMARY KEY is the rowid and is copied as a column
        taken = {c.name.lower() for c in table.columns}
        return next((n for n in _ROWID_NAMES if n not in taken), None)

    def _copy_sequences(self, src: SQLiteSourceReader) -> None:
        """Make sqlite_sequence exactly the source's (for the tables copied): loading rows
        moved the counters to max(rowid), the source's may be higher after deletes."""
        conn = self._conn()
        exists = conn.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'table' "
                              "AND name = 'sqlite_sequence'").fetchone()
        if not exists:
            return
        conn.execute("DELETE FROM main.sqlite_sequence")
        conn.executemany("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)",
                         [(n, s) for n, s in src.sequence_rows() if n.lower() in self.created])

    def _create_views(self, rows: list) -> set[str]:
        # SQLite resolves a view's names when it is used, not when it is created, so the
        # creation order of sqlite_master always works.
        for row in rows:
            self._ddl(row.sql, f"{SCHEMA}.{row.name}", "creating the view")
        return {row.name.lower() for row in rows}

    def _check_foreign_keys(self, src: SQLiteSourceReader) -> list[Finding]:
        found = Counter((str(t), str(p)) for t, _, p, _ in
                        self._conn().execute("PRAGMA main.foreign_key_check"))
        if not found:
            return []
        inherited = src.fk_violations()  # only asked when needed: it scans the source
        findings, new = [], []
        for (child, parent), n in sorted(found.items()):
            if inherited.get((child, parent), 0) >= n:
                findings.append(Finding(
                    "warning", f"{SCHEMA}.{child}",
                    f"{n} row(s) reference missing rows of {SCHEMA}.{parent}, "
                    "as in the source (SQLite does not enforce foreign keys unless asked)"))
            else:
                new.append(f"{SCHEMA}.{child} -> {SCHEMA}.{parent}: {n} row(s) without a parent")
        if new:
            raise CloneFailed("foreign key check failed on the copy: " + "; ".join(new),
                              hint="a masked key column must map like the key it references")
        return findings


def _sqlite(source: SourceReader) -> SQLiteSourceReader:
    if not isinstance(source, SQLiteSourceReader):
        raise CloneFailed("a SQLite destination needs a SQLite source",
                          hint="clone into a database of the same kind as the source")
    return source


def _masked(row: tuple, offset: int, masker: RowMasker, positions: tuple[int, ...],
            affinities: list[Affinity]) -> tuple:
    original = list(row[offset:])
    values = list(original)
    for i in positions:
        values[i] = _canonical(values[i])
    given = list(values)
    out = masker.mask_row(values)
    for i in positions:
        new = out[i]
        if new is None or not isinstance(new, str):
            continue
        if new == given[i]:
            out[i] = original[i]  # unchanged: keep its storage class (an INTEGER, a BLOB)
        else:
            out[i] = from_text(new, affinities[i])
    return (*row[:offset], *out)


def _canonical(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _pragma_literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _write_hint(exc: sqlite3.Error) -> str | None:
    text = str(exc)
    if "UNIQUE constraint failed" in text:
        return "a masked value collided with another; use a collision-free generator (hash)"
    if "NOT NULL constraint failed" in text:
        return "a generator returned NULL for a NOT NULL column"
    return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
