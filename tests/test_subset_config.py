"""The workspace subset: section: sizes, roots, virtual FKs and every error's file:line."""

from __future__ import annotations

import pytest

from dbclone.config import parse_workspace
from dbclone.config.subset import TargetSize
from dbclone.errors import ConfigError

HEAD = """\
source: {url: sqlite:///src.db}
destination: {url: sqlite:///dst.db}
subset:
"""


def subset_of(body: str):
    ws = parse_workspace(HEAD + body, "ws.yaml", env={})
    assert ws.subset is not None
    return ws.subset


def error_of(body: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_workspace(HEAD + body, "ws.yaml", env={})
    return info.value


def test_full_section_parses_with_lines() -> None:
    s = subset_of("""\
  root_table: public.customers
  target_size: 10%
  where: "created_at >= '2024-01-01'"
  seed: 42
  passthrough: [public.countries, public.currencies]
  exclude: [public.audit_log]
  virtual_foreign_keys:
    - {from: public.orders(customer_ref), to: public.customers(external_id)}
  downstream: false
  extension_rows: false
  excluded_referenced: passthrough
""")
    (root,) = s.roots
    assert (root.table, root.at, root.where) == ("public.customers", "ws.yaml:4",
                                                 "created_at >= '2024-01-01'")
    assert root.target == TargetSize("percent", 10.0, "10%")
    assert s.seed == 42 and not s.downstream and not s.extension_rows
    assert [(n.name, n.at) for n in s.passthrough] == [("public.countries", "ws.yaml:8"),
                                                       ("public.currencies", "ws.yaml:8")]
    (v,) = s.virtual_fks
    assert (v.child, v.child_columns, v.parent, v.parent_columns, v.at) == (
        "public.orders", ("customer_ref",), "public.customers", ("external_id",), "ws.yaml:11")
    assert s.excluded_referenced == "passthrough"


def test_defaults_downstream_and_extension_rows_on_seed_zero() -> None:
    s = subset_of("  root_table: customer\n")
    assert (s.downstream, s.extension_rows, s.seed, s.excluded_referenced) == (
        True, True, 0, "error")
    assert s.roots[0].target is None


@pytest.mark.parametrize(("text", "kind", "value", "rows_of_200"), [
    ("10%", "percent", 10.0, 20), ("0.5%", "percent", 0.5, 1), ("100%", "percent", 100.0, 200),
    ("0.25", "fraction", 0.25, 50), ("500", "rows", 500.0, 200), ("7", "rows", 7.0, 7),
    ("0%", "percent", 0.0, 0)])
def test_target_sizes(text: str, kind: str, value: float, rows_of_200: int) -> None:
    t = subset_of(f"  root_table: c\n  target_size: {text}\n").roots[0].target
    assert (t.kind, t.value, t.rows_of(200)) == (kind, value, rows_of_200)


@pytest.mark.parametrize(("text", "message"), [
    ("150%", "target_size 150% is outside 0%..100%"),
    ("-5%", "target_size -5% is outside 0%..100%"),
    ("-1", "target_size -1 is below 0"),
    ("1.5", "target_size 1.5 is outside 0..1 (a fraction)"),
    ("lots", "target_size: 'lots' is not a size"),
    ("true", "target_size: 'True' is not a size")])
def test_bad_target_size_names_its_line(text: str, message: str) -> None:
    e = error_of(f"  root_table: c\n  target_size: {text}\n")
    assert str(e) == f"ws.yaml:5: {message}"


def test_several_roots_each_with_its_size() -> None:
    s = subset_of("""\
  roots:
    - {table: public.customer, target_size: 5%}
    - {table: public.store, where: "store_id = 1"}
    - public.staff
""")
    assert [(r.table, r.at, r.target.text if r.target else None, r.where) for r in s.roots] == [
        ("public.customer", "ws.yaml:5", "5%", None),
        ("public.store", "ws.yaml:6", None, "store_id = 1"),
        ("public.staff", "ws.yaml:7", None, None)]


def test_root_table_and_roots_together_are_refused() -> None:
    e = error_of("  root_table: a\n  roots: [b]\n")
    assert str(e) == "ws.yaml:5: subset has both root_table and roots"


def test_no_root_is_refused() -> None:
    e = error_of("  target_size: 10%\n")
    assert str(e) == "ws.yaml:3: subset: needs root_table (or roots)"


def test_unknown_subset_key_suggests() -> None:
    e = error_of("  root_table: a\n  pasthrough: [b]\n")
    assert str(e) == "ws.yaml:5: unknown key 'pasthrough'"
    assert e.hint == "did you mean 'passthrough'?"


def test_unknown_root_key_suggests() -> None:
    e = error_of("  roots:\n    - {table: a, taget_size: 5%}\n")
    assert str(e) == "ws.yaml:5: unknown key 'taget_size'"
    assert e.hint == "did you mean 'target_size'?"


def test_virtual_fk_with_different_column_counts() -> None:
    e = error_of("  root_table: a\n  virtual_foreign_keys:\n"
                 "    - {from: 'o(a, b)', to: 'c(x)'}\n")
    assert str(e) == ("ws.yaml:6: virtual foreign key has 2 column(s) in 'from' and 1 in 'to'")


def test_virtual_fk_that_is_not_table_columns() -> None:
    e = error_of("  root_table: a\n  virtual_foreign_keys:\n    - {from: orders, to: c(x)}\n")
    assert str(e) == "ws.yaml:6: 'orders' is not schema.table(column, ...)"


def test_virtual_fk_quoted_columns() -> None:
    s = subset_of("  root_table: a\n  virtual_foreign_keys:\n"
                  "    - {from: 'o(\"Cust, Ref\", b)', to: 'c(x, \"Y\")'}\n")
    assert s.virtual_fks[0].child_columns == ("Cust, Ref", "b")
    assert s.virtual_fks[0].parent_columns == ("x", "Y")


def test_excluded_referenced_choice_suggests() -> None:
    e = error_of("  root_table: a\n  excluded_referenced: passthru\n")
    assert str(e) == "ws.yaml:5: excluded_referenced: unknown choice 'passthru'"
    assert e.hint == "did you mean 'passthrough'?"


def test_seed_must_be_whole() -> None:
    e = error_of("  root_table: a\n  seed: abc\n")
    assert str(e) == "ws.yaml:5: seed must be a whole number"


def test_exclude_and_virtual_fk_items_carry_their_own_lines() -> None:
    """Unknown names are found at plan time (against the source); the error then points at
    the line of the item itself, recorded here."""
    s = subset_of("""\
  root_table: a
  exclude:
    - public.audit_log
    - public.sesions
  virtual_foreign_keys:
    - {from: public.orders(customer_ref), to: public.customers(external_id)}
    - from: public.ordrs(customer_ref)
      to: public.customers(external_id)
""")
    assert [(n.name, n.at) for n in s.exclude] == [("public.audit_log", "ws.yaml:6"),
                                                   ("public.sesions", "ws.yaml:7")]
    assert [(v.child, v.at) for v in s.virtual_fks] == [("public.orders", "ws.yaml:9"),
                                                        ("public.ordrs", "ws.yaml:10")]


def test_exclude_item_that_is_not_a_name_is_refused() -> None:
    e = error_of("  root_table: a\n  exclude:\n    - public.audit_log\n    - {x: 1}\n")
    assert str(e) == "ws.yaml:7: exclude lists table names"
