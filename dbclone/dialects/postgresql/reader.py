"""The source side: one read-only REPEATABLE READ transaction, its snapshot exported so that
pg_dump (``--snapshot``) sees exactly the rows COPY reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dbclone.dialects.base import DatabaseURL, SourceReader
from dbclone.dialects.postgresql import introspect as ins
from dbclone.dialects.postgresql.connect import apply_session_settings, connect, where
from dbclone.dialects.postgresql.errors import safe_message
from dbclone.errors import CloneFailed, ConnectionFailed
from dbclone.introspect.snapshot import SchemaSnapshot, Table, TableRef


@dataclass(frozen=True)
class DatabaseLocale:
    encoding: str
    collate: str | None
    ctype: str | None
    provider: str  # "c" (libc) or "i" (ICU)
    icu_locale: str | None


class PgSourceReader(SourceReader):

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.conn = connect(url, application_name="dbclone (source, read-only)")
        try:
            apply_session_settings(self.conn)
            # The transaction stays open while the destination builds indexes and refreshes
            # views; a server-side idle timeout must not end the snapshot half-way.
            self.conn.execute("SET idle_in_transaction_session_timeout = 0")
            self.conn.execute("SET statement_timeout = 0")
            self.conn.autocommit = False
            self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self.conn.read_only = True
            # The first statement opens the transaction; the snapshot it exports stays
            # importable for as long as this transaction is open.
            self.snapshot_id: str = self.conn.execute(
                "SELECT pg_catalog.pg_export_snapshot()").fetchone()[0]
        except psycopg.Error as exc:
            self.conn.close()
            raise ConnectionFailed(
                f"cannot open a read-only snapshot on {where(url)}/{url.database}: "
                f"{safe_message(exc)}",
                hint="the source must be a primary or a hot standby that allows "
                     "pg_export_snapshot()") from exc
        self.schemas: list[str] = []
        self.all_schemas: list[str] = []

    # -- introspection ------------------------------------------------------------------

    def introspect(self, schemas: Sequence[str] | None,
                   exclude_schemas: Sequence[str] = ()) -> SchemaSnapshot:
        try:
            self.all_schemas = ins.user_schemas(self.conn)
            self.schemas = ins.choose_schemas(self.conn, schemas, exclude_schemas)
            return ins.read_snapshot(self.conn, self.url.database, self.schemas)
        except psycopg.Error as exc:
            raise CloneFailed(f"reading the schema of {self.url.database} failed: "
                              f"{safe_message(exc)}",
                              hint="nothing was written; check the connection and that the "
                                   "source user can read the catalogs") from exc

    def dump_filters(self) -> list[str]:
        """pg_dump arguments selecting the chosen schemas.

        Excluding the others (``-N``) rather than including these (``-n``) keeps pg_dump's
        whole-database behaviour: extensions are dumped and ``public`` is not re-created.
        """
        chosen = set(self.schemas)
        return [f"--exclude-schema={pattern_literal(s)}" for s in self.all_schemas
                if s not in chosen]

    def extension_schemas(self) -> list[str]:
        rows = self.conn.execute("""
            SELECT DISTINCT n.nspname FROM pg_catalog.pg_extension e
            JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace ORDER BY 1""").fetchall()
        return [r[0] for r in rows]

    def database_locale(self) -> DatabaseLocale:
        row = self.conn.execute("""
            SELECT pg_catalog.pg_encoding_to_char(encoding), datcollate, datctype,
                   datlocprovider::text, daticulocale
            FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()
        """).fetchone()
        return DatabaseLocale(*row)

    def database_settings(self) -> list[str]:
        """``ALTER DATABASE ... SET`` entries of the source database, as ``name=value``."""
        rows = self.conn.execute("""
            SELECT unnest(s.setconfig) FROM pg_catalog.pg_db_role_setting s
            JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
            WHERE d.datname = pg_catalog.current_database() AND s.setrole = 0""").fetchall()
        return [r[0] for r in rows]

    # -- data -----------------------------------------------------------------------------

    @contextmanager
    def count_rows(self, table: Table) -> int:
        row = self.conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            own_rows(table))).fetchone()
        return int(row[0])

    def column_stats(self, table: Table, column: str, kind: str,
                     limit: int) -> list[tuple[str | None, int]]:
        t = own_rows(table)
        c = sql.Identifier(column)
        if kind == "distinct":
            q = sql.SQL("SELECT NULL, count(DISTINCT {c}) FROM {t}").format(c=c, t=t)
        elif kind == "frequencies":
            q = sql.SQL("SELECT {c}::text, count(*) FROM {t} WHERE {c} IS NOT NULL "
                        "GROUP BY 1 ORDER BY 2 DESC LIMIT {n}").format(
                c=c, t=t, n=sql.Literal(int(limit)))
        elif kind == "sample":
            q = sql.SQL("SELECT {c}::text, 1 FROM {t} WHERE {c} IS NOT NULL "
                        "ORDER BY random() LIMIT {n}").format(c=c, t=t, n=sql.Literal(int(limit)))
        else:
            raise NotImplementedError(kind)
        try:
            return [(r[0], int(r[1])) for r in self.conn.execute(q).fetchall()]
        except psycopg.Error as exc:
            raise CloneFailed(f"{table.ref}.{column}: reading column facts failed: "
                              f"{safe_message(exc)}") from exc

    def scan_rows(self, table: Table, columns: Sequence[str], *, limit: int | None = None,
                  sample: bool = False) -> Iterator[tuple[str | None, ...]]:
        q = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            own_rows(table))
        pct = _sample_percent(table.row_estimate, limit) if sample else None
        if pct is not None:
            # A big table: read a few random pages, not the whole table sorted by random()
            # (seconds on ten million rows). REPEATABLE: the same pages in every run, so the
            # gate's verdict on a column does not flip between runs.
            # The pages come in table order: shuffle their rows (by a hash of the row's place,
            # again the same in every run) before taking the first ones.
            q += sql.SQL(" TABLESAMPLE SYSTEM ({}) REPEATABLE (7) "
                         "ORDER BY pg_catalog.hashtext(ctid::text)").format(sql.Literal(pct))
        elif sample:
            q += sql.SQL(" ORDER BY random()")
        if limit is not None:
            q += sql.SQL(" LIMIT {}").format(sql.Literal(int(limit)))
        yield from self._stream(table, q)

    def _stream(self, table: Table, q: sql.Composed) -> Iterator[tuple[str | None, ...]]:
        try:
            # a server-side cursor streams: the client holds one batch, never the table
            with self.conn.cursor(name="dbclone_scan") as cur:
                cur.itersize = 2000
                cur.execute(q)
                yield from cur
        except psycopg.Error as exc:
            raise CloneFailed(f"{table.ref}: reading rows failed: {safe_message(exc)}") from exc

    def sample_pages(self, table: Table, columns: Sequence[str],
                     limit: int) -> Iterator[tuple[str | None, ...]]:
        # Whole random pages, a few more than needed, in table order: no sort. REPEATABLE:
        # the same pages in every run.
        pct = min(100.0, round(150.0 * limit / max(1, table.row_estimate or 1), 4))
        q = sql.SQL("SELECT {} FROM {} TABLESAMPLE SYSTEM ({}) REPEATABLE (7) LIMIT {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            own_rows(table), sql.Literal(max(pct, 0.001)),
            sql.Literal(int(limit)))
        yield from self._stream(table, q)

    def rows_by_key(self, table: Table, columns: Sequence[str], key_columns: Sequence[str],
                    keys: Sequence[tuple[str, ...]]) -> Iterator[tuple[str | None, ...]]:
        # the keys' text cast to the columns' own types, so the key's index finds the rows
        # (comparing col::text read every row of the table)
        q = sql.SQL("SELECT {} FROM {} WHERE ({}) IN (SELECT * FROM unnest({}))").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            own_rows(table),
            sql.SQL(", ").join(sql.Identifier(c) for c in key_columns),
            sql.SQL(", ").join(sql.SQL("%s::{}[]").format(column_type(table, c))
                               for c in key_columns))
        try:
            for start in range(0, len(keys), _KEY_BATCH):
                batch = keys[start:start + _KEY_BATCH]
                yield from self.conn.execute(q, [[k[i] for k in batch]
                                                 for i in range(len(key_columns))])
        except psycopg.Error as exc:
            raise CloneFailed(f"{table.ref}: reading rows failed: {safe_message(exc)}") from exc

    def unreadable_tables(self, tables: Sequence[Table]) -> list[tuple[TableRef, str]]:
        if not tables:
            return []
        refs = [t.ref for t in tables]
        denied = self.conn.execute("""
            SELECT s.schema, s.name FROM unnest(%s::text[], %s::text[]) AS s(schema, name)
            WHERE NOT pg_catalog.has_table_privilege(
                pg_catalog.format('%%I.%%I', s.schema, s.name), 'SELECT')
            ORDER BY 1, 2""", ([r.schema for r in refs], [r.name for r in refs])).fetchall()
        out = []
        by_ref = {t.ref: t for t in tables}
        for schema, name in denied:
            ref = TableRef(schema, name)
            cols = [c.name for c in by_ref[ref].columns]
            # SELECT granted column by column is enough when it covers every column
            rows = self.conn.execute("""
                SELECT c FROM unnest(%s::text[]) AS c
                WHERE NOT pg_catalog.has_column_privilege(
                    pg_catalog.format('%%I.%%I', %s::text, %s::text), c, 'SELECT')""",
                (cols, schema, name)).fetchall()
            missing = [r[0] for r in rows]
            if len(missing) == len(cols):
                out.append((ref, "the table"))
            elif missing:
                out.append((ref, "columns " + ", ".join(missing)))
        return out

    def check_sequences_readable(self, refs: Sequence[TableRef]) -> None:
        """Fail before any data moves when a sequence's value cannot be read (case 10)."""
        if not refs:
            return
        rows = self.conn.execute("""
            SELECT s.schema, s.name FROM unnest(%s::text[], %s::text[]) AS s(schema, name)
            WHERE NOT pg_catalog.has_sequence_privilege(
                pg_catalog.format('%%I.%%I', s.schema, s.name), 'SELECT')
            ORDER BY 1, 2""", ([r.schema for r in refs], [r.name for r in refs])).fetchall()
        if rows:
            names = ", ".join(str(TableRef(*r)) for r in rows)
            noun = "sequences" if len(rows) > 1 else "sequence"
            raise CloneFailed(f"cannot read {noun} {names} in the source: permission denied",
                              hint="grant SELECT on these sequences to the source user; "
                                   "without their values the clone would hand out ids that "
                                   "already exist")

    def sequence_state(self, ref: TableRef) -> tuple[int, bool]:
        """(last_value, is_called), read in the transaction. Raises CloneFailed when the
        sequence cannot be read: a silent default would hand out ids that already exist."""
        try:
            row = self.conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
                sql.Identifier(ref.schema, ref.name))).fetchone()
        except psycopg.Error as exc:
            raise CloneFailed(f"cannot read sequence {ref} in the source: {safe_message(exc)}",
                              hint=f"grant SELECT on sequence {ref} to the source user") from exc
        if row is None or row[0] is None:
            raise CloneFailed(f"sequence {ref} returned no value in the source",
                              hint=f"grant SELECT on sequence {ref} to the source user")
        return int(row[0]), bool(row[1])

    def close(self) -> None:
        if self.conn.closed:
            return
        try:
            self.conn.rollback()
        except psycopg.Error:
            pass  # e.g. still inside an interrupted COPY: closing ends it anyway
        finally:
            self.conn.close()


_KEY_BATCH = 5000  # keys per query of rows_by_key


def column_type(table: Table, column: str) -> sql.Composable:
    """The column's declared type, to cast the text of its values back to it."""
    col = table.column(column)
    assert col is not None, column
    # format_type() text, e.g. "character varying(40)" or "public.mood": SQL as it stands
    return sql.SQL(col.type_sql)


def own_rows(table: Table) -> sql.Composed:
    """The table's own rows, as COPY reads them: an inheritance parent without its
    children's rows (ONLY); a partitioned table with its partitions' (they are its rows)."""
    ident = sql.Identifier(table.ref.schema, table.ref.name)
    return sql.SQL("{}").format(ident) if table.kind == "partitioned" else \
        sql.SQL("ONLY {}").format(ident)


def copy_out_statement(ref: TableRef, cols: Sequence[str], kind: str) -> sql.Composed:
    col_list = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
    target = sql.Identifier(ref.schema, ref.name)
    if kind == "partitioned":
        # COPY cannot read a partitioned table directly; a query through the root reads
        # every partition's rows exactly once.
        return sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(col_list, target)
    return sql.SQL("COPY {} ({}) TO STDOUT").format(target, col_list)


def table_pages(conn: psycopg.Connection, tables: Sequence[Table]) -> dict[TableRef, int]:
    """Heap pages per table (a partitioned table: its partitions'), as the server has them."""
    if not tables:
        return {}
    rows = conn.execute("""
        SELECT t.schema, t.name, CASE WHEN c.relkind = 'p' THEN (
            SELECT coalesce(sum(pg_catalog.pg_relation_size(p.relid)), 0)
            FROM pg_catalog.pg_partition_tree(c.oid) p)
          ELSE pg_catalog.pg_relation_size(c.oid) END
          / pg_catalog.current_setting('block_size')::bigint
        FROM unnest(%s::text[], %s::text[]) AS t(schema, name)
        JOIN pg_catalog.pg_class c
          ON c.oid = pg_catalog.format('%%I.%%I', t.schema, t.name)::regclass""",
        ([t.ref.schema for t in tables], [t.ref.name for t in tables])).fetchall()
    return {TableRef(schema, name): int(pages) for schema, name, pages in rows}


def pattern_literal(name: str) -> str:
    """A pg_dump name pattern matching exactly ``name``: inside double quotes, * ? . and
    regex characters are literal; a double quote is written twice."""
    return '"' + name.replace('"', '""') + '"'


def _sample_percent(rows: int | None, limit: int | None) -> float | None:
    """The TABLESAMPLE percentage that yields about ten times ``limit`` rows of a table of
    ``rows``, or None when the table is small enough to sort (or its size is unknown)."""
    if not rows or not limit or rows <= 50 * limit:
        return None
    return round(max(0.001, 100.0 * 10 * limit / rows), 4)
