"""What every dialect provides. Everything that differs between PostgreSQL, MySQL/MariaDB and
SQLite lives below ``dbclone/dialects/``; the pipeline only talks to these interfaces.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dbclone.errors import ConfigError
from dbclone.introspect.snapshot import SchemaSnapshot, Table, TableRef

_SCHEMES = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed connection URL. ``str()`` never shows the password."""

    url: URL
    dialect: str  # "postgresql", "mysql" or "sqlite"

    @property
    def database(self) -> str:
        return self.url.database or ""

    @property
    def host(self) -> str | None:
        return self.url.host

    @property
    def port(self) -> int | None:
        return self.url.port

    @property
    def username(self) -> str | None:
        return self.url.username

    @property
    def password(self) -> str | None:
        pw = self.url.password
        return None if pw is None else str(pw)

    @property
    def query(self) -> dict[str, str]:
        return {k: (v if isinstance(v, str) else v[-1]) for k, v in self.url.query.items()}

    def with_database(self, name: str) -> DatabaseURL:
        return DatabaseURL(self.url.set(database=name), self.dialect)

    def __str__(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"DatabaseURL({self!s})"


def parse_url(raw: str, *, what: str = "url") -> DatabaseURL:
    """Parse a source/destination URL; ``what`` names it in errors (e.g. 'source.url')."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"{what}: not a database URL",
            hint="use postgresql://user@host/db, mysql://user@host/db or sqlite:///path.db",
        ) from None
    scheme = url.drivername.split("+", 1)[0]
    dialect = _SCHEMES.get(scheme)
    if dialect is None:
        raise ConfigError(f"{what}: unsupported database kind '{scheme}'",
                          hint="dbclone supports postgresql://, mysql:// (MariaDB too), sqlite://")
    if not url.database:
        raise ConfigError(f"{what}: the URL names no database",
                          hint="end the URL with /DBNAME (sqlite: sqlite:///path/to/file.db)")
    if "password" in url.query:
        # ``?password=`` is a password too: move it where it is hidden from messages and
        # kept out of client programs' argv (PGPASSWORD, MYSQL_PWD).
        secret = url.query["password"]
        url = url.difference_update_query(["password"])
        if url.password is None:
            url = url.set(password=secret if isinstance(secret, str) else secret[-1])
    return DatabaseURL(url, dialect)


class RowMasker(Protocol):
    """Rewrites the masked columns of one row.

    ``values`` are in the canonical text form (``None`` for NULL), in the order of
    ``Table.writable_columns``; only the positions in ``masked_positions`` are looked at and
    replaced. Unmasked values may be anything the dialect likes (they are passed through).
    """

    masked_positions: tuple[int, ...]

    def mask_row(self, values: list) -> list: ...


@dataclass
class TableCopyResult:
    rows_read: int = 0
    rows_written: int = 0
    seconds: float = 0.0
    workers: int = 0  # processes besides the main one that copied it (0: the main one)
    pushed: int = 0  # masked columns the source computed in its own query


@dataclass
class Finding:
    """Something worth telling the user that did not stop the run."""

    level: str  # "warning" or "info"
    where: str  # e.g. "public.client_initials"
    message: str


TMP_MARK = "__dbclone_tmp_"  # a destination is built as <dest>__dbclone_tmp_<8 hex>
_TMP_TAIL = re.compile(r"[0-9a-f]{8}")


def leftover_copies(names: Iterable[str], own: str, dest: str,
                    drop: Callable[[str], str]) -> list[Finding]:
    """Other temporary copies of the destination among ``names`` (those of databases
    nobody is connected to), as warnings that say how to drop them.

    A run that is killed (SIGKILL, the OOM killer) runs no code of its own to drop its
    half-built copy. The next run names it, and never drops it itself: a run in progress
    may be between two connections to its own copy."""
    head = own[:-8]  # <dest, cut to the name limit>__dbclone_tmp_
    found = sorted(n for n in names if n != own and len(n) == len(own)
                   and n.startswith(head) and _TMP_TAIL.fullmatch(n[len(head):]))
    return [Finding("warning", n, f"a half-built copy of {dest} that an earlier run left "
                                  "behind (it was stopped before it could clean up, e.g. "
                                  f"killed); nobody is connected to it. Drop it with: {drop(n)}")
            for n in found]


Progress = Callable[[int], None]  # called with the number of rows copied since the last call


class RowSelection(Protocol):
    """The rows of one table a subset keeps (see dbclone/subset): ``batches()`` yields lists
    of key tuples, in the dialect's key form, for ``key_columns`` (a pseudo column such as
    ``ctid`` or ``rowid`` when ``pseudo_key``)."""

    key_columns: tuple[str, ...]
    pseudo_key: bool
    count: int | None  # None: counted by the copy (``expected`` meanwhile)

    @property
    def expected(self) -> float: ...

    def batches(self) -> Iterator[list[tuple]]: ...

    def after_fork(self) -> None:
        """Called in a forked worker process before it calls ``batches``."""
        ...


@dataclass(frozen=True)
class CopyJob:
    """One table to copy: its masker (None: rows pass through), the subset's rows (None:
    every row), and whether its masking shares no state with any other table's, so it may
    run in another process while other tables are copied."""

    table: Table
    masker: RowMasker | None = None
    selection: RowSelection | None = None
    isolated: bool = False
    pushdown: bool = True  # the source may compute the masking it can (same output)


class CopyEvents(Protocol):
    """What the writer tells the caller while tables are copied (in any order)."""

    def started(self, table: Table) -> None: ...

    def progress(self, table: Table, rows: int) -> None: ...

    def finished(self, table: Table, result: TableCopyResult) -> None: ...


class SourceReader(ABC):
    """An open, read-only connection to the source, inside one consistent snapshot."""

    @abstractmethod
    def introspect(self, schemas: Sequence[str] | None,
                   exclude_schemas: Sequence[str] = ()) -> SchemaSnapshot: ...

    @abstractmethod
    def close(self) -> None: ...

    def column_stats(self, table: Table, column: str, kind: str,
                     limit: int) -> list[tuple[str | None, int]]:
        """Facts about one column, read inside the snapshot, values in canonical text:

        - ``"frequencies"``: the ``limit`` most common values with their counts;
        - ``"sample"``: up to ``limit`` values of randomly chosen rows, each with count 1;
        - ``"distinct"``: one pair ``(None, number of distinct non-NULL values)``.
        """
        raise NotImplementedError(kind)

    def scan_rows(self, table: Table, columns: Sequence[str], *, limit: int | None = None,
                  sample: bool = False) -> Iterator[tuple[str | None, ...]]:
        """Rows of ``columns`` in canonical text (``None`` for NULL), streamed; with
        ``sample``, up to ``limit`` randomly chosen rows. Used by the leak audit."""
        raise NotImplementedError("scan_rows")

    def sample_pages(self, table: Table, columns: Sequence[str],
                     limit: int) -> Iterator[tuple[str | None, ...]]:
        """About ``limit`` rows of a big table, as cheaply as the database can pick them
        (the leak audit's search of a big copy); by default the first ``limit``."""
        yield from self.scan_rows(table, columns, limit=limit)

    def rows_by_key(self, table: Table, columns: Sequence[str], key_columns: Sequence[str],
                    keys: Sequence[tuple[str, ...]]) -> Iterator[tuple[str | None, ...]]:
        """Rows of ``columns`` whose ``key_columns`` hold one of ``keys`` (canonical text),
        streamed. Other rows may come too (the database may compare more loosely than
        text equality); callers compare the keys themselves. By default: every row."""
        yield from self.scan_rows(table, columns)

    def unreadable_tables(self, tables: Sequence[Table]) -> list[tuple[TableRef, str]]:
        """Tables (or some of their columns) this connection may not read: (table, what)."""
        return []

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DestinationWriter(ABC):
    """Builds the destination under a temporary name, then swaps it in.

    Call order: ``prepare`` -> ``create_schema`` -> ``copy_tables`` (``copy_table`` per table
    in load order, unless the writer runs some side by side) -> ``finish`` -> ``swap``. On any
    failure or interrupt the pipeline calls ``abort``, which must remove the temporary
    database and leave an existing destination untouched.
    """

    # Set by the caller, called by ``finish`` (once, if at all) when the copy's keys and
    # indexes are built and only statistics, sequences and views remain: the leak audit
    # may read the copy from then on, on connections of its own, without waiting on a lock.
    keys_built: Callable[[], None] | None = None

    @abstractmethod
    def prepare(self) -> None: ...

    @abstractmethod
    def create_schema(self, source: SourceReader, snapshot: SchemaSnapshot) -> None: ...

    @abstractmethod
    def copy_table(self, source: SourceReader, table: Table, masker: RowMasker | None,
                   progress: Progress,
                   selection: RowSelection | None = None) -> TableCopyResult:
        """Copy ``table``'s rows (only the ``selection``'s, when given: a subset)."""

    def copy_tables(self, source: SourceReader, jobs: Sequence[CopyJob],
                    events: CopyEvents) -> None:
        """Copy every job's table; one after the other unless the writer can do better."""
        for job in jobs:
            events.started(job.table)
            table = job.table
            result = self.copy_table(source, table, job.masker,
                                     lambda n, t=table: events.progress(t, n), job.selection)
            events.finished(table, result)

    @abstractmethod
    def finish(self, source: SourceReader, snapshot: SchemaSnapshot) -> list[Finding]: ...

    @abstractmethod
    def swap(self) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...

    def staged_url(self) -> DatabaseURL | None:
        """The finished copy before ``swap`` (between ``finish`` and ``swap``), for the leak
        audit to read; None when the writer cannot offer it (the audit then reads the
        destination after the swap)."""
        return None


class Dialect(ABC):
    """One database kind. Capabilities are class attributes."""

    name: ClassVar[str]
    default_schema: ClassVar[str]
    # True when the writer loads with constraints off and adds them after the data, so an
    # FK cycle never has to be broken by NULL-then-UPDATE during a full clone.
    constraints_after_data: ClassVar[bool] = True

    @abstractmethod
    def open_source(self, url: DatabaseURL) -> SourceReader: ...

    @abstractmethod
    def writer(self, url: DatabaseURL, source_url: DatabaseURL) -> DestinationWriter: ...


@dataclass
class _Registry:
    factories: dict[str, Callable[[], Dialect]] = field(default_factory=dict)


_REGISTRY = _Registry()


def register_dialect(name: str, factory: Callable[[], Dialect]) -> None:
    _REGISTRY.factories[name] = factory


def get_dialect(name: str) -> Dialect:
    # Import lazily so that a SQLite-only run never imports psycopg or pymysql.
    if name not in _REGISTRY.factories:
        import importlib

        importlib.import_module(f"dbclone.dialects.{name}")
    return _REGISTRY.factories[name]()
