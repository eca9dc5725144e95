"""Applies the generators of one table to rows, in the loader's column order."""

from __future__ import annotations

from dbclone.introspect.snapshot import Table
from dbclone.transform.base import Generator


class ColumnMasker:
    """The :class:`~dbclone.dialects.base.RowMasker` for one table."""

    def __init__(self, table: Table, generators: dict[str, Generator]) -> None:
        names = [c.name for c in table.writable_columns]
        self.positions = [(names.index(n), g) for n, g in generators.items()]
        self.masked_positions = tuple(p for p, _ in self.positions)
        self._needs_key = any(not g.params.keep_null for g in generators.values())
        # Per masked column: values that came out equal to the source (NULLs, '' and the
        # generators that may by nature, like constant). The pipeline reports them.
        self.unchanged = dict.fromkeys(generators, 0)
        self.changed = dict.fromkeys(generators, 0)
        self._names = {p: n for n, (p, _) in zip(generators, self.positions, strict=True)}
        self._key_positions = [names.index(c) for c in table.primary_key if c in names] or list(
            range(len(names)))

    def mask_row(self, values: list) -> list:
        key = ""
        if self._needs_key:
            key = "\x1f".join(str(values[i]) for i in self._key_positions)
        for pos, gen in self.positions:
            before = values[pos]
            after = gen(before, key)
            if after == before:
                self.unchanged[self._names[pos]] += 1
            else:
                self.changed[self._names[pos]] += 1
            values[pos] = after
        return values
