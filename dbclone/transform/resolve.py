"""Workspace rules -> a :class:`MaskingPlan`: every rule bound to a real column and a checked
generator. All problems are collected and raised together, before any row moves."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pydantic import ValidationError

from dbclone.config import GeneratorRule, WorkspaceConfig
from dbclone.dialects.base import Finding
from dbclone.errors import PlanError, did_you_mean
from dbclone.introspect.snapshot import ColumnRef, SchemaSnapshot, Table, TableRef
from dbclone.transform import builtin as _builtin  # noqa: F401  (registers the catalogue)
from dbclone.transform.base import REGISTRY, Generator, GeneratorContext
from dbclone.transform.keyed import Keyer
from dbclone.transform.masker import ColumnMasker


@dataclass
class MaskingPlan:
    rules: dict[ColumnRef, Generator] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def for_table(self, ref: TableRef) -> dict[str, Generator]:
        return {c.name: g for c, g in self.rules.items() if c.table == ref and g.masks}

    def masker_for(self, table: Table) -> ColumnMasker | None:
        gens = self.for_table(table.ref)
        if not gens:
            return None
        return ColumnMasker(table, gens)


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
    for rule in config.rules:
        try:
            ref = _column_ref(rule, snapshot)
        except _Problem as p:
            problems.append(str(p))
            continue
        table = snapshot.tables[ref.table]
        gen = _make_generator(rule, ref, table, config, keyer, problems)
        if gen is None:
            continue
        if ref in plan.rules:
            problems.append(f"{rule.where}: {ref} has two rules")
            continue
        plan.rules[ref] = gen
    if not problems:
        problems.extend(_fk_consistency(plan, snapshot))
    if problems:
        raise PlanError(f"{config.path}: the masking rules cannot be applied",
                        hint="fix the rules listed; run 'dbclone generators' for the catalogue",
                        problems=problems)
    if not keyer.deterministic and any(g.masks for g in plan.rules.values()):
        plan.findings.append(Finding(
            "info", "secret", "no secret set: masked values are consistent within this run "
            "only; set DBCLONE_SECRET for the same output in every run"))
    for ref, gen in plan.rules.items():
        table = snapshot.tables[ref.table]
        if gen.masks and table.is_unique(ref.name) and not gen.unique_safe:
            plan.findings.append(Finding(
                "warning", str(ref), f"{gen.name} is not collision-free and the column is "
                "unique: a duplicate would stop the clone"))
    return plan


class _Problem(Exception):
    pass


def _column_ref(rule: GeneratorRule, snapshot: SchemaSnapshot) -> ColumnRef:
    parts = split_name(rule.column)
    if len(parts) == 2:
        parts = [snapshot.default_schema, *parts]
    if len(parts) != 3 or not all(parts):
        raise _Problem(f"{rule.where}: '{rule.column}' is not schema.table.column "
                       "(or table.column)")
    schema, tname, cname = parts
    tref = TableRef(schema, tname)
    table = snapshot.tables.get(tref)
    if table is None:
        if schema not in snapshot.schemas:
            hint = did_you_mean(schema, snapshot.schemas)
            raise _Problem(f"{rule.where}: schema '{schema}' is not in the source"
                           + (f" ({hint})" if hint else
                              f" (introspected: {', '.join(snapshot.schemas)})"))
        names = [str(t) for t in snapshot.tables]
        hint = did_you_mean(str(tref), names)
        raise _Problem(f"{rule.where}: table {tref} does not exist in the source"
                       + (f" ({hint})" if hint else ""))
    if table.partition_of is not None:
        root = snapshot.partition_root(tref)
        raise _Problem(f"{rule.where}: {tref} is a partition of {root}; put the rule on "
                       f"{root}.{cname} (it applies to every partition)")
    column = table.column(cname)
    if column is None:
        hint = did_you_mean(cname, table.column_names)
        raise _Problem(f"{rule.where}: column {tref}.{cname} does not exist"
                       + (f" ({hint})" if hint else ""))
    if column.generated is not None:
        raise _Problem(f"{rule.where}: {tref}.{cname} is a generated column; the database "
                       "computes it from the masked columns, so it takes no rule")
    return ColumnRef(tref, cname)


def _make_generator(rule: GeneratorRule, ref: ColumnRef, table: Table,
                    config: WorkspaceConfig, keyer: Keyer,
                    problems: list[str]) -> Generator | None:
    cls = REGISTRY.get(rule.type)
    if cls is None:
        hint = did_you_mean(rule.type, list(REGISTRY))
        problems.append(f"{rule.where}: {ref}: unknown generator '{rule.type}'"
                        + (f" ({hint})" if hint else " (see 'dbclone generators')"))
        return None
    locale = str(rule.params.get("locale", config.locale))
    params_in = {k: v for k, v in rule.params.items() if k != "locale"}
    try:
        params = cls.Params.model_validate(params_in)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = ("unknown option" + _opt_hint(loc, cls) if err["type"] == "extra_forbidden"
                   else err["msg"])
            problems.append(f"{rule.where}: {ref}: {rule.type}: {loc}: {msg}")
        return None
    column = table.column(ref.name)
    assert column is not None
    if column.category not in cls.accepts:
        kinds = ", ".join(sorted(c.value for c in cls.accepts))
        problems.append(f"{rule.where}: {ref}: {rule.type} does not fit a {column.type_sql} "
                        f"column (it takes: {kinds})")
        return None
    from dbclone.transform.pools import known_locale

    if not known_locale(locale):
        problems.append(f"{rule.where}: {ref}: unknown locale '{locale}'")
        return None
    gen = cls(params, GeneratorContext(table, column, ref, locale, keyer, rule.where))
    for p in gen.check():
        problems.append(f"{rule.where}: {p}")
    if not params.keep_null and not gen.masks:
        problems.append(f"{rule.where}: {ref}: keep_null: false needs a masking generator")
    return gen


def _opt_hint(name: str, cls: type[Generator]) -> str:
    hint = did_you_mean(name, list(cls.Params.model_fields))
    return f" ({hint})" if hint else f" (options: {', '.join(cls.Params.model_fields)})"


def _fk_consistency(plan: MaskingPlan, snapshot: SchemaSnapshot) -> list[str]:
    """A masked FK column must map exactly like the key it references, or joins break."""
    problems = []
    for fk in snapshot.foreign_keys:
        child = snapshot.partition_root(fk.table)
        parent = snapshot.partition_root(fk.ref_table)
        for ccol, pcol in zip(fk.columns, fk.ref_columns, strict=False):
            cg = plan.rules.get(ColumnRef(child, ccol))
            pg = plan.rules.get(ColumnRef(parent, pcol))
            cmask = cg is not None and cg.masks
            pmask = pg is not None and pg.masks
            if not cmask and not pmask:
                continue
            if cmask and pmask and cg.domain == pg.domain and _same_fit(cg, pg):
                continue
            problems.append(
                f"{child}.{ccol} -> {parent}.{pcol} ({fk.name}): both sides of a foreign key "
                "must be masked with the same generator and options, or neither")
    return problems


def _same_fit(a: Generator, b: Generator) -> bool:
    return a.ctx.column.max_length == b.ctx.column.max_length
