"""The subset plan as plain data, for ``dbclone plan`` (text and JSON) and the clone summary."""

from __future__ import annotations

from typing import Any

from dbclone.subset.model import SubsetPlan


def subset_data(plan: SubsetPlan) -> dict[str, Any]:
    """Per table: rows in the source, rows selected (counted, or ≈ estimated), why."""
    tables = []
    for ref in sorted(plan.tables):
        tp = plan.tables[ref]
        counted = tp.selected is not None
        selected = tp.selected if counted else tp.estimate
        tables.append({
            "table": str(ref),
            "role": tp.role.value,
            "source_rows": tp.source_rows,
            "source_rows_exact": tp.source_rows_exact,
            "selected_rows": None if selected is None else round(selected),
            "selected_exact": counted,
            "why": tp.why(),
            "null_columns": list(tp.null_columns),
        })
    return {
        "roots": [{"table": str(r.table), "target": r.target.text if r.target else None,
                   "where": r.where, "matching_rows": r.matching, "wanted_rows": r.wanted}
                  for r in plan.roots],
        "seed": plan.spec.seed,
        "downstream": plan.spec.downstream,
        "extension_rows": plan.spec.extension_rows,
        "exact": plan.exact,
        "summary": plan.summary(),
        "tables": tables,
    }


def rows_text(n: float | None, exact: bool) -> str:
    if n is None:
        return "?"
    return f"{round(n):,}" if exact else f"≈{round(n):,}"


def share_text(selected: float | None, total: int | None) -> str:
    if selected is None or not total:
        return "-"
    return f"{100 * selected / total:.1f}%"
