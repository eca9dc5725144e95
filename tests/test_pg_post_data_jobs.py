"""Post-data by pg_restore -j2 unless foreign keys between tables form a cycle: two of its
ADD CONSTRAINTs at once then lock the same two tables in opposite orders and deadlock."""

from __future__ import annotations

from dbclone.dialects.postgresql.writer import _fk_cycle
from dbclone.introspect.snapshot import ForeignKey, Table, TableRef


def _tables(*edges: tuple[str, str]) -> list[Table]:
    names = {n for e in edges for n in e}
    fks: dict[str, list[ForeignKey]] = {n: [] for n in names}
    for child, parent in edges:
        fks[child].append(ForeignKey(f"{child}_{parent}_fk", TableRef("public", child),
                                     ("ref",), TableRef("public", parent), ("id",)))
    return [Table(TableRef("public", n), (), foreign_keys=tuple(fks[n])) for n in names]


def test_a_cycle_between_tables_replays_post_data_in_one_session() -> None:
    assert _fk_cycle(_tables(("employee", "department"), ("department", "employee")))
    assert _fk_cycle(_tables(("a", "b"), ("b", "c"), ("c", "a")))


def test_a_self_reference_or_a_tree_keeps_pg_restore_parallel() -> None:
    assert not _fk_cycle(_tables(("employee", "employee"), ("employee", "department")))
    assert not _fk_cycle(_tables(("rental", "customer"), ("payment", "rental"),
                                 ("payment", "customer")))
    assert not _fk_cycle([])
