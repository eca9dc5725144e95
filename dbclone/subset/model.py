"""What a subset will do, table by table: the *plan* (pure data, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dbclone.config.subset import SubsetSpec, TargetSize
from dbclone.dialects.base import Finding
from dbclone.introspect.snapshot import ForeignKey, Table, TableRef


class Role(StrEnum):
    ROOT = "root"
    REACHED = "reached"  # pulled in through a foreign key (parent, child or extension)
    PASSTHROUGH = "passthrough"  # copied whole
    EXCLUDED = "excluded"  # never copied
    UNREACHED = "unreached"  # nothing selected leads here: copied empty


@dataclass(frozen=True)
class Edge:
    """child(child_columns) -> parent(parent_columns): a declared or virtual FK.

    The parent side is always the edge's own referenced columns (a UNIQUE pair is joined on
    that pair, never on the parent's primary key)."""

    name: str
    child: TableRef
    child_columns: tuple[str, ...]
    parent: TableRef
    parent_columns: tuple[str, ...]
    nullable: bool  # every child column is nullable
    virtual: bool = False
    fk: ForeignKey | None = None

    def describe(self) -> str:
        kind = "virtual FK " if self.virtual else ""
        return (f"{self.child}({', '.join(self.child_columns)}) -> "
                f"{self.parent}({', '.join(self.parent_columns)}) [{kind}{self.name}]")

    def short(self) -> str:
        null = "NULL" if self.nullable else "NOT NULL"
        return (f"{self.child}.{', '.join(self.child_columns)} {null} → {self.parent}"
                f"({', '.join(self.parent_columns)})")


@dataclass
class TablePlan:
    table: Table
    role: Role
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (kind, other table)
    # Row identity: the primary key, a UNIQUE NOT NULL key, or the dialect's row address
    # (PostgreSQL ctid, SQLite rowid) for a table that has neither.
    key: tuple[str, ...] = ()
    pseudo_key: bool = False
    # Columns kept per selected row: the key first, then the columns joins need.
    stored: tuple[str, ...] = ()
    null_columns: tuple[str, ...] = ()  # FK columns written as NULL (their parent is excluded)
    downstream: bool = False  # rows may be reached as children (and then expand downstream)
    source_rows: int | None = None
    source_rows_exact: bool = False
    estimate: float | None = None  # rows the subset is expected to select
    selected: int | None = None  # rows actually selected, once computed

    @property
    def ref(self) -> TableRef:
        return self.table.ref

    @property
    def in_store(self) -> bool:
        """Its selected rows are tracked key by key (roots and reached tables)."""
        return self.role in (Role.ROOT, Role.REACHED)

    def position(self, column: str) -> int:
        return self.stored.index(column)

    def positions(self, columns: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self.stored.index(c) for c in columns)

    def add_reason(self, kind: str, other: str = "") -> None:
        if (kind, other) not in self.reasons:
            self.reasons.append((kind, other))

    def why(self) -> str:
        """'root; child of public.customer, public.rental; parent of public.payment'."""
        if self.role is Role.EXCLUDED:
            return "excluded"
        if self.role is Role.UNREACHED:
            return "not reached (copied empty; add it to passthrough to copy it whole)"
        parts = []
        for kind in _REASON_ORDER:
            others = [o for k, o in self.reasons if k == kind]
            if not others:
                continue
            named = [o for o in others if o]
            parts.append(f"{kind} {', '.join(named)}" if named else kind)
        return "; ".join(parts)


_REASON_ORDER = ("root", "passthrough", "child of", "parent of", "extension of", "needed by")


@dataclass
class RootPlan:
    table: TableRef
    target: TargetSize | None
    where: str | None
    where_at: str
    matching: int | None = None  # rows matching `where` (all rows without one)
    wanted: int | None = None  # rows to select

    def describe(self) -> str:
        what = self.target.describe() if self.target else "all rows"
        cond = f" where {self.where}" if self.where else ""
        return f"{what} of {self.table}{cond}"


@dataclass
class SubsetPlan:
    spec: SubsetSpec
    roots: list[RootPlan]
    tables: dict[TableRef, TablePlan]
    edges: list[Edge]  # every edge between two tables that get rows (incl. virtual)
    up: dict[TableRef, list[Edge]] = field(default_factory=dict)  # child -> edges to parents
    down: dict[TableRef, list[Edge]] = field(default_factory=dict)  # parent -> child edges
    extension: dict[TableRef, list[Edge]] = field(default_factory=dict)  # parent -> 1:1 edges
    # passthrough child -> edges to parents tracked in the store (seeded from all its rows)
    passthrough_up: dict[TableRef, list[Edge]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    exact: bool = False  # selected counts are real counts, not estimates

    def selected_total(self) -> float | None:
        total = 0.0
        for tp in self.tables.values():
            n = tp.selected if tp.selected is not None else tp.estimate
            if n is None:
                return None
            total += n
        return total

    def source_total(self) -> int | None:
        total = 0
        for tp in self.tables.values():
            if tp.source_rows is None:
                return None
            total += tp.source_rows
        return total

    def summary(self) -> str:
        """'asked 10% of public.customer (60 of 599 rows) -> 13.1% of all rows (...)'."""
        asked = "; ".join(_asked(r) for r in self.roots)
        got, total = self.selected_total(), self.source_total()
        if got is None or not total:
            return f"asked {asked}"
        approx = "" if self.exact else "≈"
        return (f"asked {asked} -> {approx}{100 * got / total:.1f}% of all rows "
                f"({approx}{round(got):,} of {total:,})")


def _asked(root: RootPlan) -> str:
    text = root.describe()
    if root.wanted is not None and root.matching is not None:
        text += f" ({root.wanted:,} of {root.matching:,} rows)"
    return text
