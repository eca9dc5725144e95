"""Subsetting: root selection, upstream/downstream closure, key sets.

- :mod:`dbclone.subset.planner`: which tables get rows and why (pure, no database);
- :mod:`dbclone.subset.engine`: the selection to a fixpoint, key batch by key batch;
- ``dbclone/dialects/<dialect>/subset.py``: the source queries of each database.

:func:`plan_subset` runs at plan time (names checked, ``where`` tried on the source, rows
counted, the selection computed exactly when the database is small, estimated otherwise);
:func:`select` computes the selection that the writers copy.
"""

from __future__ import annotations

import importlib

from dbclone.config.subset import SubsetSpec
from dbclone.dialects.base import SourceReader
from dbclone.errors import PlanError
from dbclone.introspect.snapshot import SchemaSnapshot
from dbclone.subset.engine import Engine, Progress, Selection, TableSelection, select_on_target
from dbclone.subset.model import Edge, Role, RootPlan, SubsetPlan, TablePlan
from dbclone.subset.nulls import NullingMasker, with_nulls
from dbclone.subset.planner import build_plan, estimate
from dbclone.subset.source import KeyStore, SubsetSource

# Tables up to this many rows (by the catalog's estimate) are counted exactly at plan time.
CHEAP_COUNT = 1_000_000
# Databases up to this many rows are subset exactly at plan time, not estimated.
CHEAP_SELECT = 1_000_000

__all__ = ["Edge", "Engine", "NullingMasker", "Role", "RootPlan", "Selection", "SubsetPlan",
           "TablePlan", "TableSelection", "plan_subset", "select", "select_on_target",
           "subset_source",
           "with_nulls"]


def subset_source(dialect: str, reader: SourceReader) -> SubsetSource:
    module = importlib.import_module(f"dbclone.dialects.{dialect}.subset")
    return module.subset_source(reader)  # type: ignore[no-any-return]


def key_store() -> KeyStore:
    from dbclone.dialects.sqlite.keystore import SQLiteKeyStore

    return SQLiteKeyStore()


def plan_subset(spec: SubsetSpec, snapshot: SchemaSnapshot, reader: SourceReader,
                dialect: str, *, exact_if_cheap: bool = True) -> tuple[SubsetPlan,
                                                                       Selection | None]:
    """The subset plan, checked against the source; with the selection itself when the
    database is small enough to select at once (the caller closes it)."""
    source = subset_source(dialect, reader)
    plan = build_plan(spec, snapshot, pseudo_key=source.pseudo_key)
    for root in plan.roots:
        table = plan.tables[root.table].table
        try:
            root.matching = source.count(table, root.where)
        except PlanError as exc:
            where = f"{root.where_at}: " if root.where else ""
            raise PlanError(f"{where}{exc.message}", hint=exc.hint) from exc.__cause__
        root.wanted = (root.target.rows_of(root.matching) if root.target is not None
                       else root.matching)
        if root.where is None:
            plan.tables[root.table].source_rows = root.matching
            plan.tables[root.table].source_rows_exact = True
    for tp in plan.tables.values():
        if tp.source_rows is not None:
            continue
        est = tp.table.row_estimate
        if est is None or est < 0 or est <= CHEAP_COUNT:
            tp.source_rows, tp.source_rows_exact = source.count(tp.table, None), True
        else:
            tp.source_rows = est
    estimate(plan)
    total = plan.source_total() or 0
    if exact_if_cheap and total <= CHEAP_SELECT:
        return plan, select(plan, reader, dialect)
    return plan, None


def select(plan: SubsetPlan, reader: SourceReader, dialect: str,
           progress: Progress | None = None, *, count_leaves: bool = True) -> Selection:
    """Run the selection; the returned Selection owns the key store (close it). Without
    ``count_leaves``, leaf children's counts stay None until their copy sets them
    (:meth:`Selection.copied`)."""
    return select_on_target(plan, subset_source(dialect, reader), key_store,
                            progress=progress, count_leaves=count_leaves)
