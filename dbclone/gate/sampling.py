"""Run the detector over columns of a live source: a bounded random sample of rows per table,
read inside the source's snapshot with one ``SourceReader.scan_rows`` query (one scan per
table, not one per column). Values stay in memory for the call and are never returned."""

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


def sample_values(source: SourceReader, table: Table, columns: list[str],
                  sample: int) -> dict[str, list[str | None]]:
    """Up to ``sample`` values per column from randomly chosen rows (one query)."""
    out: dict[str, list[str | None]] = {c: [] for c in columns}
    if not columns:
        return out
    try:
        rows = source.scan_rows(table, columns, limit=sample, sample=True)
        for row in rows:
            for name, value in zip(columns, row, strict=True):
                out[name].append(value)
    except NotImplementedError:
        pass  # the dialect cannot sample: the name and type decide
    return out


def detect(source: SourceReader, snapshot: SchemaSnapshot, table: Table,
           columns: Iterable[str], sample: int) -> dict[str, Detection]:
    """Detections for the given columns of ``table`` (sensitive ones only)."""
    wanted = []
    for name in columns:
        col = table.column(name)
        if col is None or col.generated is not None:
            continue
        wanted.append(col)
    values = sample_values(source, table, [c.name for c in wanted if c.category in SAMPLED],
                           sample)
    out: dict[str, Detection] = {}
    for col in wanted:
        det = classify(facts(table, col.name, snapshot), values.get(col.name, []))
        if det is not None:
            out[col.name] = det
    return out
