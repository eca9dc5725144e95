"""The FK graph: one node per data table (partitions fold into their root), one edge per FK
from child to parent. Plan and load use this same code.

Load order is parents first. A cycle (a strongly connected component with more than one
table, or a self-reference) is broken by choosing FKs that can be loaded as NULL and set by an
UPDATE afterwards (nullable), or checked at commit (deferrable). A cycle with no such FK is
unbreakable: an error when the writer needs an order, a finding when it adds constraints
after the data anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from dbclone.dialects.base import Finding
from dbclone.errors import PlanError
from dbclone.introspect.snapshot import ForeignKey, SchemaSnapshot, TableRef


class UnbreakableCycle(PlanError):
    """An FK cycle in which every FK is NOT NULL and NOT DEFERRABLE."""


@dataclass
class LoadPlan:
    order: list[TableRef]  # parents first
    cycles: list[list[TableRef]] = field(default_factory=list)  # each SCC of size > 1
    self_references: list[ForeignKey] = field(default_factory=list)
    # FKs to load as NULL and UPDATE after (or rely on deferral), one set per cycle
    broken: list[ForeignKey] = field(default_factory=list)


def build_graph(snapshot: SchemaSnapshot) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for t in snapshot.data_tables():
        g.add_node(t.ref)
    for fk in snapshot.foreign_keys:
        child = snapshot.partition_root(fk.table)
        parent = snapshot.partition_root(fk.ref_table)
        if child not in g or parent not in g:
            continue  # an FK into a schema that was not introspected: nothing to order
        g.add_edge(child, parent, key=fk.name, fk=fk)
    return g


def load_plan(graph: nx.MultiDiGraph, snapshot: SchemaSnapshot | None = None, *,
              strict: bool = True) -> tuple[LoadPlan, list[Finding]]:
    """Parents-first order with cycles broken. ``strict`` raises on an unbreakable cycle;
    otherwise it becomes a finding (the writer loads with constraints off)."""
    findings: list[Finding] = []
    plan = LoadPlan(order=[])
    work = nx.MultiDiGraph(graph)
    for u, v, key, data in list(graph.edges(keys=True, data=True)):
        if u == v:
            plan.self_references.append(data["fk"])
            work.remove_edge(u, v, key)
    unbreakable: list[str] = []
    for scc in nx.strongly_connected_components(work):
        if len(scc) < 2:
            continue
        members = sorted(scc)
        plan.cycles.append(members)
        broken = _break_cycle(work, set(scc))
        if broken is None:
            fks = [d["fk"].describe() for _, _, d in work.subgraph(scc).edges(data=True)]
            unbreakable.append(f"cycle {', '.join(map(str, members))} through "
                               + "; ".join(fks))
            # Still drop the edges so an order exists for writers that don't need one.
            for u, v, k in list(work.subgraph(scc).edges(keys=True)):
                work.remove_edge(u, v, k)
        else:
            plan.broken.extend(broken)
    if unbreakable:
        if strict:
            raise UnbreakableCycle(
                "FK cycle with no nullable or deferrable foreign key",
                hint="make one FK in the cycle nullable or DEFERRABLE, or exclude a table",
                problems=unbreakable)
        findings.extend(Finding("warning", "fk graph", f"{u}: loaded with constraints off, "
                                "checked when they are added") for u in unbreakable)
    # reverse topological: an edge child -> parent, so parents come last in topo order
    order = list(nx.lexicographical_topological_sort(work.reverse(copy=True), key=str))
    plan.order = order
    return plan, findings


def _break_cycle(work: nx.MultiDiGraph, scc: set[TableRef]) -> list[ForeignKey] | None:
    """Remove breakable edges inside ``scc`` until it is acyclic; None if impossible."""
    removed: list[ForeignKey] = []
    while True:
        sub = work.subgraph(scc)
        try:
            cycle = nx.find_cycle(sub)
        except nx.NetworkXNoCycle:
            return removed
        candidates = []
        for u, v, k in cycle:
            fk: ForeignKey = work.edges[u, v, k]["fk"]
            if fk.nullable or fk.deferrable:
                # prefer deferrable (nothing to update), then nullable; stable by name
                candidates.append((0 if fk.deferrable else 1, fk.name, u, v, k, fk))
        if not candidates:
            return None
        *_, u, v, k, fk = min(candidates, key=lambda c: (c[0], c[1]))
        work.remove_edge(u, v, k)
        removed.append(fk)
