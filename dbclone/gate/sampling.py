"""Run the detector over columns of a live source: a bounded sample per column, read inside
the source's snapshot with ``SourceReader.column_stats(kind="sample")``. Values stay in
memory for the call and are never returned."""

from __future__ import annotations

from collections.abc import Iterable

from dbclone.dialects.base import SourceReader
from dbclone.gate.detect import ColumnFacts, Detection, classify
from dbclone.introspect.snapshot import SchemaSnapshot, Table, TypeCategory

# Only these carry values worth sampling; for numbers, dates and binary the name decides.
SAMPLED = frozenset({TypeCategory.TEXT, TypeCategory.OTHER, TypeCategory.JSON})


def facts(table: Table, column: str, snapshot: SchemaSnapshot) -> ColumnFacts:
    col = table.column(column)
    assert col is not None
    referencing = any(column in fk.columns and snapshot.partition_root(fk.ref_table)
                      != table.ref for fk in table.foreign_keys)
    return ColumnFacts(column, col.category,
                       tuple(c.name for c in table.columns if c.name != column), referencing)


def detect(source: SourceReader, snapshot: SchemaSnapshot, table: Table,
           columns: Iterable[str], sample: int) -> dict[str, Detection]:
    """Detections for the given columns of ``table`` (sensitive ones only)."""
    out: dict[str, Detection] = {}
    for name in columns:
        col = table.column(name)
        if col is None or col.generated is not None:
            continue
        values: list[str | None] = []
        if col.category in SAMPLED:
            try:
                values = [v for v, _ in source.column_stats(table, name, "sample", sample)]
            except NotImplementedError:
                values = []  # the dialect cannot sample: the name and type decide
        det = classify(facts(table, name, snapshot), values)
        if det is not None:
            out[name] = det
    return out
