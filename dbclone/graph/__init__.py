"""SchemaSnapshot -> networkx FK graph; cycles; load order. Pure: no database access."""

from dbclone.graph.fk_graph import LoadPlan, UnbreakableCycle, build_graph, load_plan

__all__ = ["LoadPlan", "UnbreakableCycle", "build_graph", "load_plan"]
