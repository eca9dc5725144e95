"""The drift gate: before any data moves, find the columns the workspace does not cover.

A column is *unconfigured* when no rule names it (and it does not follow a masked key).
Such a column stops the run (``on_unconfigured: fail``, the default) when

- it looks sensitive (the detector of ``dbclone init``, on a bounded sample), or
- a schema lock exists (``dbclone init`` wrote it beside the workspace) and the column, or its
  whole table, is not in it: it was added since the workspace was reviewed.

``mask`` gives it the suggested generator instead, ``null`` writes NULL, ``keep`` copies it
as it is; every such column is listed either way, with the suggested generator. Columns
kept on purpose by an explicit ``keep`` rule that look sensitive are recorded for the leak
audit (which fails on them unless ``audit.allow`` lists them).

Findings carry names, kinds and counts only: never a sampled value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from dbclone.config import GeneratorRule, WorkspaceConfig
from dbclone.dialects.base import SourceReader
from dbclone.errors import SchemaDrift
from dbclone.gate.detect import Detection
from dbclone.gate.lock import (
    SchemaLock,
    column_name,
    data_tables,
    load_lock,
    lock_path_for,
    table_name,
)
from dbclone.gate.sampling import detect, facts
from dbclone.gate.suggest import Suggestion, for_type, key_generator, suggest
from dbclone.introspect.snapshot import ColumnRef, SchemaSnapshot, Table
from dbclone.transform import MaskingPlan


@dataclass
class DriftFinding:
    """One unconfigured column: why it was caught, what is suggested, what was done."""

    column: ColumnRef
    name: str  # as the workspace writes it, e.g. customer.backup_email
    why: str  # "looks sensitive", "new column", "new table"
    reason: str  # the detector's counts, or ""
    kind: str | None
    suggestion: Suggestion
    policy: str  # fail | mask | null | keep
    action: str  # "stopped the run", "masked with fake_email", "NULL", "kept as is"

    def describe(self) -> str:
        what = self.why if not self.reason else f"{self.why}: {self.reason}"
        return (f"unclassified column {self.name} ({what}); suggested: "
                f"{self.suggestion.generator}" + ("" if self.policy == "fail" else
                                                  f"; on_unconfigured {self.policy}: "
                                                  f"{self.action}"))

    def to_json(self) -> dict[str, object]:
        return {"column": self.name, "why": self.why, "reason": self.reason, "kind": self.kind,
                "suggested": self.suggestion.spec(), "policy": self.policy,
                "action": self.action}


@dataclass
class GateResult:
    findings: list[DriftFinding] = field(default_factory=list)
    lock: Path | None = None  # the schema lock compared against, when there is one
    # explicit keep rules on columns that look sensitive: the audit looks for their values
    kept_sensitive: dict[ColumnRef, Detection] = field(default_factory=dict)
    # columns copied as they are by on_unconfigured: keep (the audit reports, never fails)
    kept_by_policy: set[ColumnRef] = field(default_factory=set)
    added_rules: list[GeneratorRule] = field(default_factory=list)
    columns_checked: int = 0

    @property
    def blocking(self) -> list[DriftFinding]:
        return [f for f in self.findings if f.policy == "fail"]

    def to_json(self, snapshot: SchemaSnapshot | None = None) -> dict[str, object]:
        return {
            "lock": str(self.lock) if self.lock else None,
            "columns_checked": self.columns_checked,
            "findings": [f.to_json() for f in self.findings],
            "kept_sensitive": sorted(
                (column_name(r, snapshot) if snapshot else str(r)) for r in self.kept_sensitive),
        }


def policy_for(config: WorkspaceConfig, schema: str) -> str:
    return config.on_unconfigured.get(schema, config.on_unconfigured.get("default", "fail"))


def check_drift(config: WorkspaceConfig, snapshot: SchemaSnapshot, source: SourceReader,
                masking: MaskingPlan, *, raise_on_fail: bool = True) -> GateResult:
    """The gate's findings; raises :class:`SchemaDrift` when any column stops the run."""
    lock_file = lock_path_for(config.path) if not config.path.startswith("<") else None
    lock = load_lock(lock_file) if lock_file is not None else None
    result = GateResult(lock=lock_file if lock is not None else None)
    covered = set(masking.rules) | set(masking.propagated)
    sample = config.audit.sample
    for table in data_tables(snapshot):
        unconfigured = [c.name for c in table.columns if c.generated is None
                        and ColumnRef(table.ref, c.name) not in covered]
        kept = [n for n in table.column_names
                if (g := masking.rules.get(ColumnRef(table.ref, n))) is not None
                and not g.masks]
        result.columns_checked += len(unconfigured) + len(kept)
        if not unconfigured and not kept:
            continue
        detections = detect(source, snapshot, table, [*unconfigured, *kept], sample)
        for name in kept:
            if name in detections:
                result.kept_sensitive[ColumnRef(table.ref, name)] = detections[name]
        for name in unconfigured:
            finding = _finding(config, snapshot, table, name, detections.get(name), lock)
            if finding is not None:
                result.findings.append(finding)
                _apply(config, snapshot, finding, result)
    if result.blocking and raise_on_fail:
        raise_drift(config, result)
    return result


def raise_drift(config: WorkspaceConfig, result: GateResult) -> None:
    blocking = result.blocking
    n = len(blocking)
    raise SchemaDrift(
        f"{config.path}: {n} column{'s' if n > 1 else ''} the workspace does not cover "
        "(nothing was written)",
        hint="add a rule for each (the suggested generator, or keep when it holds nothing "
             "personal), or set on_unconfigured: mask | null | keep; then "
             "'dbclone validate' again",
        problems=[f.describe() for f in blocking], gate=result)


def _finding(config: WorkspaceConfig, snapshot: SchemaSnapshot, table: Table, name: str,
             det: Detection | None, lock: SchemaLock | None) -> DriftFinding | None:
    tname = table_name(table.ref, snapshot)
    if det is not None:
        why = "looks sensitive"
    elif lock is not None and not lock.has_table(tname):
        why = f"new table since {_lock_label(lock)}"
    elif lock is not None and not lock.has_column(tname, name):
        why = f"new column since {_lock_label(lock)}"
    else:
        return None
    if det is not None and lock is not None:
        if not lock.has_table(tname):
            why = f"new table since {_lock_label(lock)}, looks sensitive"
        elif not lock.has_column(tname, name):
            why = f"new column since {_lock_label(lock)}, looks sensitive"
    col = table.column(name)
    assert col is not None
    ref = ColumnRef(table.ref, name)
    is_key = name in table.primary_key or any(name in u for u in table.unique_constraints)
    referenced = name in table.primary_key or any(
        fk.ref_table == table.ref and name in fk.ref_columns for fk in snapshot.foreign_keys)
    if det is not None:
        sug = suggest(det, col, is_key=is_key, referenced=referenced)
    else:  # nothing detected: by type, but a new key still needs a one-to-one mapping
        sug = key_generator(col) if is_key else for_type(col)
    policy = policy_for(config, table.ref.schema)
    return DriftFinding(ref, column_name(ref, snapshot), why, det.reason if det else "",
                        det.kind if det else None, sug, policy, "stopped the run")


def _lock_label(lock: SchemaLock) -> str:
    return "the schema lock" + (f" ({lock.written_at})" if lock.written_at else "")


def _apply(config: WorkspaceConfig, snapshot: SchemaSnapshot, f: DriftFinding,
           result: GateResult) -> None:
    """on_unconfigured mask | null | keep: the rule the column gets (none for keep)."""
    table = snapshot.tables[f.column.table]
    col = table.column(f.column.name)
    assert col is not None
    where = f"{config.path}: on_unconfigured: {f.policy}"
    if f.policy == "keep" or (f.policy != "fail" and facts(table, col.name,
                                                            snapshot).references_other_table):
        # a foreign-key column is masked only through its key (else its rows would orphan)
        f.action = "kept as is" if f.policy == "keep" else "kept as is (a foreign key)"
        result.kept_by_policy.add(f.column)
        return
    if f.policy == "fail":
        return
    sug = f.suggestion
    if f.policy == "null" and col.nullable:
        sug = Suggestion("null")
    if sug.generator == "keep":
        f.action = "kept as is (no masking generator fits)"
        result.kept_by_policy.add(f.column)
        return
    params = dict(sug.options)
    result.added_rules.append(GeneratorRule(f.name, sug.generator, params, where))
    f.action = "NULL" if sug.generator == "null" else f"masked with {sug.generator}"


def with_gate_rules(config: WorkspaceConfig, result: GateResult) -> WorkspaceConfig:
    """The workspace plus the rules on_unconfigured: mask | null gave to new columns."""
    if not result.added_rules:
        return config
    return replace(config, rules=(*config.rules, *result.added_rules))
