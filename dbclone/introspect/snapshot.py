"""What exists in a source database, independent of the dialect.

Tables are keyed by :class:`TableRef` (schema, name) everywhere; dotted strings appear only at
the YAML edge and in output. For MySQL/MariaDB the schema is the database name; for SQLite it
is ``main``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, order=True)
class TableRef:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, order=True)
class ColumnRef:
    table: TableRef
    name: str

    def __str__(self) -> str:
        return f"{self.table}.{self.name}"


class TypeCategory(StrEnum):
    """Coarse type families that generators declare they accept."""

    TEXT = "text"
    INTEGER = "integer"
    NUMERIC = "numeric"  # decimal and floating point
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"  # with or without time zone
    TIME = "time"
    UUID = "uuid"
    JSON = "json"
    BINARY = "binary"
    BIT = "bit"
    ENUM = "enum"
    OTHER = "other"


@dataclass(frozen=True)
class Column:
    name: str
    type_sql: str  # the declared type as the dialect spells it, e.g. "character varying(40)"
    category: TypeCategory
    nullable: bool = True
    default: str | None = None  # SQL expression text
    max_length: int | None = None  # in characters, for text types with a limit
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    identity: str | None = None  # None, "always" or "by default" (auto_increment -> "by default")
    generated: str | None = None  # None, "stored" or "virtual": never written by a loader
    enum_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: TableRef
    columns: tuple[str, ...]  # child side, in declared order (conkey)
    ref_table: TableRef
    ref_columns: tuple[str, ...]  # parent side, in declared order (confkey)
    nullable: bool = False  # every child column is nullable, so NULL can break a cycle
    deferrable: bool = False
    initially_deferred: bool = False

    def describe(self) -> str:
        return (f"{self.table}({', '.join(self.columns)}) -> "
                f"{self.ref_table}({', '.join(self.ref_columns)}) [{self.name}]")


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str


@dataclass(frozen=True)
class Trigger:
    name: str
    table: TableRef
    enabled: str = "enabled"  # "enabled", "disabled", "replica", "always"
    definition: str | None = None


@dataclass(frozen=True)
class Table:
    ref: TableRef
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique_constraints: tuple[tuple[str, ...], ...] = ()  # unique constraints and unique indexes
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    kind: str = "table"  # "table" or "partitioned"
    partition_of: TableRef | None = None  # set on a partition: its direct parent
    row_estimate: int | None = None
    triggers: tuple[Trigger, ...] = ()

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def writable_columns(self) -> tuple[Column, ...]:
        """Columns a loader writes: generated columns are computed by the target."""
        return tuple(c for c in self.columns if c.generated is None)

    def is_unique(self, column: str) -> bool:
        keys = [self.primary_key, *self.unique_constraints]
        return any(k == (column,) for k in keys)


@dataclass(frozen=True)
class View:
    ref: TableRef
    materialized: bool = False
    definition: str | None = None
    depends_on: tuple[TableRef, ...] = ()


@dataclass(frozen=True)
class Sequence:
    ref: TableRef
    owned_by: ColumnRef | None = None


@dataclass
class SchemaSnapshot:
    """Everything introspected from one source database."""

    dialect: str
    database: str
    default_schema: str
    schemas: tuple[str, ...]
    tables: dict[TableRef, Table] = field(default_factory=dict)
    views: dict[TableRef, View] = field(default_factory=dict)
    sequences: dict[TableRef, Sequence] = field(default_factory=dict)
    server_version: str = ""

    def table(self, ref: TableRef) -> Table | None:
        return self.tables.get(ref)

    @property
    def foreign_keys(self) -> list[ForeignKey]:
        return [fk for t in self.tables.values() for fk in t.foreign_keys]

    def partition_root(self, ref: TableRef) -> TableRef:
        """The top partitioned table of a partition (itself when not a partition)."""
        seen = set()
        while (t := self.tables.get(ref)) is not None and t.partition_of is not None:
            if ref in seen:  # defensive: catalogs never loop, but a bug must not hang us
                break
            seen.add(ref)
            ref = t.partition_of
        return ref

    def data_tables(self) -> list[Table]:
        """Tables whose rows a loader copies: partitions go through their root."""
        return [t for t in self.tables.values() if t.partition_of is None]
