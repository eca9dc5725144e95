"""What the selection needs from a source database and from a key store.

Each dialect implements :class:`SubsetSource` in ``dbclone/dialects/<dialect>/subset.py`` (the
SQL differs); the algorithm in :mod:`dbclone.subset.engine` only talks to these interfaces,
so it is the same for every database, and unit tests drive it with plain Python data.

Values travel in the dialect's *key form*: whatever :meth:`SubsetSource.rows_matching` reads
back exactly (PostgreSQL: the text form, cast back to the column's type; MySQL: the server's
text; SQLite: the stored value). They are only ever compared with values of the same source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from dbclone.introspect.snapshot import Table

Batch = list[tuple]


class SubsetSource(Protocol):
    """Read-only queries on the source, inside the run's one snapshot."""

    def pseudo_key(self, table: Table) -> str | None:
        """The row address usable as a key when a table has no primary key (``ctid``,
        ``rowid``), or None when the database has none."""
        ...

    def count(self, table: Table, where: str | None) -> int:
        """Rows of ``table`` matching ``where`` (all without one). A ``where`` the database
        rejects raises PlanError with the database's message and the table."""
        ...

    def sample(self, table: Table, columns: Sequence[str], key: Sequence[str],
               where: str | None, seed: int, n: int,
               available: int | None = None) -> Iterator[Batch]:
        """``n`` rows matching ``where``, chosen by a hash of ``seed`` and the key: the same
        seed gives the same rows, another seed other rows. ``available`` (the rows matching,
        when known) lets a source skip most rows before sorting; the rows are the same."""
        ...

    def rows_where(self, table: Table, columns: Sequence[str],
                   where: str | None) -> Iterator[Batch]:
        """Every row matching ``where``."""
        ...

    def rows_matching(self, table: Table, columns: Sequence[str], match: Sequence[str],
                      values: Sequence[tuple]) -> Iterator[Batch]:
        """Rows whose ``match`` columns equal one of ``values`` (no NULLs in ``values``)."""
        ...

    def count_matching(self, table: Table, match: Sequence[str],
                       values: Sequence[tuple]) -> int:
        """How many rows :meth:`rows_matching` would return."""
        ...

    def distinct(self, table: Table, columns: Sequence[str]) -> Iterator[Batch]:
        """The distinct combinations of ``columns`` with no NULL among them."""
        ...


class KeyStore(Protocol):
    """Selected rows, kept outside Python's memory (a scratch SQLite file): one table per
    source table, rows of ``width`` stored values whose first ``key_width`` are the key.

    Each row has a generation ``up`` (when it was added) and ``down`` (when it became a row
    whose children are followed, or None); the selection processes one generation at a time.
    """

    def create(self, tid: int, width: int, key_width: int,
               lookups: Sequence[tuple[int, ...]]) -> None: ...

    def add(self, tid: int, rows: Sequence[tuple], gen: int, down: bool) -> None:
        """Insert rows not there yet; a row already there without ``down`` gets it."""
        ...

    def existing(self, tid: int, positions: tuple[int, ...],
                 values: Sequence[tuple]) -> set[tuple]:
        """Which of ``values`` (at ``positions``) some stored row has."""
        ...

    def pending(self, tid: int, kind: str, gen: int, batch: int) -> Iterator[Batch]:
        """Rows whose ``kind`` ("up" or "down") generation is ``gen``, in batches."""
        ...

    def has_generation(self, tid: int, gen: int) -> bool: ...

    def count(self, tid: int) -> int: ...

    def after_fork(self) -> None:
        """Called in a forked worker process before it reads the store."""
        ...

    def keys(self, tid: int, key_width: int, batch: int, *,
             followed_only: bool = False) -> Iterator[Batch]:
        """The keys of the stored rows (only of rows whose children are followed, with
        ``followed_only``), in batches."""
        ...

    def close(self) -> None: ...
