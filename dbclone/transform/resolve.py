"""Workspace rules -> a :class:`MaskingPlan`: every rule bound to a real column and a checked
generator. All problems are collected and raised together, before any row moves."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbclone.config import WorkspaceConfig
from dbclone.dialects.base import Finding
from dbclone.errors import PlanError, did_you_mean
from dbclone.introspect.snapshot import ColumnRef, SchemaSnapshot, Table, TableRef
from dbclone.transform import generators as _catalogue  # noqa: F401  (registers it)
from dbclone.transform.base import Generator, GeneratorContext, Row
from dbclone.transform.factory import RuleProblem, make_generator
from dbclone.transform.keyed import Keyer
from dbclone.transform.masker import ColumnMasker
from dbclone.transform.pools import known_locale

# Keys of a rule that the plan handles itself; the rest are the generator's options.
PLAN_KEYS = ("locale", "consistent_with")


@dataclass
class MaskingPlan:
    rules: dict[ColumnRef, Generator] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    # columns masked because the key they reference is masked (child -> parent)
    propagated: dict[ColumnRef, ColumnRef] = field(default_factory=dict)
    # per table: callables that see each of its masked rows (text_redact's linked tables)
    observers: dict[TableRef, list[Callable[[Row], None]]] = field(default_factory=dict)

    def for_table(self, ref: TableRef) -> dict[str, Generator]:
        return {c.name: g for c, g in self.rules.items() if c.table == ref and g.masks}

    def masker_for(self, table: Table) -> ColumnMasker | None:
        gens = self.for_table(table.ref)
        if not gens:
            return None
        return ColumnMasker(table, gens, self.observers.get(table.ref, ()))

    def needing_stats(self) -> list[tuple[ColumnRef, Generator, str]]:
        return [(ref, g, g.needs_stats) for ref, g in self.rules.items()
                if getattr(g, "needs_stats", None)]

    def capacity_checks(self, snapshot: SchemaSnapshot) -> list[tuple[ColumnRef, Generator]]:
        """Unique masked columns whose generator has a bounded value space."""
        out = []
        for ref, g in self.rules.items():
            if g.masks and g.unique and g.value_space() is not None:
                out.append((ref, g))
        return out


class MissingColumn(RuleProblem):
    """A rule names a column its table does not have (any more)."""


def split_name(text: str) -> list[str]:
    """Split ``schema.table.column`` on dots outside double quotes; quotes are removed."""
    parts, cur, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def secret_for(config: WorkspaceConfig) -> str | None:
    return config.secret or os.environ.get("DBCLONE_SECRET") or None


def resolve_rules(config: WorkspaceConfig, snapshot: SchemaSnapshot,
                  keyer: Keyer | None = None) -> MaskingPlan:
    keyer = keyer or Keyer(secret_for(config))
    plan = MaskingPlan()
    problems: list[str] = []
    specs: dict[ColumnRef, tuple[str, dict[str, Any], str]] = {}
    consistent: dict[ColumnRef, tuple[str, str]] = {}
    for rule in config.rules:
        try:
            ref = column_ref(rule.column, rule.where, snapshot)
        except MissingColumn as p:
            # The workspace is older than the schema (a column was dropped or renamed): the
            # rule protects nothing, so it is a warning; the drift gate covers new columns.
            plan.findings.append(Finding("warning", rule.column, f"{p}; rule skipped"))
            continue
        except RuleProblem as p:
            problems.append(str(p))
            continue
        if ref in plan.rules:
            problems.append(f"{rule.where}: {ref} has two rules")
            continue
        options = {k: v for k, v in rule.params.items() if k not in PLAN_KEYS}
        locale = str(rule.params.get("locale", config.locale))
        gen = _build(rule.type, options, locale, ref, snapshot, keyer, rule.where, problems)
        if gen is None:
            continue
        plan.rules[ref] = gen
        specs[ref] = (rule.type, options, locale)
        if "consistent_with" in rule.params:
            consistent[ref] = (str(rule.params["consistent_with"]), rule.where)
    _consistency_groups(plan, consistent, snapshot, problems)
    if not problems:
        _propagate_keys(plan, specs, snapshot, keyer, problems)
    for ref, gen in plan.rules.items():
        table = snapshot.tables[ref.table]
        gen.unique = gen.masks and table.is_unique(ref.name)
        link = getattr(gen, "link_tables", None)  # text_redact: rows of other tables
        if link is not None and not problems:
            problems.extend(f"{gen.ctx.where}: {p}" for p in link(snapshot, plan))
        problems.extend(f"{gen.ctx.where}: {p}" for p in gen.check())
    if problems:
        raise PlanError(f"{config.path}: the masking rules cannot be applied",
                        hint="fix the rules listed; run 'dbclone generators' for the catalogue",
                        problems=problems)
    if not keyer.deterministic and any(g.masks for g in plan.rules.values()):
        plan.findings.append(Finding(
            "info", "secret", "no secret set: masked values are consistent within this run "
            "only; set DBCLONE_SECRET for the same output in every run"))
    return plan


def _build(type_name: str, options: dict[str, Any], locale: str, ref: ColumnRef,
           snapshot: SchemaSnapshot, keyer: Keyer, where: str,
           problems: list[str]) -> Generator | None:
    if not known_locale(locale):
        problems.append(f"{where}: {ref}: unknown locale '{locale}'")
        return None
    table = snapshot.tables[ref.table]
    column = table.column(ref.name)
    assert column is not None
    ctx = GeneratorContext(table, column, ref, locale, keyer, where)
    try:
        gen = make_generator(type_name, options, ctx)
    except RuleProblem as p:
        problems.extend(f"{where}: {line}" for line in str(p).splitlines())
        return None
    if not gen.params.keep_null and not gen.masks:
        problems.append(f"{where}: {ref}: keep_null: false needs a masking generator")
    if not gen.params.keep_null and not column.nullable and gen.name == "null":
        problems.append(f"{where}: {ref}: null on a NOT NULL column")
    return gen


def column_ref(name: str, where: str, snapshot: SchemaSnapshot) -> ColumnRef:
    """Resolve 'schema.table.column' or 'table.column' (default schema) to a real column."""
    parts = split_name(name)
    if len(parts) == 2:
        parts = [snapshot.default_schema, *parts]
    if len(parts) != 3 or not all(parts):
        raise RuleProblem(f"{where}: '{name}' is not schema.table.column (or table.column)")
    schema, tname, cname = parts
    tref = TableRef(schema, tname)
    table = snapshot.tables.get(tref)
    if table is None:
        if schema not in snapshot.schemas:
            hint = did_you_mean(schema, snapshot.schemas)
            raise RuleProblem(f"{where}: schema '{schema}' is not in the source"
                              + (f" ({hint})" if hint else
                                 f" (introspected: {', '.join(snapshot.schemas)})"))
        hint = did_you_mean(str(tref), [str(t) for t in snapshot.tables])
        raise RuleProblem(f"{where}: table {tref} does not exist in the source"
                          + (f" ({hint})" if hint else ""))
    if table.partition_of is not None:
        root = snapshot.partition_root(tref)
        raise RuleProblem(f"{where}: {tref} is a partition of {root}; put the rule on "
                          f"{root}.{cname} (it applies to every partition)")
    column = table.column(cname)
    if column is None:
        hint = did_you_mean(cname, table.column_names)
        raise MissingColumn(f"{where}: column {tref}.{cname} does not exist"
                            + (f" ({hint})" if hint else ""))
    if column.generated is not None:
        raise RuleProblem(f"{where}: {tref}.{cname} is a generated column; the database "
                          "computes it from the masked columns, so it takes no rule")
    return ColumnRef(tref, cname)


def _consistency_groups(plan: MaskingPlan, consistent: dict[ColumnRef, tuple[str, str]],
                        snapshot: SchemaSnapshot, problems: list[str]) -> None:
    """consistent_with: share another column's mapping (same generator required)."""
    for ref, (target_name, where) in consistent.items():
        try:
            target = column_ref(target_name, where, snapshot)
        except RuleProblem as p:
            problems.append(f"{p} (in consistent_with)")
            continue
        gen, other = plan.rules[ref], plan.rules.get(target)
        if other is None:
            problems.append(f"{where}: {ref}: consistent_with {target} names a column "
                            "without a rule")
        elif other.name != gen.name:
            problems.append(f"{where}: {ref}: consistent_with {target}, which uses "
                            f"{other.name}, not {gen.name}")
        else:
            gen.domain = other.domain


def _propagate_keys(plan: MaskingPlan, specs: dict[ColumnRef, tuple[str, dict[str, Any], str]],
                    snapshot: SchemaSnapshot, keyer: Keyer, problems: list[str]) -> None:
    """A masked key's mapping is applied to every FK column referencing it, so joins
    survive; a masked FK column whose key is not masked would orphan its rows."""
    changed = True
    while changed:  # to a fixpoint: a propagated column may itself be referenced
        changed = False
        for fk in snapshot.foreign_keys:
            child_t = snapshot.partition_root(fk.table)
            parent_t = snapshot.partition_root(fk.ref_table)
            if child_t not in snapshot.tables or parent_t not in snapshot.tables:
                continue
            for ccol, pcol in zip(fk.columns, fk.ref_columns, strict=False):
                child, parent = ColumnRef(child_t, ccol), ColumnRef(parent_t, pcol)
                cg, pg = plan.rules.get(child), plan.rules.get(parent)
                cmask = cg is not None and cg.masks
                pmask = pg is not None and pg.masks
                if not cmask and not pmask:
                    continue
                if pmask and cg is None:
                    type_name, options, locale = specs[parent]
                    gen = _build(type_name, options, locale, child, snapshot, keyer,
                                 pg.ctx.where, problems)
                    if gen is not None:
                        gen.domain = pg.domain
                        plan.rules[child] = gen
                        specs[child] = specs[parent]
                        plan.propagated[child] = parent
                        changed = True
                    continue
                if cmask and pmask and cg.domain == pg.domain and _same_fit(cg, pg):
                    continue
                problems.append(
                    f"{child} -> {parent} ({fk.name}): both sides of a foreign key must be "
                    "masked with the same generator and options "
                    + ("(the key is masked; remove the rule on the referencing column, it "
                       "gets the key's mapping)" if pmask else
                       "(mask the referenced key instead; its mapping is applied here)"))
    for child, parent in plan.propagated.items():
        gen = plan.rules[parent]
        if not getattr(gen, "one_to_one", False):
            problems.append(f"{gen.ctx.where}: {parent}: {gen.name} is not one-to-one, so a "
                            f"masked key referenced by {child} could collide; use "
                            "integer_key, uuid_key or hash")


def _same_fit(a: Generator, b: Generator) -> bool:
    return a.ctx.column.max_length == b.ctx.column.max_length
