"""The MySQL/MariaDB destination: build `<dest>__dbclone_tmp_<random>`, then swap it in.

MySQL cannot rename a database, so the swap moves the tables: one RENAME TABLE statement
(atomic) carries every table from the temporary database into a fresh destination database.
Views, triggers, routines and events cannot move between databases (a table with triggers
cannot even be renamed into another one), so they are created in the temporary database
once to prove they work, and created again in the destination after the move.

Until ``swap()`` the existing destination is not touched; ``abort()`` drops the temporary
database.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pymysql
import pymysql.converters

from dbclone.dialects.base import (
    TMP_MARK,
    CopyEvents,
    CopyJob,
    DatabaseURL,
    DestinationWriter,
    Finding,
    Progress,
    RowMasker,
    RowSelection,
    SourceReader,
    TableCopyResult,
    leftover_copies,
)
from dbclone.dialects.mysql import client_pipe
from dbclone.dialects.mysql.connect import connect, error_code, q, scrub, where
from dbclone.dialects.mysql.ddl import ServerObject, defer_keys, key_name, requalify
from dbclone.dialects.mysql.masked import binary_value, bit_value
from dbclone.dialects.mysql.reader import SERVER_IDENTITY, MySQLSource
from dbclone.dialects.mysql.subset import selected_rows
from dbclone.errors import CloneFailed, ConfigError, DbcloneError
from dbclone.introspect.snapshot import Column, SchemaSnapshot, Table, TypeCategory

# Values are stored exactly as read: strict (a value that does not fit fails instead of being
# truncated), id 0 in an AUTO_INCREMENT column stays 0, zero and invalid dates the source
# holds are accepted, and backslash escapes are on (pymysql's string escaping relies on it).
LOAD_SQL_MODE = ("STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,"
                 "NO_ENGINE_SUBSTITUTION")
BATCH_ROWS = 1000
MAX_STATEMENT = 8 * 1024 * 1024
SYSTEM_DATABASES = {"mysql", "information_schema", "performance_schema", "sys"}
_ER_NO_SUCH_TABLE = 1146
_ER_VIEW_INVALID = 1356
UNTOUCHED = "the half-built copy was removed; the existing destination is untouched"
REPLACING = ("the destination was being replaced and may be incomplete; fix the cause and "
             "rerun the clone")
_PACKET_ERRORS = (1153, 1301, 2006, 2013)  # packet too big / server gone / connection lost
_CHARSET_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def temp_name(dest: str) -> str:
    """`<dest>__dbclone_tmp_<8 hex>`, cut to MySQL's 64-character limit."""
    suffix = TMP_MARK + secrets.token_hex(4)
    return dest[:64 - len(suffix)] + suffix


class MySQLWriter(DestinationWriter):
    def __init__(self, url: DatabaseURL, source_url: DatabaseURL) -> None:
        self.url = url
        self.dest = url.database
        self.tmp = temp_name(self.dest)
        self.source_db = source_url.database
        self._conn: pymysql.Connection | None = None
        self._tmp_created = False
        self._leftovers: list[Finding] = []  # copies that killed runs left (finish names them)
        self._charset = ("utf8mb4", "utf8mb4_general_ci")
        self._max_statement = MAX_STATEMENT
        self._moved: list[str] = []  # tables and sequences RENAMEd into the destination
        self._objects: list[ServerObject] = []
        self._defaults: list[tuple[str, str, str]] = []  # (table, column, default SQL)
        # secondary keys added after the rows: table -> (key definitions, their columns)
        self._deferred: dict[str, tuple[list[str], list[str]]] = {}
        self._sequences = False  # the source has sequences (MariaDB 10.3+)

    # -- connection --------------------------------------------------------------------------

    @property
    def conn(self) -> pymysql.Connection:
        if self._conn is None:
            self._conn = connect(self.url, database=None, what="destination")
            self._session()
        return self._conn

    def _session(self) -> None:
        conn = self._conn
        assert conn is not None
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,))
            cur.execute("SET SESSION time_zone = '+00:00'")
            # Constraints are declared by CREATE TABLE and hold for the copied data already;
            # with checks off, load order and FK cycles do not matter.
            cur.execute("SET SESSION foreign_key_checks = 0")
            cur.execute("SELECT @@max_allowed_packet")
            packet = int(cur.fetchone()[0])
        self._max_statement = max(64 * 1024, min(packet - 64 * 1024, MAX_STATEMENT))

    def _exec(self, sql: str, args: tuple | None = None, *, doing: str,
              names: Iterable[str] = (), hint: str = UNTOUCHED) -> list[tuple]:
        """Run one statement; a driver error becomes CloneFailed naming what was being done."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall() or ())
        except pymysql.MySQLError as exc:
            raise CloneFailed(
                f"destination {where(self.url)}: {doing} failed: "
                f"{scrub(exc, [self.dest, self.tmp, self.source_db, *names])}",
                hint=hint) from exc

    # -- DestinationWriter -------------------------------------------------------------------

    def prepare(self) -> None:
        if self.dest.lower() in SYSTEM_DATABASES:
            raise ConfigError(f"destination.url: '{self.dest}' is a system database",
                              hint="clone into a database of its own")
        _ = self.conn  # connect now: a wrong URL or password fails before anything is read

    def create_schema(self, source: SourceReader, snapshot: SchemaSnapshot) -> None:
        src = _mysql_source(source)
        # The URLs may differ (localhost vs 127.0.0.1, a DNS alias) and still name the same
        # server; the swap would then drop the source database. Ask the servers themselves.
        if self.dest == self.source_db and src.server_identity() == self._server_identity():
            raise ConfigError(
                f"destination.url: '{self.dest}' on {where(self.url)} is the source database",
                hint="point destination.url at another database name")
        charset, collation = src.database_charset()
        if not (_CHARSET_NAME.match(charset) and _CHARSET_NAME.match(collation)):
            charset, collation = "utf8mb4", "utf8mb4_general_ci"
        self._charset = (charset, collation)
        self._exec(f"CREATE DATABASE {q(self.tmp)} CHARACTER SET {charset} COLLATE {collation}",
                   doing=f"creating the temporary database {self.tmp}")
        self._tmp_created = True
        self._leftovers = self._find_leftovers()
        self._exec(f"USE {q(self.tmp)}", doing=f"using {self.tmp}")
        # Sequences first: a column default may call NEXTVAL on one (MariaDB).
        self._sequences = bool(snapshot.sequences)
        for ref in sorted(snapshot.sequences):
            rows = src.fetch(f"SHOW CREATE SEQUENCE {q(ref.schema)}.{q(ref.name)}")
            self._exec(str(rows[0][1]), doing=f"creating sequence {ref.name}", names=[ref.name])
            self._exec(f"SELECT SETVAL({q(self.tmp)}.{q(ref.name)}, "
                       f"{int(src.sequence_next_value(ref))}, 0)",
                       doing=f"setting sequence {ref.name}", names=[ref.name])
            self._moved.append(ref.name)
        for table in sorted(snapshot.tables.values(), key=lambda t: t.ref):
            # SHOW CREATE TABLE keeps everything: column types, defaults (b'0'), generated
            # expressions, keys, FKs, checks, engine, partitions and the AUTO_INCREMENT counter,
            # which explicit ids below it never lower.
            ddl = requalify(src.show_create_table(table.ref), self.source_db, self.tmp)
            ddl, keys = defer_keys(ddl, _deferrable(table, snapshot))
            if keys:
                self._deferred[table.ref.name] = (keys, list(table.column_names))
            self._exec(ddl, doing=f"creating table {table.ref.name}",
                       names=[table.ref.name, *table.column_names])
            self._moved.append(table.ref.name)
            # The server checks (and RENAME TABLE does not rewrite) a qualified name in a
            # default, e.g. NEXTVAL(`src`.`seq`): it points at the temporary database now
            # and is re-pointed at the destination after the move.
            marker = q(self.source_db)
            self._defaults.extend((table.ref.name, c.name, c.default) for c in table.columns
                                  if c.default is not None and marker in c.default)

    def copy_table(self, source: SourceReader, table: Table, masker: RowMasker | None,
                   progress: Progress,
                   selection: RowSelection | None = None) -> TableCopyResult:
        src = _mysql_source(source)
        started = time.monotonic()
        columns = table.writable_columns
        result = TableCopyResult()
        if not columns:
            return result
        # Unmasked rows come from a source that already satisfies every unique key, so the
        # checks can go; masked values might collide and must meet a real check, never slip
        # into a unique index unchecked.
        self._exec(f"SET SESSION unique_checks = {0 if masker is None else 1}",
                   doing="setting unique_checks")
        encode = _RowEncoder(table, columns, masker)
        prefix = (f"INSERT INTO {q(self.tmp)}.{q(table.ref.name)} "
                  f"({', '.join(q(c.name) for c in columns)}) VALUES ").encode()
        pending: list[bytes] = []
        size = len(prefix)

        def flush() -> None:
            nonlocal size
            first = result.rows_written + 1
            self._insert(table, prefix + b",".join(pending), first, len(pending))
            result.rows_written += len(pending)
            n = len(pending)
            pending.clear()
            size = len(prefix)
            progress(n)

        # A subset reads its rows key batch by key batch, into the same encoder and batches.
        stream = (src.stream_rows(table, columns, BATCH_ROWS) if selection is None else
                  selected_rows(src, table, columns, selection.batches(),
                                selection.key_columns))
        prime = tuple(getattr(masker, "prime_positions", ()))
        try:
            for rows in stream:
                if prime:  # text_redact: NER over the whole batch first
                    masker.prime({p: [_to_text(r[p]) for r in rows]  # type: ignore[union-attr]
                                  for p in prime})
                for row in rows:
                    result.rows_read += 1
                    lit = encode(row, result.rows_read)
                    if pending and (len(pending) >= BATCH_ROWS
                                    or size + len(lit) + 1 > self._max_statement):
                        flush()
                    pending.append(lit)
                    size += len(lit) + 1
            if pending:
                flush()
        finally:
            stream.close()
        result.seconds = time.monotonic() - started
        return result

    def copy_tables(self, source: SourceReader, jobs: Sequence[CopyJob],
                    events: CopyEvents) -> None:
        """A full clone goes through the command-line client when it can (client_pipe.py),
        every table in its one snapshot; a subset, or a table the client's text cannot
        carry, keeps the whole run on pymysql and the reader's snapshot."""
        src = _mysql_source(source)
        todo = [job for job in jobs if job.table.writable_columns]
        # Sequences are set from the reader's snapshot (create_schema): the rows must come
        # from that snapshot too, not from the client's later one.
        program = client_pipe.client_program()
        if (program is None or not client_pipe.usable(src.url, self.url, todo)
                or self._sequences or not self._local_infile()
                or not client_pipe.probe(program, src.url)
                or not client_pipe.probe(program, self.url)):
            super().copy_tables(source, jobs, events)
            return
        client_pipe.ClientCopy(program, src.url, self.url, self.tmp, LOAD_SQL_MODE,
                               self._index_names).run(todo, events)
        for job in jobs:
            if not job.table.writable_columns:
                events.started(job.table)
                events.finished(job.table, TableCopyResult())

    def _local_infile(self) -> bool:
        rows = self._exec("SELECT @@local_infile", doing="reading local_infile")
        return bool(rows) and str(rows[0][0]) in ("1", "ON")

    def _insert(self, table: Table, stmt: bytes, first: int, n: int) -> None:
        try:
            with self.conn.cursor() as cur:
                cur.execute(stmt)
        except pymysql.MySQLError as exc:
            names = [table.ref.name, *table.column_names, *self._index_names(table),
                     *(fk.name for fk in table.foreign_keys), *(c.name for c in table.checks),
                     "max_allowed_packet"]
            hint = UNTOUCHED
            if error_code(exc) in _PACKET_ERRORS:
                hint += ("; a row may be larger than the destination's max_allowed_packet: "
                         "raise it (SET GLOBAL max_allowed_packet = ...)")
            raise CloneFailed(
                f"{table.ref}: writing rows {first}-{first + n - 1} to the destination failed: "
                f"{scrub(exc, names)}", hint=hint) from exc

    def _index_names(self, table: Table) -> list[str]:
        """Index names of the table being written, so an error may name its key."""
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
                            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                            (self.tmp, table.ref.name))
                names = [str(r[0]) for r in cur.fetchall()]
        except pymysql.MySQLError:
            names = ["PRIMARY"]
        return names + [f"{table.ref.name}.{n}" for n in names]  # MySQL 8 says 'tbl.key'

    def _find_leftovers(self) -> list[Finding]:
        """Half-built copies of this destination that killed runs left (see
        dbclone.dialects.base.leftover_copies)."""
        head = self.tmp[:-8]
        with self.conn.cursor() as cur:
            cur.execute("SELECT s.SCHEMA_NAME FROM information_schema.SCHEMATA s WHERE "
                        "LEFT(s.SCHEMA_NAME, %s) = %s AND NOT EXISTS (SELECT 1 FROM "
                        "information_schema.PROCESSLIST p WHERE p.DB = s.SCHEMA_NAME)",
                        (len(head), head))
            names = [r[0] for r in cur.fetchall()]
        return leftover_copies(names, self.tmp, self.dest, lambda n: f"DROP DATABASE {q(n)};")

    def finish(self, source: SourceReader, snapshot: SchemaSnapshot) -> list[Finding]:
        src = _mysql_source(source)
        for name, (keys, columns) in sorted(self._deferred.items()):
            # one ALTER per table: InnoDB reads the rows once and sorts each new index; a
            # duplicate is refused here as it would have been on insert (values scrubbed)
            self._exec(f"ALTER TABLE {q(self.tmp)}.{q(name)} "
                       + ", ".join(f"ADD {k}" for k in keys),
                       doing=f"building the keys of {self.source_db}.{name}",
                       names=[name, *columns, *(key_name(k) for k in keys),
                              *(f"{name}.{key_name(k)}" for k in keys)],
                       hint="a duplicate: a unique key holds one value twice; "
                            "a masked column in it needs a unique-safe generator; " + UNTOUCHED)
        self._objects = src.server_objects(snapshot)
        # Create routines, views and triggers in the temporary database once, after the data
        # (so no trigger fires during the load): anything that cannot be created fails here,
        # while the existing destination is still untouched. Events would start running, so
        # they are only created in the destination.
        self._exec(f"USE {q(self.tmp)}", doing=f"using {self.tmp}")
        trial = [o for o in self._objects if o.kind != "EVENT"]
        self._create_all(trial, self.tmp)
        for obj in trial:
            if obj.kind == "TRIGGER":  # RENAME TABLE refuses to move a table with triggers
                self._exec(f"DROP TRIGGER {q(self.tmp)}.{q(obj.name)}",
                           doing=f"dropping trial trigger {obj.name}", names=[obj.name])
        findings = [Finding("warning", f"{self.source_db}.{table}", note)
                    for table, note in src.table_notes()]
        findings.extend(self._leftovers)
        events = [o.name for o in self._objects if o.kind == "EVENT"]
        if events:
            findings.append(Finding(
                "info", self.dest,
                f"events {', '.join(events)} are copied; they run on the destination when its "
                "event_scheduler is ON"))
        return findings

    def staged_url(self) -> DatabaseURL | None:
        return self.url.with_database(self.tmp) if self._tmp_created else None

    def swap(self) -> None:
        dest, tmp = q(self.dest), q(self.tmp)
        charset, collation = self._charset
        # From here on the existing destination is replaced.
        self._exec(f"DROP DATABASE IF EXISTS {dest}", doing=f"dropping the old {self.dest}")
        self._exec(f"CREATE DATABASE {dest} CHARACTER SET {charset} COLLATE {collation}",
                   doing=f"creating {self.dest}", hint=REPLACING)
        if self._moved:
            moves = ", ".join(f"{tmp}.{q(n)} TO {dest}.{q(n)}" for n in self._moved)
            self._exec(f"RENAME TABLE {moves}", doing=f"moving the tables into {self.dest}",
                       names=self._moved, hint=REPLACING)
        for table, column, default in self._defaults:
            self._exec(f"ALTER TABLE {dest}.{q(table)} ALTER COLUMN {q(column)} SET DEFAULT "
                       f"({requalify(default, self.source_db, self.dest)})",
                       doing=f"setting the default of {table}.{column}", names=[table, column],
                       hint=REPLACING)
        self._exec(f"USE {dest}", doing=f"using {self.dest}", hint=REPLACING)
        self._create_all(self._objects, self.dest, hint=REPLACING)
        self._exec(f"DROP DATABASE {tmp}", doing=f"dropping {self.tmp}", hint=REPLACING)
        self._tmp_created = False
        self._close()

    def abort(self) -> None:
        if self._tmp_created:
            sql = f"DROP DATABASE IF EXISTS {q(self.tmp)}"
            try:
                with self.conn.cursor() as cur:
                    cur.execute(sql)
            except (pymysql.MySQLError, DbcloneError, OSError):
                # The connection may have died mid-statement (Ctrl-C): try a fresh one.
                self._drop_connection()
                try:
                    with self.conn.cursor() as cur:
                        cur.execute(sql)
                except (pymysql.MySQLError, DbcloneError, OSError):
                    pass  # nothing more to do; the original error is what the user needs
            self._tmp_created = False
        self._close()

    # -- helpers -----------------------------------------------------------------------------

    def _server_identity(self) -> tuple:
        return tuple(self._exec(SERVER_IDENTITY, doing="reading the server identity")[0])

    def _create_all(self, objects: list[ServerObject], target: str,
                    hint: str = UNTOUCHED) -> None:
        """Create objects in order. A view whose input view is not there yet (the dependency
        scan missed one) is retried after the others, until a pass makes no progress."""
        pending = list(objects)
        while pending:
            failed: list[tuple[ServerObject, CloneFailed]] = []
            for obj in pending:
                try:
                    self._create(obj, target, hint)
                except CloneFailed as exc:
                    code = error_code(exc.__cause__) if exc.__cause__ else None
                    if obj.kind == "VIEW" and code in (_ER_NO_SUCH_TABLE, _ER_VIEW_INVALID):
                        failed.append((obj, exc))
                    else:
                        raise
            if len(failed) == len(pending):
                raise failed[0][1]
            pending = [obj for obj, _ in failed]

    def _create(self, obj: ServerObject, target: str, hint: str) -> None:
        sql = obj.sql_for(self.source_db, target)
        if obj.sql_mode is not None:
            self._exec("SET SESSION sql_mode = %s", (obj.sql_mode,), doing="setting sql_mode")
        if obj.time_zone is not None:
            self._exec("SET SESSION time_zone = %s", (obj.time_zone,),
                       doing="setting time_zone")
        try:
            self._exec(sql, doing=f"creating {obj}", names=[obj.name], hint=hint)
        finally:
            self._exec("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,), doing="setting sql_mode")
            self._exec("SET SESSION time_zone = '+00:00'", doing="setting time_zone")

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except pymysql.MySQLError:
                conn._force_close()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn._force_close()


def _deferrable(table: Table, snapshot: SchemaSnapshot) -> Callable[[tuple[str, ...]], bool]:
    """Which secondary keys of ``table`` may be added after the rows: none that a foreign key
    may need while the tables are created (its own FK columns as the key's leading columns,
    or the columns another table's FK references). MariaDB would manage (it makes an index
    for the FK and drops it when ours comes); MySQL 8 may refuse an FK whose parent lacks
    the key, so these stay in CREATE TABLE."""
    needed = [fk.columns for fk in table.foreign_keys]
    needed += [fk.ref_columns for other in snapshot.tables.values()
               for fk in other.foreign_keys if fk.ref_table == table.ref]

    def ok(columns: tuple[str, ...]) -> bool:
        return not any(tuple(columns[:len(c)]) == tuple(c) for c in needed)

    return ok


def _mysql_source(source: SourceReader) -> MySQLSource:
    if not isinstance(source, MySQLSource):
        raise TypeError("the MySQL writer reads from a MySQL source")
    return source


class _RowEncoder:
    """One source row -> the bytes of one ``(v1, v2, ...)`` VALUES tuple.

    Values arrive as the server's text (str) or bytes (binary and BIT columns). BIT is written
    as an integer (b'1' -> 1, b'10100101' -> 165): a string '1' would be 8 bits wide. Binary
    values are written as X'..' hex literals, byte-exact, so empty stays empty and NULL NULL.

    Masked positions get the canonical text form the masker expects: str or None; BIT as the
    decimal integer, binary as ``\\x`` + hex (as PostgreSQL writes bytea). What the masker
    returns is turned back the same way.
    """

    def __init__(self, table: Table, columns: tuple[Column, ...],
                 masker: RowMasker | None) -> None:
        self.table = table
        self.columns = columns
        self.masker = masker
        self.bits = [i for i, c in enumerate(columns) if c.category is TypeCategory.BIT]
        self.masked = tuple(masker.masked_positions) if masker else ()
        self.kinds = [c.category for c in columns]

    def __call__(self, row: tuple, number: int) -> bytes:
        values: list[Any] = list(row)
        for i in self.bits:
            if values[i] is not None:
                values[i] = int.from_bytes(values[i], "big")
        if self.masker is not None:
            for i in self.masked:
                values[i] = _to_text(values[i])
            values = self.masker.mask_row(values)
            for i in self.masked:
                values[i] = self._from_text(values[i], i, number)
        return ("(" + ",".join(map(_literal, values)) + ")").encode("utf-8")

    def _from_text(self, value: Any, i: int, number: int) -> Any:
        if value is None or not isinstance(value, str):
            return value
        kind = self.kinds[i]
        if kind is TypeCategory.BIT:
            return bit_value(value, self.table, self.columns[i].name, number)
        if kind is TypeCategory.BINARY:
            return binary_value(value)
        return value


def _to_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return "\\x" + value.hex()
    return str(value)


_escape_string: Callable[[str], str] = pymysql.converters.escape_string


def _literal(value: Any) -> str:
    """An SQL literal for one value. Backslash escaping is right because LOAD_SQL_MODE has no
    NO_BACKSLASH_ESCAPES."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + _escape_string(value) + "'"
    if isinstance(value, (bytes, bytearray)):
        return "X'" + value.hex() + "'"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + _escape_string(str(value)) + "'"
