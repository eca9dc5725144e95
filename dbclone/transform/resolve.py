"""Workspace rules -> a :class:`MaskingPlan`: every rule bound to a real column and a checked
generator. All problems are collected and raised together, before any row moves."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from dbclone.config import WorkspaceConfig
from dbclone.dialects.base import Finding
from dbclone.errors import PlanError, did_you_mean
from dbclone.introspect.snapshot import Column, ColumnRef, SchemaSnapshot, Table, TableRef
from dbclone.introspect.snapshot import TypeCategory as Cat
from dbclone.transform import constraints
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
    _keys: list[constraints.KeySpace] | None = field(default=None, repr=False)
    _counts: dict[ColumnRef, constraints.ColumnFact] = field(default_factory=dict, repr=False)

    def for_table(self, ref: TableRef) -> dict[str, Generator]:
        return {c.name: g for c, g in self.rules.items() if c.table == ref and g.masks}

    def masker_for(self, table: Table) -> ColumnMasker | None:
        gens = self.for_table(table.ref)
        if not gens:
            return None
        return ColumnMasker(table, gens, self.observers.get(table.ref, ()))

    def isolated(self, ref: TableRef) -> bool:
        """Whether the table's masking keeps no state another table's masking reads or
        writes, so its rows may be masked in another process with the same result: no
        observers (rows recorded for other tables), no custom callable (it may count), and
        no generator shared with another table's column that remembers what it produced
        (a unique column's re-draws, shuffle's permutation)."""
        if self.observers.get(ref):
            return False
        mine = {c: g for c, g in self.rules.items() if c.table == ref and g.masks}
        for gen in mine.values():
            if gen.name == "custom":
                return False
            stateful = gen.unique or gen.name in ("shuffle", "categorical")
            if stateful and any(g is gen and c.table != ref for c, g in self.rules.items()):
                return False
        return True

    def needing_stats(self) -> list[tuple[ColumnRef, Any, str]]:
        out: list[tuple[ColumnRef, Any, str]] = [
            (ref, g, g.needs_stats) for ref, g in self.rules.items()
            if getattr(g, "needs_stats", None)]
        wanted = [w for key in self._key_spaces() for w in key.facts_wanted()]
        if wanted:
            out.extend(wanted)
            # Should a composite key turn out impossible, the plan reports it with the unique
            # columns' problems (see capacity_checks), so those are counted here too.
            for ref, g in self._bounded_unique():
                table = g.ctx.table
                if not constraints.roomy(table, g.value_space() or 0):
                    fact = constraints.ColumnFact(g.name, g.ctx.where, "distinct")
                    self._counts[ref] = fact
                    out.append((ref, fact, "distinct"))
        return out

    def _bounded_unique(self) -> list[tuple[ColumnRef, Generator]]:
        return [(ref, g) for ref, g in self.rules.items()
                if g.masks and g.unique and g.value_space() is not None]

    def capacity_checks(self, snapshot: SchemaSnapshot) -> list[tuple[ColumnRef, Any]]:
        """Unique masked columns whose generator has a bounded value space, for the caller
        to count; and the composite unique keys masking could exhaust (see
        constraints.KeySpace): a key proven impossible raises PlanError here, with every
        unique column's problem; a key that is not is handed over column by column (the
        lower bound), and what cannot be counted is said in a warning."""
        singles = self._bounded_unique()
        keys = self._key_spaces()
        impossible = [p for key in keys if (p := key.problem()) is not None]
        if impossible:
            problems = []
            for ref, g in singles:
                fact = self._counts.get(ref)
                space = g.value_space() or 0
                if fact is not None and fact.value is not None and fact.value > space:
                    problems.append(f"{g.ctx.where}: {ref}: {g.name} has ≈{space:,} values, "
                                    f"column needs {fact.value:,} distinct (it is unique)")
            raise PlanError("the masking rules cannot be applied to this data",
                            hint="use a generator with a larger value space (hash, "
                                 "format_preserving) for these columns",
                            problems=[*problems, *impossible])
        out: list[tuple[ColumnRef, Any]] = list(singles)
        for key in keys:
            out.extend(key.capacity_entries())
            finding = key.finding()
            if finding is not None and finding not in self.findings:
                self.findings.append(finding)
        return out

    def _key_spaces(self) -> list[constraints.KeySpace]:
        if self._keys is None:
            self._keys = []
            tables: dict[TableRef, dict[str, Generator]] = {}
            for ref, g in self.rules.items():
                tables.setdefault(ref.table, {})[ref.name] = g
            for gens in tables.values():
                table = next(iter(gens.values())).ctx.table
                self._keys.extend(constraints.KeySpace(table, key, gens)
                                  for key, _ in constraints.guarded_keys(table, gens))
        return self._keys


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
    groups = _Groups()
    _consistency_groups(plan, consistent, snapshot, problems, groups)
    if not problems:
        _propagate_keys(plan, specs, snapshot, keyer, problems, groups)
    owner = groups.share(plan)
    if not problems:
        _check_key_mappings(plan, owner, problems)
    for ref, gen in plan.rules.items():
        table = snapshot.tables[ref.table]
        gen.unique = gen.masks and table.is_unique(ref.name)
        if gen.unique:
            gen.reserve_excepted()
        link = getattr(gen, "link_tables", None)  # text_redact: rows of other tables
        if link is not None and not problems:
            problems.extend(f"{gen.ctx.where}: {p}" for p in link(snapshot, plan))
        problems.extend(f"{gen.ctx.where}: {p}" for p in gen.check())
    _check_values(plan, specs, owner, snapshot, problems)
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
    # a CHECK's length limit is the column's limit, as far as generators are concerned
    ctx = GeneratorContext(table, constraints.fitted_column(table, column), ref, locale, keyer,
                           where)
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


class _Groups:
    """Columns that share one mapping: consistent_with, and every FK column with the key it
    references. Each group's values come from one generator, built for its narrowest column
    (so they fit every column of the group)."""

    def __init__(self) -> None:
        self.parent: dict[ColumnRef, ColumnRef] = {}

    def find(self, ref: ColumnRef) -> ColumnRef:
        root = ref
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while ref != root:  # path compression
            self.parent[ref], ref = root, self.parent[ref]
        return root

    def join(self, a: ColumnRef, b: ColumnRef) -> None:
        self.parent.setdefault(a, a)
        self.parent.setdefault(b, b)
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb

    def share(self, plan: MaskingPlan) -> dict[ColumnRef, ColumnRef]:
        """Point each member at its group's generator; -> member: the column it draws for."""
        members: dict[ColumnRef, list[ColumnRef]] = {}
        for ref in list(self.parent):
            if ref in plan.rules:
                members.setdefault(self.find(ref), []).append(ref)
        owner = {ref: ref for ref in plan.rules}
        for group in members.values():
            rep = min(group, key=lambda r: (_width(plan.rules[r].ctx.column),
                                            r in plan.propagated, str(r)))
            for ref in group:
                owner[ref] = rep
                _share(plan.rules[ref], plan.rules[rep])
        return owner


def _width(column: Column) -> tuple[float, float]:
    """How much a column holds: characters, then the integer range."""
    from dbclone.transform.generators.structure import integer_bound

    chars = math.inf if column.max_length is None else column.max_length
    ints = integer_bound(column.type_sql) if column.category is Cat.INTEGER else math.inf
    return chars, ints


def _share(gen: Generator, rep: Generator) -> None:
    """``gen`` draws with ``rep``'s mapping: equal inputs give equal outputs in both."""
    gen.domain = rep.domain
    if gen is not rep:
        gen.generate = rep.generate  # type: ignore[method-assign]
        gen.native_kernel = rep.native_kernel  # type: ignore[method-assign]  # its C loop too
        gen.value_space = rep.value_space  # type: ignore[method-assign]
        # computed by the database, it draws as rep draws too (rep's fitted pool, say)
        gen.pushdown_spec = getattr(rep, "pushdown_spec", lambda: None)  # type: ignore


def _options(gen: Generator) -> dict[str, Any]:
    """What shapes a generator's values: its options but for the NULL and '' policy."""
    return {**gen.params.model_dump(exclude={"keep_null", "keep_empty"}),
            "locale": gen.ctx.locale}


def _consistency_groups(plan: MaskingPlan, consistent: dict[ColumnRef, tuple[str, str]],
                        snapshot: SchemaSnapshot, problems: list[str],
                        groups: _Groups) -> None:
    """consistent_with: share another column's mapping (same generator and options)."""
    for ref, (target_name, where) in consistent.items():
        try:
            target = column_ref(target_name, where, snapshot)
        except RuleProblem as p:
            problems.append(f"{p} (in consistent_with)")
            continue
        gen, other = plan.rules[ref], plan.rules.get(target)
        if target == ref:
            problems.append(f"{where}: {ref}: consistent_with names the column itself")
        elif other is None:
            problems.append(f"{where}: {ref}: consistent_with {target} names a column "
                            "without a rule")
        elif other.name != gen.name:
            problems.append(f"{where}: {ref}: consistent_with {target}, which uses "
                            f"{other.name}, not {gen.name}")
        elif gen.uses_row:
            problems.append(f"{where}: {ref}: consistent_with does not apply to {gen.name}, "
                            "whose values depend on the rest of the row")
        elif (mine := _options(gen)) != (theirs := _options(other)):
            diff = ", ".join(f"{k}: {mine.get(k)!r} vs {theirs.get(k)!r}"
                             for k in sorted(set(mine) | set(theirs), key=str)
                             if mine.get(k) != theirs.get(k))
            problems.append(f"{where}: {ref}: consistent_with {target}: the options differ "
                            f"({diff}); columns sharing a mapping need the same ones")
        else:
            groups.join(ref, target)


def _propagate_keys(plan: MaskingPlan, specs: dict[ColumnRef, tuple[str, dict[str, Any], str]],
                    snapshot: SchemaSnapshot, keyer: Keyer, problems: list[str],
                    groups: _Groups) -> None:
    """A masked key's mapping is applied to every FK column referencing it (composite and
    self-referencing FKs alike), so joins survive; a masked FK column whose key is not
    masked would orphan its rows."""
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
                if child == parent or groups.find(child) == groups.find(parent):
                    continue  # already one mapping (or a column referencing itself)
                cg, pg = plan.rules.get(child), plan.rules.get(parent)
                cmask = cg is not None and cg.masks
                pmask = pg is not None and pg.masks
                if not cmask and not pmask:
                    continue
                if pmask and cg is None:
                    assert pg is not None
                    type_name, options, locale = specs[parent]
                    gen = _build(type_name, options, locale, child, snapshot, keyer,
                                 pg.ctx.where, problems)
                    if gen is not None:
                        plan.rules[child] = gen
                        specs[child] = specs[parent]
                        plan.propagated[child] = parent
                        groups.join(child, parent)
                        changed = True
                    continue
                if (cmask and pmask and cg is not None and pg is not None
                        and cg.domain == pg.domain
                        and cg.params.except_values == pg.params.except_values):
                    groups.join(child, parent)  # masked alike on both sides: one mapping
                    changed = True
                    continue
                problems.append(
                    f"{child} -> {parent} ({fk.name}): both sides of a foreign key must be "
                    "masked with the same generator and options "
                    + ("(the key is masked; remove the rule on the referencing column, it "
                       "gets the key's mapping)" if pmask else
                       "(mask the referenced key instead; its mapping is applied here)"))


def _check_key_mappings(plan: MaskingPlan, owner: dict[ColumnRef, ColumnRef],
                        problems: list[str]) -> None:
    """A masked key referenced by FK columns must map one to one (in the generator the
    group draws with), and fit every column of the group."""
    reported = set()
    for child, parent in plan.propagated.items():
        gen = plan.rules[owner[parent]]
        root = plan.rules[parent]
        if not getattr(gen, "one_to_one", False) and parent not in reported:
            reported.add(parent)
            narrowed = (f" on {owner[parent]} ({gen.ctx.column.type_sql}), the narrowest "
                        "column sharing the mapping"
                        if _width(gen.ctx.column) < _width(root.ctx.column) else "")
            problems.append(f"{root.ctx.where}: {parent}: {gen.name} is not one-to-one"
                            f"{narrowed}, so a masked key referenced by {child} could "
                            "collide; use integer_key, uuid_key or hash")


def _check_values(plan: MaskingPlan, specs: dict[ColumnRef, tuple[str, dict[str, Any], str]],
                  owner: dict[ColumnRef, ColumnRef], snapshot: SchemaSnapshot,
                  problems: list[str]) -> None:
    """CHECK constraints and enum/domain membership of each masked column, against what its
    generator produces (see constraints.py). What cannot be checked is said in a finding."""
    probes: dict[ColumnRef, Generator | None] = {}
    for ref, gen in plan.rules.items():
        if not gen.masks:
            continue
        table = snapshot.tables[ref.table]
        column = gen.ctx.column
        rules = constraints.rules_for(table, column)
        tried = True
        if rules:
            src = owner.get(ref, ref)
            if src not in probes:
                probes[src] = _probe(plan.rules[src], specs.get(src))
            probe = probes[src]
            if probe is None:
                tried = False
            else:
                found, tried = constraints.value_problems(probe, table, column, str(ref),
                                                          gen.ctx.where, rules)
                problems.extend(found)
        for check in constraints.unchecked(table, column):
            simple = [r for r in check.rules if r.column.lower() == column.name.lower()]
            if simple and tried:
                level, what = "info", (
                    "only its simple conditions on the column ("
                    + "; ".join(r.describe() for r in simple) + ") are checked at plan time")
            else:
                level, what = "warning", (
                    "it is not checked at plan time (" + (
                        f"{gen.name}'s values depend on the rest of the row)" if simple else
                        "only IN, =, <>, comparisons with a constant, BETWEEN and length "
                        "limits are)"))
            rest = "the rest" if level == "info" else "it"
            finding = Finding(level, str(ref), f"{gen.ctx.where}: CHECK {check.name} "
                              f"({check.expression}) reads {ref}, masked by {gen.name}: "
                              f"{what}; the database enforces {rest} while loading")
            if finding not in plan.findings:
                plan.findings.append(finding)
        if rules and not tried:
            finding = Finding("warning", str(ref), f"{gen.ctx.where}: {ref}: {gen.name}'s "
                              "values depend on the rest of the row, so "
                              + "; ".join(sorted({r.source for r in rules}))
                              + " is not checked at plan time")
            if finding not in plan.findings:
                plan.findings.append(finding)


def _probe(gen: Generator, spec: tuple[str, dict[str, Any], str] | None) -> Generator | None:
    """A twin of ``gen`` drawing with the fixed plan-time key (see constraints.PROBE_KEYER)."""
    if spec is None:
        return None
    type_name, options, _locale = spec
    try:
        return make_generator(type_name, options,
                              replace(gen.ctx, keyer=constraints.PROBE_KEYER))
    except Exception:  # it was built once already; the plan reports the rest
        return None
