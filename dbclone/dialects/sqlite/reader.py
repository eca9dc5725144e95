"""The SQLite source: a read-only connection holding one read transaction for the whole run."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from dbclone.dialects.base import SourceReader
from dbclone.dialects.sqlite import introspect as catalog
from dbclone.dialects.sqlite.connect import SCHEMA, first_line, open_read_only, q
from dbclone.errors import CloneFailed, ConfigError, ConnectionFailed, did_you_mean
from dbclone.introspect.snapshot import SchemaSnapshot, Table

# Carried over to the copy: file format settings (must be set before the first table) and the
# two header fields applications use for their own bookkeeping (migration version, file id).
FORMAT_PRAGMAS = ("encoding", "page_size", "auto_vacuum")
HEADER_PRAGMAS = ("user_version", "application_id")


class SQLiteSourceReader(SourceReader):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_read_only(path)
        try:
            # A deferred BEGIN takes its snapshot at the first read, so read at once: every
            # later query (catalog and rows) sees the file as of this moment.
            self.conn.execute("BEGIN")
            self.conn.execute("SELECT count(*) FROM main.sqlite_master").fetchone()
        except sqlite3.Error as exc:
            self.conn.close()
            raise ConnectionFailed(f"{path}: cannot start a read transaction: "
                                   f"{first_line(exc)}",
                                   hint="another process may hold an exclusive lock") from exc
        self._master: list[catalog.MasterRow] | None = None
        self._kinds: catalog.TableKinds | None = None

    # -- catalog -------------------------------------------------------------------------

    def introspect(self, schemas: Sequence[str] | None,
                   exclude_schemas: Sequence[str] = ()) -> SchemaSnapshot:
        if schemas is not None and list(schemas) != [SCHEMA]:
            other = [s for s in schemas if s != SCHEMA]
            hint = did_you_mean(other[0], [SCHEMA]) if other else None
            raise ConfigError(f"{self.path}: a SQLite source has one schema, '{SCHEMA}' "
                              f"(asked for: {', '.join(schemas) or 'none'})",
                              hint=hint or f"remove source.schemas or write [{SCHEMA}]")
        if SCHEMA in exclude_schemas:
            raise ConfigError(f"{self.path}: source.exclude_schemas excludes '{SCHEMA}', "
                              "the only schema of a SQLite file",
                              hint="remove it from exclude_schemas")
        try:
            return catalog.snapshot(self.conn, str(self.path))
        except sqlite3.Error as exc:
            raise ConnectionFailed(f"{self.path}: reading the catalog failed: "
                                   f"{first_line(exc)}") from exc

    def master(self) -> list[catalog.MasterRow]:
        if self._master is None:
            self._master = catalog.master(self.conn)
        return self._master

    def table_kinds(self) -> catalog.TableKinds:
        if self._kinds is None:
            self._kinds = catalog.table_kinds(self.conn, self.master())
        return self._kinds

    def pragma(self, name: str) -> object:
        # PRAGMA names cannot be bound as parameters; ``name`` is one of our constants.
        return self.conn.execute(f"PRAGMA main.{name}").fetchone()[0]

    def has_table(self, name: str) -> bool:
        return any(r.type == "table" and r.name.lower() == name.lower() for r in self.master())

    def sequence_rows(self) -> list[tuple[str, int]]:
        """The AUTOINCREMENT counters."""
        if not self.has_table("sqlite_sequence"):
            return []
        return [(str(n), s) for n, s in
                self.conn.execute("SELECT name, seq FROM main.sqlite_sequence ORDER BY rowid")]

    def fk_violations(self) -> Counter[tuple[str, str]]:
        """(child table, parent table) -> rows whose FK has no parent, in the source itself."""
        return Counter((str(t), str(p)) for t, _, p, _ in
                       self.conn.execute("PRAGMA main.foreign_key_check"))

    # -- rows ----------------------------------------------------------------------------

    def rows(self, table: str, columns: Sequence[str], batch: int) -> Iterator[list[tuple]]:
        """The rows of ``table``, ``batch`` at a time: the cursor streams, nothing piles up."""
        cols = ", ".join(q(c) for c in columns)
        try:
            cur = self.conn.execute(f"SELECT {cols} FROM main.{q(table)}")
            while chunk := cur.fetchmany(batch):
                yield chunk
        except sqlite3.Error as exc:
            raise _read_failed(f"main.{table}", exc) from exc

    def column_stats(self, table: Table, column: str, kind: str,
                     limit: int) -> list[tuple[str | None, int]]:
        t, c = f"main.{q(table.ref.name)}", q(column)
        if kind == "distinct":
            sql = f"SELECT NULL, count(DISTINCT {c}) FROM {t}"
        elif kind == "frequencies":
            sql = (f"SELECT {c}, count(*) FROM {t} WHERE {c} IS NOT NULL GROUP BY {c} "
                   f"ORDER BY count(*) DESC LIMIT {int(limit)}")
        elif kind == "sample":
            sql = (f"SELECT {c}, 1 FROM {t} WHERE {c} IS NOT NULL ORDER BY random() "
                   f"LIMIT {int(limit)}")
        else:
            raise NotImplementedError(kind)
        try:
            return [(None if v is None else str(v), int(n)) for v, n in self.conn.execute(sql)]
        except sqlite3.Error as exc:
            raise CloneFailed(f"{table.ref}.{column}: reading column facts failed: "
                              f"{first_line(exc)}") from exc

    def scan_rows(self, table: Table, columns: Sequence[str], *, limit: int | None = None,
                  sample: bool = False) -> Iterator[tuple[str | None, ...]]:
        sql = f"SELECT {', '.join(q(c) for c in columns)} FROM main.{q(table.ref.name)}"
        if sample:
            sql += " ORDER BY random()"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        yield from self._text_rows(table, sql, ())

    def rows_by_key(self, table: Table, columns: Sequence[str], key_columns: Sequence[str],
                    keys: Sequence[tuple[str, ...]]) -> Iterator[tuple[str | None, ...]]:
        # compared as text: the keys are canonical text, whatever the column's affinity
        head = (f"SELECT {', '.join(q(c) for c in columns)} FROM main.{q(table.ref.name)} "
                f"WHERE ({', '.join(f'CAST({q(c)} AS TEXT)' for c in key_columns)}) IN ")
        one = "(" + ", ".join(["?"] * len(key_columns)) + ")"
        step = max(1, 900 // len(key_columns))  # under SQLite's default limit of variables
        for start in range(0, len(keys), step):
            batch = keys[start:start + step]
            yield from self._text_rows(table, head + "(VALUES " + ", ".join(
                [one] * len(batch)) + ")", [v for key in batch for v in key])

    def _text_rows(self, table: Table, sql: str,
                   args: Sequence[str]) -> Iterator[tuple[str | None, ...]]:
        try:
            cur = self.conn.execute(sql, args)
            while chunk := cur.fetchmany(2000):
                for row in chunk:
                    # BLOBs as the writer hands them to maskers: decoded text
                    yield tuple(None if v is None else v.decode("utf-8", "replace")
                                if isinstance(v, bytes) else str(v) for v in row)
        except sqlite3.Error as exc:
            raise _read_failed(str(table.ref), exc) from exc

    def close(self) -> None:
        try:
            self.conn.rollback()  # ends the read transaction; nothing was written
        finally:
            self.conn.close()


def _read_failed(table: str, exc: sqlite3.Error) -> CloneFailed:
    """A failed read of rows, with the table and a hint; the message never holds a value."""
    hint = "a TEXT value is not valid UTF-8" if "decode" in str(exc).lower() else None
    return CloneFailed(f"{table}: reading rows failed: {first_line(exc)}", hint=hint)
