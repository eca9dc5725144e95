"""One function per verb. The CLI calls these; so can Python users. Nothing here prints."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbclone import pipeline
from dbclone.config import WorkspaceConfig, load_workspace
from dbclone.config.privacy import DEFAULT_SAMPLE
from dbclone.dialects import get_dialect
from dbclone.dialects.base import Finding
from dbclone.errors import ConfigError, did_you_mean
from dbclone.gate.drift import DriftFinding, GateResult, check_drift, with_gate_rules
from dbclone.gate.init import InitResult, init_workspace
from dbclone.gate.lock import column_name, data_tables
from dbclone.graph import build_graph, load_plan
from dbclone.introspect.snapshot import ColumnRef
from dbclone.transform import REGISTRY, resolve_rules
from dbclone.transform.base import ALL_TYPES
from dbclone.transform.factory import RuleProblem
from dbclone.transform.resolve import column_ref


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


def clone(config: WorkspaceConfig, observer: pipeline.RunObserver | None = None, *,
          audit: bool = True) -> pipeline.CloneReport:
    """Clone; ``audit=False`` skips the leak audit for this run (``clone --no-audit``)."""
    return pipeline.run(without_audit(config) if not audit else config, observer)


def without_audit(config: WorkspaceConfig) -> WorkspaceConfig:
    """The workspace with the leak audit turned off (the models are frozen: copies)."""
    return dataclasses.replace(config, audit=config.audit.model_copy(update={"enabled": False}))


def init(source_url: str, output: str | Path = "workspace.yaml", *,
         destination_url: str | None = None, sample: int = DEFAULT_SAMPLE,
         schemas: list[str] | None = None, force: bool = False) -> InitResult:
    """``dbclone init``: sample the source, flag its sensitive columns, write a complete
    workspace and its schema lock (dbclone/gate/init.py). Sampled values are never returned
    or written."""
    return init_workspace(source_url, output, destination_url=destination_url, sample=sample,
                          schemas=list(schemas) if schemas else None, force=force)


@dataclass
class Validation:
    """What ``dbclone validate`` found: the drift gate's result and the rules' warnings."""

    workspace: str
    source: str  # without the password
    gate: GateResult
    warnings: list[Finding] = field(default_factory=list)
    # explicit keep rules on columns that look sensitive (and audit.allow does not list):
    # the leak audit fails the clone on them
    kept_sensitive: list[tuple[str, str, str]] = field(default_factory=list)  # name, kind, why
    tables: int = 0
    seconds: float = 0.0

    @property
    def findings(self) -> list[DriftFinding]:
        return self.gate.findings

    @property
    def blocking(self) -> list[DriftFinding]:
        return self.gate.blocking

    @property
    def ok(self) -> bool:
        return not self.blocking

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace, "source": self.source, "ok": self.ok,
            "lock": str(self.gate.lock) if self.gate.lock else None,
            "tables": self.tables, "columns_checked": self.gate.columns_checked,
            "blocking": len(self.blocking),
            "findings": [f.to_json() for f in self.findings],
            "kept_sensitive": [{"column": n, "kind": k, "reason": r}
                               for n, k, r in self.kept_sensitive],
            "warnings": [f.__dict__ for f in self.warnings],
            "seconds": round(self.seconds, 3),
        }


def validate(config: WorkspaceConfig) -> Validation:
    """The drift gate without cloning: introspect, resolve the rules, check every column the
    workspace does not cover. Nothing is written; the caller decides what blocking means."""
    started = time.monotonic()
    src, _ = pipeline.urls(config)
    with get_dialect(src.dialect).open_source(src) as source:
        snap = pipeline.introspect(config, source)
        masking = resolve_rules(config, snap)
        gate = check_drift(config, snap, source, masking, raise_on_fail=False)
        if gate.added_rules:
            # the rules on_unconfigured: mask | null gives must resolve too, as in plan
            masking = resolve_rules(with_gate_rules(config, gate), snap)
    allowed: set[ColumnRef] = set()
    warnings = list(masking.findings)
    for name in config.audit.allow:
        try:
            allowed.add(column_ref(name, f"{config.path}: audit.allow", snap))
        except RuleProblem as p:
            warnings.append(Finding("warning", name, f"{p}; not in the source"))
    kept = [(column_name(ref, snap), det.kind, det.reason)
            for ref, det in sorted(gate.kept_sensitive.items(),
                                   key=lambda kv: (kv[0].table, kv[0].name))
            if ref not in allowed]
    return Validation(config.path, str(src), gate, warnings, kept, len(data_tables(snap)),
                      time.monotonic() - started)


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
