"""Applies the generators of one table to rows, in the loader's column order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dbclone.introspect.snapshot import Table
from dbclone.transform.base import Generator, Row


class ColumnMasker:
    """The :class:`~dbclone.dialects.base.RowMasker` for one table.

    Plain generators run first; those that read the row (template, conditional, date_shift
    by entity) run after, templates after the columns they name, so they see masked values.
    """

    def __init__(self, table: Table, generators: dict[str, Generator],
                 observers: Sequence[Callable[[Row], None]] = ()) -> None:
        names = [c.name for c in table.writable_columns]
        ordered = _order(generators)
        self.positions = [(names.index(n), n, g) for n, g in ordered]
        self.masked_positions = tuple(sorted(p for p, _, _ in self.positions))
        key_positions = [names.index(c) for c in table.primary_key if c in names] or list(
            range(len(names)))
        self.row = Row(names, key_positions)
        # Called with each masked row: another table's generator records what it needs of
        # this one (text_redact linked to a patient's names, through a foreign key).
        self.observers = tuple(observers)
        self._uses_row = bool(self.observers) or any(
            g.uses_row or not g.params.keep_null for g in generators.values())
        for g in generators.values():
            g.row = self.row
        self.read_positions = _read_positions(names, self.masked_positions,
                                              key_positions if self._uses_row else [],
                                              generators, bool(self.observers))
        # Per masked column: values that came out equal to the source (NULLs, '' and the
        # generators that may by nature, like constant). The pipeline reports them.
        self.unchanged = dict.fromkeys(generators, 0)
        self.changed = dict.fromkeys(generators, 0)

    def mask_row(self, values: list) -> list:
        source = list(values) if self._uses_row else values
        row = self.row
        row.source_values = source
        row.masked_values = values
        key = row.key() if self._uses_row else ""
        for pos, name, gen in self.positions:
            before = source[pos]
            after = gen(before, key)
            if after == before:
                self.unchanged[name] += 1
            else:
                self.changed[name] += 1
            values[pos] = after
        for observe in self.observers:
            observe(row)
        return values


def _read_positions(names: list[str], masked: tuple[int, ...], key_positions: list[int],
                    generators: dict[str, Generator], observed: bool) -> tuple[int, ...] | None:
    """The fields a row's masking reads (None: all): a loader need not decode the others."""
    if observed:
        return None
    needed = set(masked) | set(key_positions)
    for g in generators.values():
        reads = g.row_reads()
        if reads is None:
            return None
        for name in reads:
            if name not in names:
                return None
            needed.add(names.index(name))
    return tuple(sorted(needed))


def _order(generators: dict[str, Generator]) -> list[tuple[str, Generator]]:
    plain = [(n, g) for n, g in generators.items() if not g.uses_row]
    later = [(n, g) for n, g in generators.items() if g.uses_row]
    done = {n for n, _ in plain}
    ordered = list(plain)
    pending = list(later)
    while pending:
        for i, (n, g) in enumerate(pending):
            deps = [d for d in getattr(g, "depends_on", []) if d in generators]
            if all(d in done for d in deps):
                ordered.append((n, g))
                done.add(n)
                del pending[i]
                break
        else:  # a template cycle: run the rest in the given order (the plan reports it)
            ordered.extend(pending)
            break
    return ordered
