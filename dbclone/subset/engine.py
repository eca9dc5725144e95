"""The selection: from the roots to a fixpoint, key batches at a time. Dialect-free.

Rows are processed generation by generation (breadth first). Generation 1 holds the roots'
rows (and the parents that passthrough tables reference). Processing generation g of a table:

- *up*: for every FK of its new rows, the referenced parent rows not in the store yet are
  read from the source and stored (generation g+1); likewise its 1:1 extension rows;
- *down*: for rows whose children are followed (roots and rows reached as children), the
  child rows referencing them are read and stored, themselves followed (generation g+1).

A self-reference, two self-references on one table or any cycle simply yields new rows in the
next generation until none is new: the fixpoint. Memory holds one batch of keys (and what
the source returns for it) at a time; everything selected lives in the key store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from dbclone.subset.model import Edge, Role, SubsetPlan, TablePlan
from dbclone.subset.planner import is_unique
from dbclone.subset.source import Batch, KeyStore, SubsetSource

BATCH = 5000  # keys per source query and per store page

Progress = Callable[[str], None]


@dataclass
class TableSelection:
    """The rows of one table a subset keeps, for the writer: key columns and key batches."""

    key_columns: tuple[str, ...]
    pseudo_key: bool
    count: int
    store: KeyStore | None
    tid: int
    batch: int = BATCH

    def batches(self) -> Iterator[Batch]:
        if self.store is None or self.count == 0:
            return iter(())
        return self.store.keys(self.tid, len(self.key_columns), self.batch)


class Selection:
    """What the subset selected: per table, the rows to copy (None: every row)."""

    def __init__(self, plan: SubsetPlan, store: KeyStore, ids: dict) -> None:
        self.plan = plan
        self.store = store
        self.ids = ids
        self.counts: dict = {}

    def for_table(self, ref: object) -> TableSelection | None:
        """None for a passthrough table (copied whole, the unfiltered fast path)."""
        tp = self.plan.tables[ref]  # type: ignore[index]
        if tp.role is Role.PASSTHROUGH:
            return None
        if not tp.in_store:
            return TableSelection(tp.key, tp.pseudo_key, 0, None, -1)
        tid = self.ids[ref]
        return TableSelection(tp.key, tp.pseudo_key, self.counts[ref], self.store, tid)

    def close(self) -> None:
        self.store.close()


class Engine:
    def __init__(self, plan: SubsetPlan, source: SubsetSource, store: KeyStore, *,
                 batch: int = BATCH, progress: Progress | None = None) -> None:
        self.plan = plan
        self.source = source
        self.store = store
        self.batch = batch
        self.progress = progress or (lambda msg: None)
        self.order = [tp for tp in plan.tables.values() if tp.in_store]
        self.ids = {tp.ref: i for i, tp in enumerate(self.order)}

    def run(self) -> Selection:
        for tp in self.order:
            lookups = [tp.positions(e.parent_columns) for e in self._edges_into(tp)
                       if e.parent_columns != tp.key]
            self.store.create(self.ids[tp.ref], len(tp.stored), len(tp.key),
                              list(dict.fromkeys(lookups)))
        self._seed()
        gen = 1
        while True:
            for tp in self.order:
                self._up(tp, gen)
            for tp in self.order:
                self._down(tp, gen)
            if not any(self.store.has_generation(self.ids[tp.ref], gen + 1)
                       for tp in self.order):
                break
            gen += 1
        selection = Selection(self.plan, self.store, self.ids)
        for ref, tp in self.plan.tables.items():
            if tp.in_store:
                tp.selected = self.store.count(self.ids[ref])
                selection.counts[ref] = tp.selected
            elif tp.role is Role.PASSTHROUGH:
                tp.selected = tp.source_rows
            else:
                tp.selected = 0
        self.plan.exact = all(tp.selected is not None for tp in self.plan.tables.values())
        return selection

    # -- generation 1 ---------------------------------------------------------------------------

    def _seed(self) -> None:
        spec = self.plan.spec
        for root in self.plan.roots:
            tp = self.plan.tables[root.table]
            self.progress(f"selecting {root.describe()}")
            if root.target is not None:
                n = root.wanted if root.wanted is not None else 0
                rows = self.source.sample(tp.table, tp.stored, tp.key, root.where, spec.seed, n)
            else:
                rows = self.source.rows_where(tp.table, tp.stored, root.where)
            for chunk in rows:
                self.store.add(self.ids[tp.ref], chunk, 1, spec.downstream)
        scratch = len(self.order)
        for child, edges in self.plan.passthrough_up.items():
            table = self.plan.tables[child].table
            for e in edges:
                self.progress(f"reading {e.child} for the {e.parent} rows it references")
                # Into the store first: a source stream is always read to its end before
                # the next source query (a MySQL connection cannot do two at once).
                width = len(e.child_columns)
                self.store.create(scratch, width, width, [])
                for chunk in self.source.distinct(table, e.child_columns):
                    self.store.add(scratch, chunk, 1, False)
                for values in self.store.pending(scratch, "up", 1, self.batch):
                    self._parents(e, values, 1)
                scratch += 1

    # -- one generation ------------------------------------------------------------------------

    def _up(self, tp: TablePlan, gen: int) -> None:
        ups = self.plan.up.get(tp.ref, [])
        exts = self.plan.extension.get(tp.ref, [])
        if not ups and not exts:
            return
        for rows in self.store.pending(self.ids[tp.ref], "up", gen, self.batch):
            for e in ups:
                self._parents(e, _values(rows, tp.positions(e.child_columns)), gen + 1)
            for e in exts:
                self._children(e, _values(rows, tp.positions(e.parent_columns)), gen + 1,
                               down=False)

    def _down(self, tp: TablePlan, gen: int) -> None:
        downs = self.plan.down.get(tp.ref, [])
        if not downs:
            return
        for rows in self.store.pending(self.ids[tp.ref], "down", gen, self.batch):
            for e in downs:
                self._children(e, _values(rows, tp.positions(e.parent_columns)), gen + 1,
                               down=True)

    def _parents(self, e: Edge, values: list[tuple], gen: int) -> None:
        """Store the rows ``values`` reference through ``e`` that are not stored yet."""
        parent = self.plan.tables[e.parent]
        if not values:
            return
        pid = self.ids[e.parent]
        if is_unique(parent, e.parent_columns):
            have = self.store.existing(pid, parent.positions(e.parent_columns), values)
            values = [v for v in values if v not in have]
        for i in range(0, len(values), self.batch):
            for chunk in self.source.rows_matching(parent.table, parent.stored,
                                                   e.parent_columns, values[i:i + self.batch]):
                self.store.add(pid, chunk, gen, False)

    def _children(self, e: Edge, values: list[tuple], gen: int, *, down: bool) -> None:
        if not values:
            return
        child = self.plan.tables[e.child]
        cid = self.ids[e.child]
        for i in range(0, len(values), self.batch):
            for chunk in self.source.rows_matching(child.table, child.stored, e.child_columns,
                                                   values[i:i + self.batch]):
                self.store.add(cid, chunk, gen, down)

    def _edges_into(self, tp: TablePlan) -> list[Edge]:
        return [e for edges in [*self.plan.up.values(), *self.plan.passthrough_up.values()]
                for e in edges if e.parent == tp.ref]


def _values(rows: Sequence[tuple], positions: tuple[int, ...]) -> list[tuple]:
    """The distinct non-NULL combinations at ``positions`` (a NULL in any column of an FK
    means it references nothing)."""
    out = dict.fromkeys(tuple(r[p] for p in positions) for r in rows)
    return [v for v in out if None not in v]
