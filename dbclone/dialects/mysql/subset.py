"""MySQL/MariaDB queries of the subset, on the reader's READ ONLY consistent snapshot.

Values travel as the server's text (the reader's connection decodes nothing), and go back as
literals: ``col IN (...)`` or ``(a, b) IN ((...), (...))``. Every result is streamed with an
unbuffered cursor and read to its end before the next query (one connection, one result).
MySQL has no row address, so a table needs a primary key or a UNIQUE NOT NULL key to be
subset (otherwise: passthrough or exclude).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pymysql
import pymysql.cursors

from dbclone.dialects.base import SourceReader
from dbclone.dialects.mysql.connect import q, qt, scrub
from dbclone.dialects.mysql.reader import MySQLSource, select_expr
from dbclone.errors import CloneFailed, PlanError
from dbclone.introspect.snapshot import Column, Table

FETCH = 5000
_QUOTED = re.compile(r"'([^']*)'")
# where in the statement a server message places a name: "Unknown column 'x' in 'WHERE'"
# (MariaDB 10.11) or "... in 'where clause'" (older MariaDB and MySQL)
_CLAUSES = ("WHERE", "SELECT", "ON", "HAVING", "ORDER BY", "GROUP BY", "where clause",
            "field list", "on clause", "having clause", "order clause", "group statement")


class MySQLSubsetSource:
    def __init__(self, reader: MySQLSource) -> None:
        self.reader = reader

    def pseudo_key(self, table: Table) -> str | None:
        return None

    def count(self, table: Table, where: str | None) -> int:
        stmt = f"SELECT COUNT(*) FROM {qt(table.ref)}{_where(where)}"
        try:
            with self.reader.conn.cursor() as cur:
                cur.execute(stmt)
                row = cur.fetchone()
        except pymysql.MySQLError as exc:
            if where is None:
                raise CloneFailed(f"{table.ref}: counting rows failed: "
                                  f"{scrub(exc, [table.ref.name, *table.column_names])}") from exc
            raise PlanError(f"subset: where on {table.ref} failed on the source: "
                            f"{where_message(exc, where, stmt, table)}",
                            hint="write the condition in this database's SQL, using the "
                                 "table's column names") from exc
        return int(row[0]) if row else 0

    def sample(self, table: Table, columns: Sequence[str], key: Sequence[str],
               where: str | None, seed: int, n: int,
               available: int | None = None) -> Iterator[list[tuple]]:
        if n <= 0:
            return iter(())
        keys = ", ".join(q(c) for c in key)
        # MD5 of the seed and the key: the same seed picks the same rows, in every run
        stmt = (f"SELECT {_select(columns)} FROM {qt(table.ref)}{_where(where)} "
                f"ORDER BY MD5(CONCAT_WS('|', {int(seed)}, {keys})), {keys} LIMIT {int(n)}")
        return self._stream(stmt, None, table)

    def rows_where(self, table: Table, columns: Sequence[str],
                   where: str | None) -> Iterator[list[tuple]]:
        return self._stream(f"SELECT {_select(columns)} FROM {qt(table.ref)}{_where(where)}",
                            None, table)

    def rows_matching(self, table: Table, columns: Sequence[str], match: Sequence[str],
                      values: Sequence[tuple]) -> Iterator[list[tuple]]:
        cond, args = match_condition(match, values)
        return self._stream(f"SELECT {_select(columns)} FROM {qt(table.ref)} WHERE {cond}",
                            args, table)

    def count_matching(self, table: Table, match: Sequence[str],
                       values: Sequence[tuple]) -> int:
        cond, args = match_condition(match, values)
        try:
            with self.reader.conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM {qt(table.ref)} WHERE {cond}", args)
                row = cur.fetchone()
        except pymysql.MySQLError as exc:
            raise CloneFailed(f"{table.ref}: counting the subset's rows failed: "
                              f"{scrub(exc, [table.ref.name, *table.column_names])}",
                              hint="nothing was written; check the source server") from exc
        return int(row[0]) if row else 0

    def distinct(self, table: Table, columns: Sequence[str]) -> Iterator[list[tuple]]:
        not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in columns)
        return self._stream(f"SELECT DISTINCT {_select(columns)} FROM {qt(table.ref)} "
                            f"WHERE {not_null}", None, table)

    def _stream(self, stmt: str, args: tuple | list | None,
                table: Table) -> Iterator[list[tuple]]:
        conn = self.reader.conn
        cur = conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(stmt, args)
            while rows := cur.fetchmany(FETCH):
                yield [tuple(r) for r in rows]
        except pymysql.MySQLError as exc:
            raise CloneFailed(f"{table.ref}: selecting the subset's rows failed: "
                              f"{scrub(exc, [table.ref.name, *table.column_names])}",
                              hint="nothing was written; check the source server") from exc
        finally:
            cur.close()  # reads what is left: the engine always reads to the end anyway


def match_condition(match: Sequence[str], values: Sequence[tuple]) -> tuple[str, list]:
    if len(match) == 1:
        return (f"{q(match[0])} IN ({', '.join('%s' for _ in values)})",
                [v[0] for v in values])
    row = "(" + ", ".join("%s" for _ in match) + ")"
    cond = (f"({', '.join(q(c) for c in match)}) IN "
            f"({', '.join(row for _ in values)})")
    return cond, [x for v in values for x in v]


def selected_rows(reader: MySQLSource, table: Table, columns: Sequence[Column],
                  batches: Iterator[list[tuple]], key: Sequence[str]) -> Iterator[list[tuple]]:
    """The selected rows, read as the writer reads a whole table (same column expressions),
    one key batch at a time, streamed: at most FETCH rows are in memory, however many rows
    a batch of keys matches (a leaf child's batch is parent keys, and a parent may have
    many children)."""
    select = ", ".join(select_expr(c) for c in columns)
    for batch in batches:
        cond, args = match_condition(key, batch)
        cur = reader.conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(f"SELECT {select} FROM {qt(table.ref)} WHERE {cond}", args)
            while rows := cur.fetchmany(FETCH):
                yield list(rows)
        except pymysql.MySQLError as exc:
            raise CloneFailed(f"{table.ref}: reading the source failed: "
                              f"{scrub(exc, [table.ref.name, *table.column_names])}",
                              hint="check the source server and rerun") from exc
        finally:
            cur.close()


def where_message(exc: BaseException, where: str, stmt: str, table: Table) -> str:
    """The server's message about the user's own condition: quoted text that is part of the
    condition, a name, the server's name of a clause (``in 'where clause'``) or the piece of
    the statement a syntax error is ``near`` is kept, anything else (a value from a row) is
    not."""
    text = str(exc.args[1]) if len(getattr(exc, "args", ())) >= 2 else str(exc)
    text = text.splitlines()[0] if text else exc.__class__.__name__
    names = {table.ref.name, *table.column_names, *_CLAUSES}

    def keep(m: re.Match[str]) -> str:
        inner = m.group(1)
        near = text[:m.start()].endswith("near ") and inner in stmt
        return m.group(0) if inner in names or inner in where or near else "'<value>'"

    return _QUOTED.sub(keep, text)[:300]


def _select(columns: Sequence[str]) -> str:
    return ", ".join(q(c) for c in columns)


def _where(where: str | None) -> str:
    # The user's own SQL, by design. Statements carrying it are run without parameters, so
    # a '%' in it (LIKE 'a%') reaches the server as written.
    return f" WHERE ({where})" if where else ""


def subset_source(reader: SourceReader) -> MySQLSubsetSource:
    if not isinstance(reader, MySQLSource):
        raise TypeError("the MySQL subset needs a MySQL source")
    return MySQLSubsetSource(reader)
