"""The MySQL/MariaDB source: one read-only connection inside one consistent snapshot.

Everything the writer needs from the source goes through here: the snapshot, SHOW CREATE
text, sequence positions and the rows themselves, streamed with an unbuffered cursor.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import pymysql
import pymysql.cursors

from dbclone.dialects.base import DatabaseURL, SourceReader
from dbclone.dialects.mysql.connect import connect, error_code, q, qt, scrub, where
from dbclone.dialects.mysql.ddl import ServerObject, strip_definer, views_in_dependency_order
from dbclone.dialects.mysql.introspect import CatalogMissing, introspect_database, is_mariadb
from dbclone.errors import CloneFailed, ConfigError, ConnectionFailed
from dbclone.introspect.snapshot import Column, SchemaSnapshot, Table, TableRef, TypeCategory

# A session mode with nothing that changes how values or SHOW CREATE text come out
# (no ANSI_QUOTES, no PAD_CHAR_TO_FULL_LENGTH, no NO_FIELD_OPTIONS...).
READ_SQL_MODE = "NO_ENGINE_SUBSTITUTION"
# What tells two connections apart as the same server, whatever host name the URLs use.
SERVER_IDENTITY = "SELECT @@hostname, @@port, @@datadir, @@server_id"
SAMPLE_POINTS = 20  # random starting points in a big table's key, for a sample of its rows
_ER_NO_SUCH_TABLE = 1146
_ER_UNKNOWN_TABLE = 1109
_ER_UNKNOWN_SYSTEM_VARIABLE = 1193
_ER_TABLEACCESS_DENIED = 1142
_ER_COLUMNACCESS_DENIED = 1143


class MySQLSource(SourceReader):
    """A read-only view of one database, as of the moment it was opened."""

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.database = url.database
        self._conn: pymysql.Connection | None = connect(url, database=url.database,
                                                        what="source")
        self.version = ""
        self._snapshot: SchemaSnapshot | None = None
        try:
            self._begin()
        except pymysql.MySQLError as exc:
            self.close()
            raise ConnectionFailed(f"source: cannot start a snapshot on {where(url)}: "
                                   f"{scrub(exc, ())}",
                                   hint="the user needs SELECT on the database") from exc

    # -- session -----------------------------------------------------------------------------

    def _begin(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            self.version = str(cur.fetchone()[0])
            cur.execute("SET SESSION sql_mode = %s", (READ_SQL_MODE,))
            # TIMESTAMP values come out in UTC and go back in UTC: no DST gaps, no shifts.
            cur.execute("SET SESSION time_zone = '+00:00'")
            cur.execute("SET SESSION sql_quote_show_create = 1")
            # The writer may be slow (masking, a remote destination) while the server waits
            # to send the next rows of an unbuffered read: don't let it give up.
            cur.execute("SET SESSION net_write_timeout = 3600")
            timeout_var = ("max_statement_time" if is_mariadb(self.version)
                           else "max_execution_time")
            try:
                cur.execute(f"SET SESSION {timeout_var} = 0")
            except pymysql.MySQLError as exc:
                if error_code(exc) != _ER_UNKNOWN_SYSTEM_VARIABLE:
                    raise
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # One snapshot for the whole run (InnoDB): every table is read as of this moment.
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")

    @property
    def conn(self) -> pymysql.Connection:
        if self._conn is None:
            raise CloneFailed("source connection is closed (an earlier step failed)",
                              hint="rerun the clone")
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.rollback()
                conn.close()
            except pymysql.MySQLError:
                conn._force_close()  # nothing else ends a broken connection

    def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """A small catalog query, fully fetched. Never used for table data."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, tuple(args) or None)
                return list(cur.fetchall())
        except pymysql.MySQLError as exc:
            if error_code(exc) in (_ER_NO_SUCH_TABLE, _ER_UNKNOWN_TABLE) \
                    and "information_schema" in sql:
                raise CatalogMissing(str(exc)) from exc
            raise CloneFailed(f"source: reading the catalog of '{self.database}' failed: "
                              f"{scrub(exc, (self.database,))}",
                              hint="check the clone user's privileges on the source") from exc

    # -- introspection -----------------------------------------------------------------------

    def introspect(self, schemas: Sequence[str] | None,
                   exclude_schemas: Sequence[str] = ()) -> SchemaSnapshot:
        db = self.database
        if schemas is not None and list(schemas) != [db]:
            raise ConfigError(
                f"source.schemas: MySQL has one schema per URL, the database '{db}'",
                hint=f"remove source.schemas or set it to [{db}]")
        if db in exclude_schemas:
            raise ConfigError(f"source.exclude_schemas: '{db}' is the source database itself",
                              hint="remove it from exclude_schemas")
        self._snapshot = introspect_database(self.fetch, db, self.version)
        return self._snapshot

    def database_charset(self) -> tuple[str, str]:
        rows = self.fetch("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                          "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                          (self.database,))
        if not rows:
            return "utf8mb4", "utf8mb4_general_ci"
        return str(rows[0][0]), str(rows[0][1])

    def table_notes(self) -> list[tuple[str, str]]:
        """(table, note) for tables the clone cannot copy completely as of the snapshot."""
        notes = []
        for name, ttype, engine in self.fetch(
                "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s AND (TABLE_TYPE = 'SYSTEM VERSIONED' OR "
                "(TABLE_TYPE = 'BASE TABLE' AND ENGINE NOT IN ('InnoDB', 'ROCKSDB'))) "
                "ORDER BY TABLE_NAME", (self.database,)):
            if str(ttype) == "SYSTEM VERSIONED":
                notes.append((str(name), "system-versioned: the current rows are copied, the "
                                         "history is not"))
            else:
                notes.append((str(name), f"engine {engine} has no snapshots: its rows were "
                                         "read as they were at that moment"))
        return notes

    def server_identity(self) -> tuple:
        return tuple(self.fetch(SERVER_IDENTITY)[0])

    # -- samples and scans (init, leak audit) --------------------------------------------------

    def scan_rows(self, table: Table, columns: Sequence[str], *, limit: int | None = None,
                  sample: bool = False) -> Iterator[tuple[str | None, ...]]:
        sql = f"SELECT {', '.join(self._exprs(table, columns))} FROM {qt(table.ref)}"
        if sample and (by_key := self._key_ranges_sample(table, columns, limit)) is not None:
            # One range at a time, in key order: a UNION ALL of them came back in another
            # order now and then, and the sample must be the same in every run. A range
            # with fewer rows than its share leaves the rest to the ranges after it.
            left = int(limit or 0)
            for i, statement in enumerate(by_key):
                share = -(-left // (len(by_key) - i))
                for row in self._text_rows(table, columns, f"{statement} LIMIT {share}",
                                           None):
                    yield row
                    left -= 1
                if not left:
                    return
            return
        if sample:
            sql += " ORDER BY RAND()"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        yield from self._text_rows(table, columns, sql, None)

    def _key_ranges_sample(self, table: Table, columns: Sequence[str],
                           limit: int | None) -> list[str] | None:
        """For a big table with a one-column integer primary key: the rows just after
        SAMPLE_POINTS random points of the key's range, each range up to the next point (the
        same points in every run, so the gate's verdict does not flip), read through the
        key's index; the statements, in order, without their LIMIT. ORDER BY RAND() sorts
        the whole table: 5 s on 3M rows. None when the table is small enough to sort, or has
        no such key."""
        if not limit or not table.row_estimate or table.row_estimate <= 50 * limit:
            return None
        key = table.column(table.primary_key[0]) if len(table.primary_key) == 1 else None
        if key is None or key.category is not TypeCategory.INTEGER:
            return None
        lo, hi = self.fetch(f"SELECT MIN({q(key.name)}), MAX({q(key.name)}) "
                            f"FROM {qt(table.ref)}")[0]
        if lo is None:
            return None
        pick = random.Random(str(table.ref))
        points = sorted({pick.randint(int(lo), int(hi)) for _ in range(SAMPLE_POINTS)})
        cols = ", ".join(self._exprs(table, columns))
        k = q(key.name)
        ranges = []
        for i, start in enumerate(points):
            upto = f" AND {k} < {points[i + 1]}" if i + 1 < len(points) else ""
            ranges.append(f"SELECT {cols} FROM {qt(table.ref)} WHERE {k} >= {start}{upto} "
                          f"ORDER BY {k}")
        # last, the keys before the first point: what the ranges lacked, if they did
        ranges.append(f"SELECT {cols} FROM {qt(table.ref)} WHERE {k} < {points[0]} "
                      f"ORDER BY {k}")
        return ranges

    def rows_by_key(self, table: Table, columns: Sequence[str], key_columns: Sequence[str],
                    keys: Sequence[tuple[str, ...]]) -> Iterator[tuple[str | None, ...]]:
        # %% : with arguments, pymysql formats the whole statement (a name may hold a %)
        head = (f"SELECT {', '.join(self._exprs(table, columns))} FROM {qt(table.ref)} "
                f"WHERE ({', '.join(self._exprs(table, key_columns))}) IN ").replace("%", "%%")
        one = "(" + ", ".join(["%s"] * len(key_columns)) + ")"
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            yield from self._text_rows(table, columns, head + "(" + ", ".join([one] * len(
                batch)) + ")", [v for key in batch for v in key])

    @staticmethod
    def _exprs(table: Table, columns: Sequence[str]) -> list[str]:
        return [select_expr(c) if (c := table.column(n)) is not None else q(n) for n in columns]

    def _text_rows(self, table: Table, columns: Sequence[str], sql: str,
                   args: Sequence[str] | None) -> Iterator[tuple[str | None, ...]]:
        cols = [table.column(n) for n in columns]
        bits = [c is not None and c.category is TypeCategory.BIT for c in cols]
        cur = self.conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(sql, args)
            while rows := cur.fetchmany(1000):
                for row in rows:
                    yield tuple(str(int.from_bytes(v, "big")) if b and v is not None
                                else _text(v) for v, b in zip(row, bits, strict=True))
        except pymysql.MySQLError as exc:
            raise CloneFailed(f"{table.ref}: reading rows failed: "
                              f"{scrub(exc, [table.ref.name, *columns])}") from exc
        finally:
            cur.close()  # reads any rest off the wire: callers read to the end anyway

    def unreadable_tables(self, tables: Sequence[Table]) -> list[tuple[TableRef, str]]:
        out = []
        for table in tables:
            cols = ", ".join(q(c.name) for c in table.columns) or "1"
            try:
                with self.conn.cursor() as cur:
                    cur.execute(f"SELECT {cols} FROM {qt(table.ref)} LIMIT 0")
            except pymysql.MySQLError as exc:
                if error_code(exc) not in (_ER_TABLEACCESS_DENIED, _ER_COLUMNACCESS_DENIED):
                    raise CloneFailed(f"{table.ref}: checking read access failed: "
                                      f"{scrub(exc, [table.ref.name])}") from exc
                what = ("the table" if error_code(exc) == _ER_TABLEACCESS_DENIED
                        else "some of its columns")
                out.append((table.ref, what))
        return out

    def show_create_table(self, ref: TableRef) -> str:
        rows = self.fetch(f"SHOW CREATE TABLE {qt(ref)}")
        return str(rows[0][1])

    def sequence_next_value(self, ref: TableRef) -> int:
        """The value the next NEXTVAL would return after a restart (cached values are lost
        then too): MariaDB keeps it as next_not_cached_value."""
        rows = self.fetch(f"SELECT next_not_cached_value FROM {qt(ref)}")
        return int(rows[0][0])

    def server_objects(self, snapshot: SchemaSnapshot) -> list[ServerObject]:
        """Routines, views, triggers and events in the order they must be created:
        routines first (views and triggers may call them), views after the views they read,
        triggers in their firing order (creating them in ACTION_ORDER reproduces it)."""
        db = self.database
        objects: list[ServerObject] = []
        for rtype, name in self.fetch(
                "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
                "WHERE ROUTINE_SCHEMA = %s AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE') "
                "ORDER BY ROUTINE_TYPE, ROUTINE_NAME", (db,)):
            row = self.fetch(f"SHOW CREATE {rtype} {q(db)}.{q(str(name))}")
            objects.append(self._object(str(rtype), str(name), row, text_col=2, mode_col=1))
        for ref in views_in_dependency_order(snapshot.views):
            row = self.fetch(f"SHOW CREATE VIEW {qt(ref)}")
            objects.append(self._object("VIEW", ref.name, row, text_col=1))
        for table in sorted(snapshot.tables.values(), key=lambda t: t.ref):
            for trig in table.triggers:
                row = self.fetch(f"SHOW CREATE TRIGGER {q(db)}.{q(trig.name)}")
                objects.append(self._object("TRIGGER", trig.name, row, text_col=2,
                                            mode_col=1))
        try:
            events = self.fetch("SELECT EVENT_NAME FROM information_schema.EVENTS "
                                "WHERE EVENT_SCHEMA = %s ORDER BY EVENT_NAME", (db,))
        except CatalogMissing:
            events = []
        for (name,) in events:
            row = self.fetch(f"SHOW CREATE EVENT {q(db)}.{q(str(name))}")
            obj = self._object("EVENT", str(name), row, text_col=3, mode_col=1)
            objects.append(ServerObject(obj.kind, obj.name, obj.create_sql, obj.sql_mode,
                                        time_zone=str(row[0][2])))
        return objects

    def _object(self, kind: str, name: str, rows: list[tuple], *, text_col: int,
                mode_col: int | None = None) -> ServerObject:
        text = rows[0][text_col] if rows else None
        if text is None:
            # SHOW CREATE returns NULL for the body when the user may not see it: never
            # clone a routine or trigger as something it is not.
            raise CloneFailed(f"source: cannot read the definition of {kind.lower()} "
                              f"{self.database}.{name}",
                              hint="grant the clone user SHOW VIEW / TRIGGER / SELECT on "
                                   "mysql.proc (or SHOW_ROUTINE) on the source")
        mode = None if mode_col is None else str(rows[0][mode_col])
        return ServerObject(kind, name, strip_definer(str(text)), mode)

    def column_stats(self, table: Table, column: str, kind: str,
                     limit: int) -> list[tuple[str | None, int]]:
        t, c = qt(table.ref), q(column)
        if kind == "distinct":
            sql = f"SELECT NULL, COUNT(DISTINCT {c}) FROM {t}"
        elif kind == "frequencies":
            sql = (f"SELECT {c}, COUNT(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} "
                   f"ORDER BY COUNT(*) DESC LIMIT {int(limit)}")
        elif kind == "sample":
            sql = (f"SELECT {c}, 1 FROM {t} WHERE {c} IS NOT NULL ORDER BY RAND() "
                   f"LIMIT {int(limit)}")
        else:
            raise NotImplementedError(kind)
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql)
                got = list(cur.fetchall())
        except pymysql.MySQLError as exc:
            raise CloneFailed(f"{table.ref}.{column}: reading column facts failed: "
                              f"{scrub(exc, (table.ref.name, column))}") from exc
        return [(None if v is None else v.decode("utf-8", "surrogateescape")
                 if isinstance(v, bytes) else str(v), int(n)) for v, n in got]

    # -- rows --------------------------------------------------------------------------------

    def stream_rows(self, table: Table, columns: Sequence[Column],
                    batch_size: int = 1000) -> Iterator[list[tuple]]:
        """The table's rows in batches, through an unbuffered cursor: the server sends rows as
        they are read, so memory holds one batch, never the table."""
        sql = f"SELECT {', '.join(select_expr(c) for c in columns)} FROM {qt(table.ref)}"
        cur = self.conn.cursor(pymysql.cursors.SSCursor)
        finished = False
        try:
            cur.execute(sql)
            while rows := cur.fetchmany(batch_size):
                yield rows
            finished = True
        except pymysql.MySQLError as exc:
            raise CloneFailed(f"{table.ref}: reading the source failed: "
                              f"{scrub(exc, [table.ref.name, *(c.name for c in columns)])}",
                              hint="check the source server and rerun") from exc
        finally:
            if finished:
                cur.close()
            else:
                # Stopped early (a write failed, Ctrl-C): closing the cursor would read the
                # rest of the table off the wire first. Drop the connection instead; the run
                # is over anyway.
                conn, self._conn = self._conn, None
                result = getattr(cur, "_result", None)
                if result is not None:  # or pymysql drains it on garbage collection
                    result.unbuffered_active = False
                if conn is not None:
                    conn._force_close()


def _text(value: Any) -> str | None:
    """The canonical text of a value as pymysql returns it (binary as \\x + hex)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return "\\x" + bytes(value).hex()
    return str(value)


def select_expr(column: Column) -> str:
    """How a column is read so that writing the text back stores the same value.

    FLOAT's text form has 6 significant digits (16777215 reads as 16777200); read as DOUBLE,
    whose text form is the shortest exact one, and the FLOAT column rounds it back exactly.
    """
    name = q(column.name)
    if column.category is TypeCategory.NUMERIC and column.type_sql.lower().startswith("float"):
        return f"({name} + 0e0)"
    return name
