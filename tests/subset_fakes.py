"""An in-memory source for the subset engine: tables as lists of dicts (no database).

It answers the SubsetSource queries the way a database would, so the planner and the engine
are tested on plain data; the integration tests run the same engine on the real servers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from dbclone.config.subset import RootSpec, SubsetSpec, TargetSize
from dbclone.introspect.snapshot import (
    Column,
    ForeignKey,
    SchemaSnapshot,
    Table,
    TableRef,
    TypeCategory,
)


def T(name: str) -> TableRef:
    return TableRef("public", name)


def col(name: str, nullable: bool = True, category: TypeCategory = TypeCategory.INTEGER) -> Column:
    return Column(name, "integer" if category is TypeCategory.INTEGER else "text", category,
                  nullable=nullable)


def fk(name: str, child: str, cols: tuple, parent: str, ref: tuple,
       nullable: bool = False, deferrable: bool = False) -> ForeignKey:
    return ForeignKey(name, T(child), cols, T(parent), ref, nullable=nullable,
                      deferrable=deferrable)


def table(name: str, columns: list[Column], pk: tuple = ("id",), *, fks: tuple = (),
          unique: tuple = ()) -> Table:
    return Table(T(name), tuple(columns), pk, unique_constraints=unique, foreign_keys=fks)


def snap(*tables: Table) -> SchemaSnapshot:
    return SchemaSnapshot("postgresql", "db", "public", ("public",), {t.ref: t for t in tables})


def spec(root: str | None = None, *, where: str | None = None, target: TargetSize | None = None,
         roots: tuple[RootSpec, ...] = (), **kw: Any) -> SubsetSpec:
    if root is not None:
        roots = (RootSpec(root, "ws.yaml:4", target, where, "ws.yaml:5"),)
    return SubsetSpec(roots=roots, at="ws.yaml:3", **kw)


def pct(p: float) -> TargetSize:
    return TargetSize("percent", p, f"{p}%")


class FakeSource:
    """Rows per table; ``where`` is a Python predicate over a row dict (given as
    ``{"table": callable}`` in ``wheres`` and named by its key in the spec)."""

    def __init__(self, snapshot: SchemaSnapshot, rows: dict[str, list[dict]],
                 wheres: dict[str, Any] | None = None) -> None:
        self.snapshot = snapshot
        self.rows = {T(k): v for k, v in rows.items()}
        self.wheres = wheres or {}
        self.queries = 0

    def _rows(self, table: Table) -> list[dict]:
        return [dict(r, ctid=i) for i, r in enumerate(self.rows.get(table.ref, []))]

    def _filter(self, table: Table, where: str | None) -> list[dict]:
        rows = self._rows(table)
        if where is None:
            return rows
        if where not in self.wheres:
            from dbclone.errors import PlanError

            raise PlanError(f"subset: where on {table.ref} failed on the source: "
                            f'syntax error at or near "{where.split()[0]}"')
        return [r for r in rows if self.wheres[where](r)]

    def pseudo_key(self, table: Table) -> str | None:
        return "ctid"

    def count(self, table: Table, where: str | None) -> int:
        return len(self._filter(table, where))

    def sample(self, table: Table, columns: Sequence[str], key: Sequence[str],
               where: str | None, seed: int, n: int,
               available: int | None = None) -> Iterator[list[tuple]]:
        def h(r: dict) -> bytes:
            return hashlib.sha256(repr((seed, [r[k] for k in key])).encode()).digest()

        rows = sorted(self._filter(table, where), key=h)[:n]
        yield [tuple(r[c] for c in columns) for r in rows]

    def rows_where(self, table: Table, columns: Sequence[str],
                   where: str | None) -> Iterator[list[tuple]]:
        yield [tuple(r[c] for c in columns) for r in self._filter(table, where)]

    def rows_matching(self, table: Table, columns: Sequence[str], match: Sequence[str],
                      values: Sequence[tuple]) -> Iterator[list[tuple]]:
        self.queries += 1
        wanted = set(values)
        yield [tuple(r[c] for c in columns) for r in self._rows(table)
               if tuple(r[m] for m in match) in wanted]

    def count_matching(self, table: Table, match: Sequence[str],
                       values: Sequence[tuple]) -> int:
        return sum(len(b) for b in self.rows_matching(table, match, match, values))

    def distinct(self, table: Table, columns: Sequence[str]) -> Iterator[list[tuple]]:
        seen = {tuple(r[c] for c in columns) for r in self._rows(table)}
        yield sorted(v for v in seen if None not in v)
