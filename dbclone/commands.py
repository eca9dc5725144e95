"""One function per verb. The CLI calls these; so can Python users. Nothing here prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbclone import pipeline
from dbclone.config import WorkspaceConfig, load_workspace
from dbclone.dialects import get_dialect
from dbclone.errors import ConfigError, did_you_mean
from dbclone.graph import build_graph, load_plan
from dbclone.transform import REGISTRY
from dbclone.transform.base import ALL_TYPES


def load(path: str | Path) -> WorkspaceConfig:
    return load_workspace(path)


def inspect(config: WorkspaceConfig) -> dict[str, Any]:
    """Tables, row estimates, FKs and cycles of the source, as plain data."""
    src, _ = pipeline.urls(config)
    with get_dialect(src.dialect).open_source(src) as source:
        snap = pipeline.introspect(config, source)
    graph = build_graph(snap)
    lp, findings = load_plan(graph, snap, strict=False)
    tables = []
    for t in sorted(snap.tables.values(), key=lambda t: t.ref):
        tables.append({
            "table": str(t.ref),
            "kind": "partition" if t.partition_of else t.kind,
            "partition_of": str(t.partition_of) if t.partition_of else None,
            "rows_estimate": t.row_estimate,
            "primary_key": list(t.primary_key),
            "columns": [{"name": c.name, "type": c.type_sql, "category": c.category.value,
                         "nullable": c.nullable, "identity": c.identity,
                         "generated": c.generated, "max_length": c.max_length}
                        for c in t.columns],
        })
    return {
        "source": str(src),
        "dialect": snap.dialect,
        "schemas": list(snap.schemas),
        "tables": tables,
        "views": [{"view": str(v.ref), "materialized": v.materialized}
                  for v in snap.views.values()],
        "foreign_keys": [{"name": fk.name, "from": str(fk.table), "columns": list(fk.columns),
                          "to": str(fk.ref_table), "ref_columns": list(fk.ref_columns),
                          "nullable": fk.nullable, "deferrable": fk.deferrable}
                         for fk in snap.foreign_keys],
        "cycles": [[str(t) for t in c] for c in lp.cycles],
        "self_references": [fk.describe() for fk in lp.self_references],
        "cycle_breaks": [fk.describe() for fk in lp.broken],
        "load_order": [str(r) for r in lp.order],
        "findings": [f.__dict__ for f in findings],
    }


def plan(config: WorkspaceConfig) -> pipeline.ClonePlan:
    return pipeline.plan(config)


def clone(config: WorkspaceConfig,
          observer: pipeline.RunObserver | None = None) -> pipeline.CloneReport:
    return pipeline.run(config, observer)


def generators(name: str | None = None) -> list[dict[str, Any]]:
    """The catalogue, or one entry of it."""
    if name is not None and name not in REGISTRY:
        hint = did_you_mean(name, list(REGISTRY))
        raise ConfigError(f"unknown generator '{name}'",
                          hint=hint or "run 'dbclone generators' for the list")
    names = [name] if name else sorted(REGISTRY)
    out = []
    for n in names:
        cls = REGISTRY[n]
        out.append({
            "name": n,
            "summary": cls.summary(),
            "doc": cls.doc(),
            "accepts": (["any"] if cls.accepts == ALL_TYPES
                        else sorted(c.value for c in cls.accepts)),
            "options": {f.alias or k: _describe_field(f)
                        for k, f in cls.Params.model_fields.items()},
            "masks": cls.masks,
            "unique_safe": cls.unique_safe,
            "may_return_source": cls.may_return_source,
        })
    return out


def _describe_field(f: Any) -> str:
    ann = getattr(f.annotation, "__name__", str(f.annotation))
    if f.is_required():
        default = "required"
    elif f.default_factory is not None:
        default = "default empty"
    else:
        default = f"default {f.default!r}"
    return f"{ann}, {default}"
