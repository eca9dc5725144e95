"""SQLite queries of the subset, in the reader's read transaction on a read-only file.

Values are SQLite's own (int, str, bytes, float) and go back as parameters. A table without
a key is tracked by its rowid. Sampling orders by a hash of the seed and the key, computed by
a function registered on the connection (SQLite has none built in); registering a function
writes nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence

from dbclone.dialects.base import SourceReader
from dbclone.dialects.sqlite.connect import SCHEMA, first_line, q
from dbclone.dialects.sqlite.reader import SQLiteSourceReader
from dbclone.errors import CloneFailed, PlanError
from dbclone.introspect.snapshot import Table

FETCH = 5000
MAX_VARIABLES = 30000  # below SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32)
_ROWID_NAMES = ("rowid", "_rowid_", "oid")
_HASH = "dbclone_subset_hash"


def _hash(*parts: object) -> int:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(repr(p).encode("utf-8", "surrogateescape"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "big", signed=True)


class SQLiteSubsetSource:
    def __init__(self, reader: SQLiteSourceReader) -> None:
        self.reader = reader
        self.conn = reader.conn
        self.conn.create_function(_HASH, -1, _hash, deterministic=True)

    def pseudo_key(self, table: Table) -> str | None:
        if table.ref.name in self.reader.table_kinds().without_rowid:
            return None
        taken = {c.name.lower() for c in table.columns}
        return next((n for n in _ROWID_NAMES if n not in taken), None)

    def count(self, table: Table, where: str | None) -> int:
        try:
            row = self.conn.execute(f"SELECT count(*) FROM {_t(table)}{_where(where)}").fetchone()
        except sqlite3.Error as exc:
            if where is None:
                raise CloneFailed(f"{table.ref}: counting rows failed: "
                                  f"{first_line(exc)}") from exc
            raise PlanError(f"subset: where on {table.ref} failed on the source: "
                            f"{first_line(exc)}",
                            hint="write the condition in SQLite's SQL, using the table's "
                                 "column names") from exc
        return int(row[0])

    def sample(self, table: Table, columns: Sequence[str], key: Sequence[str],
               where: str | None, seed: int, n: int,
               available: int | None = None) -> Iterator[list[tuple]]:
        if n <= 0:
            return iter(())
        keys = ", ".join(q(c) for c in key)
        sql = (f"SELECT {_select(columns)} FROM {_t(table)}{_where(where)} "
               f"ORDER BY {_HASH}({int(seed)}, {keys}), {keys} LIMIT {int(n)}")
        return self._stream(sql, (), table)

    def rows_where(self, table: Table, columns: Sequence[str],
                   where: str | None) -> Iterator[list[tuple]]:
        return self._stream(f"SELECT {_select(columns)} FROM {_t(table)}{_where(where)}", (),
                            table)

    def rows_matching(self, table: Table, columns: Sequence[str], match: Sequence[str],
                      values: Sequence[tuple]) -> Iterator[list[tuple]]:
        step = max(1, MAX_VARIABLES // max(1, len(match)))
        for i in range(0, len(values), step):
            cond, args = match_condition(match, values[i:i + step])
            yield from self._stream(f"SELECT {_select(columns)} FROM {_t(table)} WHERE {cond}",
                                    args, table)

    def count_matching(self, table: Table, match: Sequence[str],
                       values: Sequence[tuple]) -> int:
        step = max(1, MAX_VARIABLES // max(1, len(match)))
        total = 0
        for i in range(0, len(values), step):
            cond, args = match_condition(match, values[i:i + step])
            try:
                row = self.conn.execute(f"SELECT count(*) FROM {_t(table)} WHERE {cond}",
                                        args).fetchone()
            except sqlite3.Error as exc:
                raise CloneFailed(f"{table.ref}: counting the subset's rows failed: "
                                  f"{first_line(exc)}") from exc
            total += int(row[0])
        return total

    def distinct(self, table: Table, columns: Sequence[str]) -> Iterator[list[tuple]]:
        not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in columns)
        return self._stream(f"SELECT DISTINCT {_select(columns)} FROM {_t(table)} "
                            f"WHERE {not_null}", (), table)

    def _stream(self, sql: str, args: Sequence, table: Table) -> Iterator[list[tuple]]:
        try:
            cur = self.conn.execute(sql, tuple(args))
            while rows := cur.fetchmany(FETCH):
                yield [tuple(r) for r in rows]
        except sqlite3.Error as exc:
            raise CloneFailed(f"{table.ref}: selecting the subset's rows failed: "
                              f"{first_line(exc)}") from exc


def match_condition(match: Sequence[str], values: Sequence[tuple]) -> tuple[str, list]:
    if len(match) == 1:
        return f"{q(match[0])} IN ({', '.join('?' for _ in values)})", [v[0] for v in values]
    row = "(" + ", ".join("?" for _ in match) + ")"
    return (f"({', '.join(q(c) for c in match)}) IN (VALUES {', '.join(row for _ in values)})",
            [x for v in values for x in v])


def selected_rows(reader: SQLiteSourceReader, table: str, columns: Sequence[str],
                  batches: Iterator[list[tuple]], key: Sequence[str]) -> Iterator[list[tuple]]:
    """The selected rows of ``table`` (``columns`` as the writer reads them), one key batch
    at a time."""
    cols = ", ".join(q(c) for c in columns)
    step = max(1, MAX_VARIABLES // max(1, len(key)))
    for batch in batches:
        for i in range(0, len(batch), step):
            cond, args = match_condition(key, batch[i:i + step])
            try:
                cur = reader.conn.execute(
                    f"SELECT {cols} FROM {SCHEMA}.{q(table)} WHERE {cond}", args)
                # streamed: a batch of parent keys may match many child rows
                while rows := cur.fetchmany(FETCH):
                    yield rows
            except sqlite3.Error as exc:
                raise CloneFailed(f"{SCHEMA}.{table}: reading rows failed: "
                                  f"{first_line(exc)}") from exc


def _t(table: Table) -> str:
    return f"{SCHEMA}.{q(table.ref.name)}"


def _select(columns: Sequence[str]) -> str:
    return ", ".join(q(c) for c in columns)


def _where(where: str | None) -> str:
    return f" WHERE ({where})" if where else ""  # the user's own SQL, by design


def subset_source(reader: SourceReader) -> SQLiteSubsetSource:
    if not isinstance(reader, SQLiteSourceReader):
        raise TypeError("the SQLite subset needs a SQLite source")
    return SQLiteSubsetSource(reader)
