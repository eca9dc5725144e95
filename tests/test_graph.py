"""FK graph: load order, cycles, breaks. Pure data, no database."""

from __future__ import annotations

import pytest

from dbclone.graph import UnbreakableCycle, build_graph, load_plan
from dbclone.introspect.snapshot import Column, ForeignKey, SchemaSnapshot, Table, TableRef


def T(name: str, schema: str = "public") -> TableRef:
    return TableRef(schema, name)


def col(name: str, nullable: bool = True) -> Column:
    return Column(name, "int", "integer", nullable=nullable)


def fk(name: str, child: str, cols: tuple, parent: str, ref: tuple, nullable: bool = False,
       deferrable: bool = False, child_schema: str = "public",
       parent_schema: str = "public") -> ForeignKey:
    return ForeignKey(name, T(child, child_schema), cols, T(parent, parent_schema), ref,
                      nullable=nullable, deferrable=deferrable)


def snap(*tables: Table) -> SchemaSnapshot:
    return SchemaSnapshot("postgresql", "db", "public", ("public", "billing"),
                          {t.ref: t for t in tables})


def order_of(s: SchemaSnapshot, strict: bool = True) -> list[str]:
    plan, _ = load_plan(build_graph(s), s, strict=strict)
    return [str(r) for r in plan.order]


def test_dag_loads_parents_first() -> None:  # case 06
    s = snap(
        Table(T("price_point"), (col("id"), col("product_id", False)), ("id",),
              foreign_keys=(fk("pp_product", "price_point", ("product_id",), "product",
                                   ("id",)),)),
        Table(T("product"), (col("id"), col("brand_id", False)), ("id",),
              foreign_keys=(fk("p_brand", "product", ("brand_id",), "brand", ("id",)),)),
        Table(T("brand"), (col("id"),), ("id",)),
    )
    assert order_of(s) == ["public.brand", "public.product", "public.price_point"]
    plan, _ = load_plan(build_graph(s), s)
    assert plan.cycles == [] and plan.broken == []


def test_cycle_is_broken_at_the_nullable_fk() -> None:  # case 05
    captain = fk("team_captain", "team", ("captain_id",), "player", ("id",), nullable=True)
    s = snap(
        Table(T("team"), (col("id"), col("captain_id")), ("id",), foreign_keys=(captain,)),
        Table(T("player"), (col("id"), col("team_id", False)), ("id",),
              foreign_keys=(fk("player_team", "player", ("team_id",), "team", ("id",)),)),
    )
    plan, findings = load_plan(build_graph(s), s)
    assert [str(r) for r in plan.order] == ["public.team", "public.player"]
    assert plan.broken == [captain]
    assert plan.cycles == [[T("player"), T("team")]]
    assert findings == []


def test_unbreakable_cycle_names_tables_and_fks() -> None:  # case 05, both NOT NULL
    s = snap(
        Table(T("a"), (col("id"), col("b_id", False)), ("id",),
              foreign_keys=(fk("a_b", "a", ("b_id",), "b", ("id",)),)),
        Table(T("b"), (col("id"), col("a_id", False)), ("id",),
              foreign_keys=(fk("b_a", "b", ("a_id",), "a", ("id",)),)),
    )
    with pytest.raises(UnbreakableCycle) as info:
        load_plan(build_graph(s), s, strict=True)
    text = str(info.value)
    assert "cycle public.a, public.b" in text
    assert "[a_b]" in text and "[b_a]" in text
    # a writer that adds constraints after the data gets a warning instead
    plan, findings = load_plan(build_graph(s), s, strict=False)
    assert len(plan.order) == 2 and findings[0].level == "warning"


def test_deferrable_fk_is_preferred_to_break() -> None:
    x = fk("x", "a", ("b_id",), "b", ("id",), nullable=True)
    y = fk("y", "b", ("a_id",), "a", ("id",), deferrable=True)
    s = snap(Table(T("a"), (col("id"), col("b_id")), ("id",), foreign_keys=(x,)),
             Table(T("b"), (col("id"), col("a_id", False)), ("id",), foreign_keys=(y,)))
    plan, _ = load_plan(build_graph(s), s)
    assert plan.broken == [y]


def test_self_references_twice_are_recorded_not_cycles() -> None:  # case 02
    p = fk("parent", "thread_msg", ("parent_id",), "thread_msg", ("id",), nullable=True)
    r = fk("root", "thread_msg", ("root_id",), "thread_msg", ("id",), nullable=True)
    s = snap(Table(T("thread_msg"), (col("id"), col("parent_id"), col("root_id")), ("id",),
                   foreign_keys=(p, r)))
    plan, _ = load_plan(build_graph(s), s)
    assert plan.order == [T("thread_msg")]
    assert sorted(f.name for f in plan.self_references) == ["parent", "root"]


def test_cross_schema_edge_is_fully_qualified() -> None:  # case 15
    s = snap(Table(T("payer"), (col("id"),), ("id",)),
             Table(T("charge", "billing"), (col("id"), col("payer_id")), ("id",),
                   foreign_keys=(fk("c_p", "charge", ("payer_id",), "payer", ("id",),
                                    child_schema="billing"),)))
    g = build_graph(s)
    assert list(g.edges()) == [(T("charge", "billing"), T("payer", "public"))]
    assert all(n.schema is not None for n in g.nodes)


def test_partitions_fold_into_their_root() -> None:  # case 11
    sale = Table(T("sale"), (col("id"),), kind="partitioned")
    p1 = Table(T("sale_2023"), (col("id"),), partition_of=T("sale"))
    s = snap(sale, p1)
    assert order_of(s) == ["public.sale"]
