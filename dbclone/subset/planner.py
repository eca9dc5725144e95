"""The subset planner: workspace ``subset:`` + SchemaSnapshot -> :class:`SubsetPlan`. Pure.

Which tables get rows and why, walked over the FK graph plus virtual FKs:

- roots get their sampled / filtered rows;
- every included row brings its parents (upstream, transitively, always: integrity);
- rows of a root, and rows reached as children, bring their children (downstream, if on);
  rows pulled in as parents do not, or 10% of customers would grow into the whole database;
- every included row brings its 1:1 extension rows (a child whose primary key is the FK),
  so a parent never arrives without its translation / detail row (case 07);
- passthrough tables are copied whole, excluded ones never; a kept row that needs an excluded
  row through a NOT NULL FK is an error naming the FK, or makes that table passthrough when
  the workspace says ``excluded_referenced: passthrough`` (case 08); a nullable FK to an
  excluded table is written as NULL.

The same plan drives ``dbclone plan`` and the run (one code path), and everything here is
checked before any row moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from dbclone.config.subset import NamedTable, SubsetSpec, VirtualFKSpec
from dbclone.dialects.base import Finding
from dbclone.errors import ConfigError, PlanError, did_you_mean
from dbclone.graph import UnbreakableCycle, build_graph, load_plan
from dbclone.introspect.snapshot import SchemaSnapshot, Table, TableRef
from dbclone.subset.model import Edge, Role, RootPlan, SubsetPlan, TablePlan
from dbclone.transform.resolve import split_name

PseudoKey = Callable[[Table], str | None]


def build_plan(spec: SubsetSpec, snapshot: SchemaSnapshot, *,
               pseudo_key: PseudoKey = lambda t: None) -> SubsetPlan:
    """Resolve names, build the edges and decide every table's role. Raises ConfigError for
    names that do not resolve and PlanError for what cannot be carried out."""
    roots = [RootPlan(resolve_table(r.table, r.at, snapshot), r.target, r.where, r.where_at)
             for r in spec.roots]
    passthrough = _resolve_all(spec.passthrough, snapshot)
    excluded = _resolve_all(spec.exclude, snapshot)
    _check_overlaps(roots, passthrough, excluded, spec)
    edges = fk_edges(snapshot) + [virtual_edge(v, snapshot) for v in spec.virtual_fks]
    tables = {t.ref: TablePlan(t, Role.UNREACHED) for t in snapshot.data_tables()}
    findings: list[Finding] = []
    auto: dict[TableRef, str] = {}  # excluded tables copied whole instead: why
    while True:
        for tp in tables.values():
            tp.role, tp.reasons, tp.downstream, tp.null_columns = Role.UNREACHED, [], False, ()
        _reach(spec, tables, edges, roots, passthrough | set(auto), excluded - set(auto))
        for ref, why in auto.items():
            tables[ref].add_reason("needed by", why)
        needed = _excluded_but_needed(tables, edges)
        if not needed:
            break
        if spec.excluded_referenced != "passthrough":
            raise PlanError(
                f"{spec.at}: subset: an excluded table is still needed through a NOT NULL "
                "foreign key",
                hint="remove it from exclude, or set excluded_referenced: passthrough to copy "
                     "such tables whole",
                problems=[f"{e.short()} [{e.name}]: {e.child} keeps rows that need "
                          f"{e.parent}, which is excluded" for e in needed])
        for e in needed:
            auto.setdefault(e.parent, e.short())
            findings.append(Finding("warning", str(e.parent),
                                    f"excluded, but copied whole: {e.short()} needs it "
                                    "(excluded_referenced: passthrough)"))
    _null_out(tables, edges, findings)
    _keys(tables, pseudo_key, snapshot)
    plan = SubsetPlan(spec, roots, tables, [], findings=findings)
    _wire(plan, edges)
    _check_cycles(plan, snapshot)
    return plan


# -- names ------------------------------------------------------------------------------------

def resolve_table(name: str, at: str, snapshot: SchemaSnapshot) -> TableRef:
    """'schema.table' or 'table' (the default schema) -> a table of the snapshot."""
    parts = split_name(name)
    if len(parts) == 1:
        parts = [snapshot.default_schema, parts[0]]
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{at}: '{name}' is not schema.table (or table)",
                          hint="quote names with dots: '\"my.schema\".orders'")
    ref = TableRef(parts[0], parts[1])
    table = snapshot.tables.get(ref)
    if table is None:
        if ref.schema not in snapshot.schemas:
            hint = did_you_mean(ref.schema, snapshot.schemas)
            raise ConfigError(f"{at}: schema '{ref.schema}' is not in the source",
                              hint=hint or f"introspected: {', '.join(snapshot.schemas)}")
        names = [str(t) for t in snapshot.tables] + [t.name for t in snapshot.tables]
        hint = did_you_mean(name, names) or did_you_mean(str(ref), names)
        raise ConfigError(f"{at}: table {ref} does not exist in the source",
                          hint=hint or "run 'dbclone inspect' for the list of tables")
    if table.partition_of is not None:
        root = snapshot.partition_root(ref)
        raise ConfigError(f"{at}: {ref} is a partition of {root}",
                          hint=f"name {root}: its rows are read through the partitioned table")
    return ref


def _resolve_all(names: tuple[NamedTable, ...], snapshot: SchemaSnapshot) -> set[TableRef]:
    return {resolve_table(n.name, n.at, snapshot) for n in names}


def _check_overlaps(roots: list[RootPlan], passthrough: set[TableRef], excluded: set[TableRef],
                    spec: SubsetSpec) -> None:
    for r in roots:
        if r.table in excluded:
            raise ConfigError(f"{spec.at}: {r.table} is a root and excluded",
                              hint="remove it from exclude or from the roots")
        if r.table in passthrough:
            raise ConfigError(f"{spec.at}: {r.table} is a root and passthrough",
                              hint="a passthrough table is copied whole; remove one of the two")
    both = sorted(passthrough & excluded)
    if both:
        raise ConfigError(f"{spec.at}: {both[0]} is both passthrough and excluded",
                          hint="remove it from one of the two lists")
    seen: set[TableRef] = set()
    for r in roots:
        if r.table in seen:
            raise ConfigError(f"{spec.at}: {r.table} is listed twice as a root",
                              hint="combine the conditions into one root's where")
        seen.add(r.table)


# -- edges --------------------------------------------------------------------------------------

def fk_edges(snapshot: SchemaSnapshot) -> list[Edge]:
    """Declared FKs between data tables (partitions fold into their root; the same FK
    declared on every partition counts once)."""
    data = {t.ref for t in snapshot.data_tables()}
    out: dict[tuple, Edge] = {}
    for fk in sorted(snapshot.foreign_keys, key=lambda f: (f.table, f.name)):
        child = snapshot.partition_root(fk.table)
        parent = snapshot.partition_root(fk.ref_table)
        if child not in data or parent not in data:
            continue  # into a schema that is not cloned: nothing to select there
        key = (child, fk.columns, parent, fk.ref_columns)
        out.setdefault(key, Edge(fk.name, child, fk.columns, parent, fk.ref_columns,
                                 fk.nullable, fk=fk))
    return list(out.values())


def virtual_edge(v: VirtualFKSpec, snapshot: SchemaSnapshot) -> Edge:
    child = resolve_table(v.child, v.at, snapshot)
    parent = resolve_table(v.parent, v.at, snapshot)
    ct, pt = snapshot.tables[child], snapshot.tables[parent]
    for table, cols in ((ct, v.child_columns), (pt, v.parent_columns)):
        for c in cols:
            if table.column(c) is None:
                hint = did_you_mean(c, table.column_names)
                raise ConfigError(f"{v.at}: virtual foreign key: column {table.ref}.{c} does "
                                  "not exist", hint=hint or "columns: "
                                  + ", ".join(table.column_names))
    for cc, pc in zip(v.child_columns, v.parent_columns, strict=True):
        a, b = ct.column(cc), pt.column(pc)
        assert a is not None and b is not None
        if a.category != b.category:
            raise ConfigError(f"{v.at}: virtual foreign key: {child}.{cc} is {a.type_sql} but "
                              f"{parent}.{pc} is {b.type_sql}",
                              hint="the columns of both sides must have the same kind of type")
    nullable = all(ct.column(c).nullable for c in v.child_columns)  # type: ignore[union-attr]
    name = v.name or f"virtual:{child.name}({','.join(v.child_columns)})"
    return Edge(name, child, v.child_columns, parent, v.parent_columns, nullable, virtual=True)


def is_extension(edge: Edge, tables: dict[TableRef, TablePlan]) -> bool:
    """A 1:1 extension: the child's primary key is exactly the FK (course_text.id -> course)."""
    pk = tables[edge.child].table.primary_key
    return bool(pk) and set(pk) == set(edge.child_columns) and edge.child != edge.parent


# -- reach ---------------------------------------------------------------------------------------

def _reach(spec: SubsetSpec, tables: dict[TableRef, TablePlan], edges: list[Edge],
           roots: list[RootPlan], passthrough: set[TableRef], excluded: set[TableRef]) -> None:
    for ref in excluded:
        tables[ref].role = Role.EXCLUDED
    for ref in passthrough:
        tables[ref].role = Role.PASSTHROUGH
        tables[ref].add_reason("passthrough")
    for r in roots:
        tp = tables[r.table]
        tp.role = Role.ROOT
        tp.add_reason("root")
        tp.downstream = spec.downstream

    def include(ref: TableRef, kind: str, other: TableRef) -> bool:
        tp = tables[ref]
        if tp.role is Role.EXCLUDED:
            return False
        if ref != other:
            tp.add_reason(kind, str(other))
        if tp.role is Role.UNREACHED:
            tp.role = Role.REACHED
            return True
        return False

    changed = True
    while changed:  # to a fixpoint: cycles and self-references close here
        changed = False
        for e in edges:
            child, parent = tables[e.child], tables[e.parent]
            has_rows = child.role in (Role.ROOT, Role.REACHED, Role.PASSTHROUGH)
            if has_rows and parent.role is not Role.PASSTHROUGH:
                changed |= include(e.parent, "parent of", e.child)
            if (spec.extension_rows and is_extension(e, tables)
                    and parent.role in (Role.ROOT, Role.REACHED, Role.PASSTHROUGH)
                    and child.role is not Role.EXCLUDED):
                if parent.role is Role.PASSTHROUGH and child.role in (Role.UNREACHED,
                                                                       Role.REACHED):
                    # every parent row is kept, so every extension row is: copy it whole
                    child.role = Role.PASSTHROUGH
                    child.add_reason("extension of", f"{e.parent} (passthrough)")
                    changed = True
                elif parent.role is not Role.PASSTHROUGH:
                    changed |= include(e.child, "extension of", e.parent)
            if parent.downstream and child.role in (Role.UNREACHED, Role.REACHED, Role.ROOT):
                changed |= include(e.child, "child of", e.parent)
                if not child.downstream:
                    child.downstream = True
                    changed = True


def _excluded_but_needed(tables: dict[TableRef, TablePlan], edges: list[Edge]) -> list[Edge]:
    out = []
    for e in edges:
        child, parent = tables[e.child], tables[e.parent]
        if (parent.role is Role.EXCLUDED and not e.virtual and not e.nullable
                and child.role in (Role.ROOT, Role.REACHED, Role.PASSTHROUGH)):
            out.append(e)
    return out


def _null_out(tables: dict[TableRef, TablePlan], edges: list[Edge],
              findings: list[Finding]) -> None:
    """A nullable FK into an excluded table is written as NULL, so no row dangles."""
    for e in edges:
        child, parent = tables[e.child], tables[e.parent]
        if (parent.role is Role.EXCLUDED and not e.virtual and e.nullable
                and child.role in (Role.ROOT, Role.REACHED, Role.PASSTHROUGH)):
            cols = tuple(c for c in e.child_columns if c not in child.null_columns)
            child.null_columns = child.null_columns + cols
            findings.append(Finding("info", str(e.child),
                                    f"{', '.join(e.child_columns)} written as NULL: "
                                    f"{e.parent} is excluded"))


# -- keys and wiring -----------------------------------------------------------------------------

def row_key(table: Table, pseudo: str | None) -> tuple[tuple[str, ...], bool] | None:
    if table.primary_key:
        return table.primary_key, False
    for unique in table.unique_constraints:
        cols = [table.column(c) for c in unique]
        if cols and all(c is not None and not c.nullable for c in cols):
            return tuple(unique), False
    if pseudo:
        return (pseudo,), True
    return None


def is_unique(table: TablePlan, columns: tuple[str, ...]) -> bool:
    t = table.table
    keys = [t.primary_key, *t.unique_constraints] + ([table.key] if not table.pseudo_key else [])
    return any(k and set(k) == set(columns) for k in keys)


def _keys(tables: dict[TableRef, TablePlan], pseudo_key: PseudoKey,
          snapshot: SchemaSnapshot) -> None:
    problems = []
    for tp in tables.values():
        if not tp.in_store:
            continue
        found = row_key(tp.table, pseudo_key(tp.table))
        if found is None:
            problems.append(f"{tp.ref} ({tp.why()}) has no primary key or UNIQUE NOT NULL key")
            continue
        tp.key, tp.pseudo_key = found
    if problems:
        raise PlanError("the subset cannot tell these tables' rows apart",
                        hint="add a primary key, or list the table under passthrough (copied "
                             "whole) or exclude", problems=problems)


def _wire(plan: SubsetPlan, edges: list[Edge]) -> None:
    """Which edges the selection follows, and the columns each table's rows must carry."""
    tables = plan.tables
    extra: dict[TableRef, list[str]] = {ref: [] for ref in tables}
    for e in edges:
        child, parent = tables[e.child], tables[e.parent]
        has_rows = child.role in (Role.ROOT, Role.REACHED, Role.PASSTHROUGH)
        if not has_rows or parent.role in (Role.EXCLUDED, Role.UNREACHED):
            continue
        plan.edges.append(e)
        if parent.role is Role.PASSTHROUGH:
            continue  # every parent row is there already
        if child.role is Role.PASSTHROUGH:
            plan.passthrough_up.setdefault(e.child, []).append(e)
        else:
            plan.up.setdefault(e.child, []).append(e)
            extra[e.child].extend(e.child_columns)
        extra[e.parent].extend(e.parent_columns)  # looked up when parents are needed
        if child.role is Role.PASSTHROUGH:
            continue
        if plan.spec.extension_rows and is_extension(e, tables):
            plan.extension.setdefault(e.parent, []).append(e)
        if parent.downstream and child.downstream:
            plan.down.setdefault(e.parent, []).append(e)
    for ref, tp in tables.items():
        if tp.in_store:
            tp.stored = tuple(dict.fromkeys([*tp.key, *extra[ref]]))


def _check_cycles(plan: SubsetPlan, snapshot: SchemaSnapshot) -> None:
    """A cycle of NOT NULL, NOT DEFERRABLE FKs among the tables that get rows is refused at
    plan time (case 05): no load order exists for it, so it must not fail half-way."""
    keep = {ref for ref, tp in plan.tables.items()
            if tp.role in (Role.ROOT, Role.REACHED, Role.PASSTHROUGH)}
    graph = build_graph(snapshot).subgraph(keep).copy()
    try:
        load_plan(graph, snapshot, strict=True)
    except UnbreakableCycle as exc:
        raise UnbreakableCycle(f"{plan.spec.at}: subset: {exc.message} among the tables the "
                               "subset copies", hint=exc.hint, problems=exc.problems) from None


# -- estimates -----------------------------------------------------------------------------------

def estimate(plan: SubsetPlan) -> None:
    """Expected rows per table from the roots' counts, without reading any row: a share of
    parents selected gives the same share of their children; k child rows reference about
    n·(1-(1-1/n)^k) distinct parents out of n."""
    tables = plan.tables
    share: dict[TableRef, float] = dict.fromkeys(tables, 0.0)
    down: dict[TableRef, float] = dict.fromkeys(tables, 0.0)
    for ref, tp in tables.items():
        if tp.role is Role.PASSTHROUGH:
            share[ref] = 1.0
    for r in plan.roots:
        n = tables[r.table].source_rows or 0
        s = (r.wanted or 0) / n if n else 0.0
        share[r.table] = max(share[r.table], s)
        if plan.spec.downstream:
            down[r.table] = share[r.table]
    for _ in range(50):  # cycles: iterate until the shares settle
        before = dict(share)
        for parent, edges in plan.down.items():
            for e in edges:
                down[e.child] = max(down[e.child], down[parent])
                share[e.child] = max(share[e.child], down[e.child])
        for parent, edges in plan.extension.items():
            for e in edges:
                share[e.child] = max(share[e.child], share[parent])
        for child, edges in [*plan.up.items(), *plan.passthrough_up.items()]:
            k = share[child] * (tables[child].source_rows or 0)
            for e in edges:
                if e in plan.down.get(e.parent, ()):
                    continue  # rows reached as its children reference the rows counted
                n = tables[e.parent].source_rows or 0
                if n and k:
                    got = 1.0 - math.exp(k * math.log1p(-1.0 / n)) if n > 1 else 1.0
                    share[e.parent] = max(share[e.parent], min(1.0, got))
        if all(abs(share[r] - before[r]) < 1e-9 for r in tables):
            break
    for ref, tp in tables.items():
        if tp.role in (Role.EXCLUDED, Role.UNREACHED):
            tp.estimate = 0.0
        else:
            tp.estimate = share[ref] * (tp.source_rows or 0)
    for r in plan.roots:
        if r.wanted is not None:
            tables[r.table].estimate = max(tables[r.table].estimate or 0.0, float(r.wanted))
