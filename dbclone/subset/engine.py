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

from dbclone.introspect.snapshot import TableRef
from dbclone.subset.model import Edge, Role, RootPlan, SubsetPlan, TablePlan
from dbclone.subset.planner import is_unique
from dbclone.subset.source import Batch, KeyStore, SubsetSource

BATCH = 20000  # keys per source query and per store page
ATTEMPTS = 5  # selections run at most, to bring a sampled root onto its target

Progress = Callable[[str], None]


@dataclass
class TableSelection:
    """The rows of one table a subset keeps, for the writer: key columns and key batches."""

    key_columns: tuple[str, ...]
    pseudo_key: bool
    # None: a leaf child not counted ahead (Engine count_leaves=False); its copy counts it,
    # and ``estimate`` is the planner's guess meanwhile
    count: int | None
    store: KeyStore | None
    tid: int
    batch: int = BATCH
    # A leaf child (see Engine._leaves): the batches are the keys of the parent rows whose
    # children are followed, and key_columns the child's FK columns that reference them.
    followed_only: bool = False
    estimate: float | None = None

    @property
    def expected(self) -> float:
        """The rows to copy: counted, or else estimated."""
        return self.count if self.count is not None else self.estimate or 0

    def after_fork(self) -> None:
        if self.store is not None:
            self.store.after_fork()

    def batches(self) -> Iterator[Batch]:
        if self.store is None or self.count == 0:
            return iter(())
        return self.store.keys(self.tid, len(self.key_columns), self.batch,
                               followed_only=self.followed_only)


class Selection:
    """What the subset selected: per table, the rows to copy (None: every row)."""

    def __init__(self, plan: SubsetPlan, store: KeyStore, ids: dict,
                 leaves: dict[TableRef, Edge] | None = None) -> None:
        self.plan = plan
        self.store = store
        self.ids = ids
        self.leaves = leaves or {}
        self.counts: dict = {}

    def for_table(self, ref: object) -> TableSelection | None:
        """None for a passthrough table (copied whole, the unfiltered fast path)."""
        tp = self.plan.tables[ref]  # type: ignore[index]
        if tp.role is Role.PASSTHROUGH:
            return None
        if not tp.in_store:
            return TableSelection(tp.key, tp.pseudo_key, 0, None, -1)
        leaf = self.leaves.get(ref)  # type: ignore[call-overload]
        if leaf is not None:
            return TableSelection(leaf.child_columns, False, self.counts[ref], self.store,
                                  self.ids[leaf.parent], followed_only=True,
                                  estimate=tp.estimate)
        tid = self.ids[ref]
        return TableSelection(tp.key, tp.pseudo_key, self.counts[ref], self.store, tid)

    def copied(self, ref: TableRef, rows: int) -> None:
        """A table's rows as its copy counted them: fills in a count left to the copy."""
        tp = self.plan.tables[ref]
        if tp.selected is None and ref in self.leaves:
            tp.selected = self.counts[ref] = rows
            self.plan.exact = all(t.selected is not None for t in self.plan.tables.values())

    def close(self) -> None:
        self.store.close()


class Engine:
    def __init__(self, plan: SubsetPlan, source: SubsetSource, store: KeyStore, *,
                 batch: int = BATCH, progress: Progress | None = None,
                 take: dict[TableRef, int] | None = None, count_leaves: bool = True) -> None:
        self.plan = plan
        # False: leaf children are counted by their copy instead (each count reads as many
        # index entries as the copy reads rows; the plan needs it, a clone need not)
        self.count_leaves = count_leaves
        self.take = take or {}  # rows to sample per root (default: the root's wanted rows)
        self.source = source
        self.store = store
        self.batch = batch
        self.progress = progress or (lambda msg: None)
        self.order = [tp for tp in plan.tables.values() if tp.in_store]
        self.ids = {tp.ref: i for i, tp in enumerate(self.order)}
        self.implied = self._implied_parents()
        self.leaves = self._leaves()

    def _implied_parents(self) -> dict[TableRef, Edge]:
        """Tables whose rows can only arrive as children through one edge: each such row's
        parent along that edge is in the store already, so it is not looked up again (for a
        big child table, that is one store lookup per row saved)."""
        plan = self.plan
        entered_otherwise = {r.table for r in plan.roots}
        for edges in [*plan.up.values(), *plan.passthrough_up.values()]:
            entered_otherwise.update(e.parent for e in edges)
        for edges in plan.extension.values():
            entered_otherwise.update(e.child for e in edges)
        by_child: dict[TableRef, list[Edge]] = {}
        for edges in plan.down.values():
            for e in edges:
                by_child.setdefault(e.child, []).append(e)
        return {ref: edges[0] for ref, edges in by_child.items()
                if ref not in entered_otherwise and len(edges) == 1}

    def _leaves(self) -> dict[TableRef, Edge]:
        """Child tables whose rows are exactly "the rows referencing a followed parent row
        through one edge", with nothing to look up from them (no other parent, no child, no
        extension): their keys are never stored. The writer reads them by that FK, batch by
        batch of parent keys, and they are counted the same way. A big child table (the
        usual case: ten times its parent) then costs one read, not two, and no store."""
        plan = self.plan
        out = {}
        for ref, e in self.implied.items():
            parent = plan.tables[e.parent]
            if (e.child != e.parent and e.parent_columns == parent.key
                    and not parent.pseudo_key
                    and all(u == e for u in plan.up.get(ref, []))
                    and not plan.down.get(ref) and not plan.extension.get(ref)):
                out[ref] = e
        return out

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
        selection = Selection(self.plan, self.store, self.ids, self.leaves)
        for ref, tp in self.plan.tables.items():
            if ref in self.leaves:
                counted = self.count_leaves or not tp.table.writable_columns
                tp.selected = self._count_leaf(self.leaves[ref]) if counted else None
                selection.counts[ref] = tp.selected
            elif tp.in_store:
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
                n = self.take.get(tp.ref, root.wanted if root.wanted is not None else 0)
                rows = self.source.sample(tp.table, tp.stored, tp.key, root.where, spec.seed, n,
                                          root.matching)
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
        implied = self.implied.get(tp.ref)
        ups = [e for e in ups if e != implied]
        if not ups and not exts:
            return
        for rows in self.store.pending(self.ids[tp.ref], "up", gen, self.batch):
            for e in ups:
                self._parents(e, _values(rows, tp.positions(e.child_columns)), gen + 1)
            for e in exts:
                self._children(e, _values(rows, tp.positions(e.parent_columns)), gen + 1,
                               down=False)

    def _count_leaf(self, e: Edge) -> int:
        child = self.plan.tables[e.child].table
        return sum(self.source.count_matching(child, e.child_columns, keys)
                   for keys in self.store.keys(self.ids[e.parent], len(e.parent_columns),
                                               self.batch, followed_only=True))

    def _down(self, tp: TablePlan, gen: int) -> None:
        downs = [e for e in self.plan.down.get(tp.ref, []) if self.leaves.get(e.child) != e]
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


def select_on_target(plan: SubsetPlan, source: SubsetSource, new_store: Callable[[], KeyStore],
                     *, batch: int = BATCH, progress: Progress | None = None,
                     count_leaves: bool = True) -> Selection:
    """Run the selection so that each sampled root table ends within 1% (or one row) of its
    target. Integrity can pull in rows of the root table that the sample did not pick (the
    customer of a payment that hangs off a selected customer's rental); when that takes a
    root past its tolerance, the sample is resized (see _next_take; the same seed orders rows
    the same way, so a smaller sample is a prefix of the first) and the selection rerun, at
    most ATTEMPTS times. The returned Selection owns its key store."""
    take = {r.table: r.wanted or 0 for r in plan.roots if r.target is not None}
    tried: dict[TableRef, list[tuple[int, int]]] = {t: [] for t in take}  # (take, got)
    report = progress or (lambda msg: None)
    for attempt in range(1, ATTEMPTS + 1):
        store = new_store()
        try:
            sel = Engine(plan, source, store, batch=batch, progress=progress, take=take,
                         count_leaves=count_leaves).run()
        except BaseException:
            store.close()
            raise
        off = [r for r in plan.roots
               if r.table in take and abs(sel.counts[r.table] - (r.wanted or 0)) > tolerance(r)]
        if not off or attempt == ATTEMPTS:
            return sel
        for t in take:
            tried[t].append((take[t], sel.counts[t]))
        changed = False
        for root in off:
            new = _next_take(tried[root.table], root.wanted or 0)
            new = min(max(0, new), root.matching or 0)
            changed |= new != take[root.table]
            take[root.table] = new
        if not changed:
            return sel
        sel.close()
        report("sampling again: integrity moved "
               f"{', '.join(str(r.table) for r in off)} off its target")
    raise AssertionError("unreachable")


def _next_take(tried: list[tuple[int, int]], wanted: int) -> int:
    """The next sample size, from the (sampled, selected) pairs of the attempts so far.

    The selected count grows with the sample (a larger sample is a superset of a smaller
    one), so the attempts below and above the target bracket it, and the next size is
    interpolated between the closest two (kept strictly inside). Before there is a bracket:
    the first time in proportion (when each sampled row brings k more, sample 1/(1+k) as
    many), then through the last two attempts (a secant), which also meets the target when
    integrity adds a fixed set of rows whatever the sample (another root's rows referencing
    this one), where a proportional step undershoots the correction every time."""
    below = [p for p in tried if p[1] < wanted]
    above = [p for p in tried if p[1] > wanted]
    t1, g1 = tried[-1]
    if below and above:
        (t0, g0), (t1, g1) = max(below), min(above)
        if t1 - t0 <= 1:
            return t1  # no size in between: this is as close as the sample gets
        new = round(t0 + (wanted - g0) * (t1 - t0) / (g1 - g0))
        return min(max(new, t0 + 1), t1 - 1)
    if len(tried) == 1:
        new = round(t1 * wanted / g1) if g1 else t1
    else:
        t0, g0 = tried[-2]
        slope = (g1 - g0) / (t1 - t0) if t1 != t0 else 0.0
        # a flat stretch (sampled rows that integrity had brought already): one for one
        new = round(t1 + (wanted - g1) / (slope if slope > 0 else 1.0))
    return min(new, t1 - 1) if g1 > wanted else max(new, t1 + 1)


def tolerance(root: RootPlan) -> float:
    """How far a sampled root's selected rows may be from the target before it is sampled
    again: 1% (so below 100 rows, none; the target itself is already rounded to a row)."""
    return 0.01 * (root.wanted or 0)


def _values(rows: Sequence[tuple], positions: tuple[int, ...]) -> list[tuple]:
    """The distinct non-NULL combinations at ``positions`` (a NULL in any column of an FK
    means it references nothing)."""
    out = dict.fromkeys(tuple(r[p] for p in positions) for r in rows)
    return [v for v in out if None not in v]
