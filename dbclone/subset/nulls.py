"""Writing an FK column as NULL when its parent table is excluded from the subset."""

from __future__ import annotations

from dbclone.dialects.base import RowMasker
from dbclone.introspect.snapshot import Table


class NullingMasker:
    """A RowMasker that runs the table's masker (if any), then sets some columns to NULL.

    It plugs into the writers' masking path, so a nulled column is written exactly like a
    masked one, in every dialect."""

    def __init__(self, inner: RowMasker | None, null_positions: tuple[int, ...]) -> None:
        self.inner = inner
        self.null_positions = null_positions
        inner_pos = tuple(inner.masked_positions) if inner is not None else ()
        self.masked_positions = tuple(sorted(set(inner_pos) | set(null_positions)))
        self.prime_positions = tuple(getattr(inner, "prime_positions", ()))

    def prime(self, columns: dict[int, list[object]]) -> None:
        if self.inner is not None and self.prime_positions:
            self.inner.prime(columns)  # type: ignore[attr-defined]

    def mask_row(self, values: list) -> list:
        if self.inner is not None:
            values = self.inner.mask_row(values)
        for p in self.null_positions:
            values[p] = None
        return values


def with_nulls(masker: RowMasker | None, table: Table,
               columns: tuple[str, ...]) -> RowMasker | None:
    if not columns:
        return masker
    names = [c.name for c in table.writable_columns]
    positions = tuple(names.index(c) for c in columns if c in names)
    if not positions:
        return masker
    return NullingMasker(masker, positions)
