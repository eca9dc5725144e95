"""The subset's key store: a scratch SQLite file in a private temporary directory.

Why a local file rather than tables in the destination: the source is read-only (a READ
ONLY transaction cannot even create temporary tables), ``dbclone plan`` must select without
a destination, the lookups stay off the network, and one implementation serves every
dialect. SQLite keeps a bounded page cache, so memory stays flat however many keys there are.
The directory is removed by :meth:`SQLiteKeyStore.close` (and values never leave it).

Columns are declared without a type, so every value is stored exactly as given (int, str,
bytes, float) and compares as the source handed it over.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

CACHE_KIB = 64 * 1024  # page cache cap: 64 MiB
_CHUNK = 400  # values per IN (...) when asking which keys exist


class SQLiteKeyStore:
    def __init__(self, directory: str | Path | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dbclone-keys-", dir=directory))
        self.conn = sqlite3.connect(str(self.dir / "keys.db"), isolation_level=None,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("PRAGMA temp_store = FILE")
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.width: dict[int, int] = {}
        self.key_width: dict[int, int] = {}

    def after_fork(self) -> None:
        """In a forked worker, before it reads: a read-only connection of its own. SQLite
        forbids using a connection across fork(); the inherited one is kept, never used
        (closing it here could disturb the parent's), and the worker never removes the
        directory (it exits without close())."""
        self._inherited = self.conn
        self.conn = sqlite3.connect(f"file:{self.dir / 'keys.db'}?mode=ro", uri=True,
                                    isolation_level=None, check_same_thread=False)
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")

    def create(self, tid: int, width: int, key_width: int,
               lookups: Sequence[tuple[int, ...]]) -> None:
        cols = ", ".join(f"c{i}" for i in range(width))
        key = ", ".join(f"c{i}" for i in range(key_width))
        self.conn.execute(f"CREATE TABLE t{tid} ({cols}, up INTEGER NOT NULL, down INTEGER)")
        self.conn.execute(f"CREATE UNIQUE INDEX t{tid}_key ON t{tid} ({key})")
        self.conn.execute(f"CREATE INDEX t{tid}_up ON t{tid} (up)")
        self.conn.execute(f"CREATE INDEX t{tid}_down ON t{tid} (down)")
        for n, pos in enumerate(lookups):
            self.conn.execute(f"CREATE INDEX t{tid}_l{n} ON t{tid} "
                              f"({', '.join(f'c{p}' for p in pos)})")
        self.width[tid] = width
        self.key_width[tid] = key_width

    def add(self, tid: int, rows: Sequence[tuple], gen: int, down: bool) -> None:
        if not rows:
            return
        width, kw = self.width[tid], self.key_width[tid]
        cols = ", ".join(f"c{i}" for i in range(width))
        key = ", ".join(f"c{i}" for i in range(kw))
        marks = ", ".join("?" for _ in range(width + 2))
        sql = (f"INSERT INTO t{tid} ({cols}, up, down) VALUES ({marks}) "
               f"ON CONFLICT ({key}) DO ")
        sql += ("UPDATE SET down = excluded.down WHERE down IS NULL" if down else "NOTHING")
        flag = gen if down else None
        self.conn.execute("BEGIN")
        try:
            self.conn.executemany(sql, [(*r, gen, flag) for r in rows])
        finally:
            self.conn.execute("COMMIT")

    def existing(self, tid: int, positions: tuple[int, ...],
                 values: Sequence[tuple]) -> set[tuple]:
        out: set[tuple] = set()
        cols = ", ".join(f"c{p}" for p in positions)
        for i in range(0, len(values), _CHUNK):
            part = values[i:i + _CHUNK]
            if len(positions) == 1:
                sql = (f"SELECT {cols} FROM t{tid} WHERE {cols} IN "
                       f"({', '.join('?' for _ in part)})")
                args: list = [v[0] for v in part]
            else:
                row = "(" + ", ".join("?" for _ in positions) + ")"
                sql = (f"SELECT {cols} FROM t{tid} WHERE ({cols}) IN "
                       f"(VALUES {', '.join(row for _ in part)})")
                args = [x for v in part for x in v]
            out.update(tuple(r) for r in self.conn.execute(sql, args))
        return out

    def pending(self, tid: int, kind: str, gen: int, batch: int) -> Iterator[list[tuple]]:
        column = "up" if kind == "up" else "down"
        cols = ", ".join(f"c{i}" for i in range(self.width[tid]))
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT rowid, {cols} FROM t{tid} WHERE {column} = ? AND rowid > ? "
                f"ORDER BY rowid LIMIT ?", (gen, last, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [tuple(r[1:]) for r in rows]

    def has_generation(self, tid: int, gen: int) -> bool:
        return self.conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM t{tid} WHERE up = ?) OR "
            f"EXISTS (SELECT 1 FROM t{tid} WHERE down = ?)", (gen, gen)).fetchone()[0] == 1

    def count(self, tid: int) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM t{tid}").fetchone()[0])

    def keys(self, tid: int, key_width: int, batch: int, *,
             followed_only: bool = False) -> Iterator[list[tuple]]:
        cols = ", ".join(f"c{i}" for i in range(key_width))
        only = " AND down IS NOT NULL" if followed_only else ""
        last = 0
        while True:
            rows = self.conn.execute(
                f"SELECT rowid, {cols} FROM t{tid} WHERE rowid > ?{only} ORDER BY rowid "
                "LIMIT ?",
                (last, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [tuple(r[1:]) for r in rows]

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
