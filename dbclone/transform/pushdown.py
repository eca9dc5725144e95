"""What a database needs to compute a generator's output itself, value for value.

A generator that can run inside the source's SELECT describes its output as a *spec*: the
keyed hash it draws from (see :mod:`dbclone.transform.keyed`: HMAC-SHA256 under a per-domain
key the database can use without the secret) and how the draw becomes a value. A dialect
renders the spec as SQL (``dbclone/dialects/<name>/pushdown.py``); the rows then pass through
dbclone without being parsed. Every spec must give exactly what the generator's ``generate``
gives: tests compare the two paths row by row.

Where SQL could disagree with Python (text outside printable ASCII for the shape tests, a
date out of range), the rendered SQL fails on purpose and the table is copied through the
Python path instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dbclone import native
from dbclone.transform.base import MAX_ATTEMPTS, Generator
from dbclone.transform.keyed import Keyer

MIN_POOL = 64  # below this many values, eight re-draws could all hit the source value


@dataclass(frozen=True)
class Draw:
    """HMAC-SHA256 under one domain's key, as the two padded blocks of RFC 2104."""

    inner: bytes  # K_d xor ipad, 64 bytes
    outer: bytes  # K_d xor opad, 64 bytes


def draws(keyer: Keyer, domain: str) -> tuple[Draw, ...]:
    """The draws of attempts 0..MAX_ATTEMPTS-1 (re-draws use ``domain#attempt``)."""
    return tuple(Draw(*keyer.pads(domain if k == 0 else f"{domain}#{k}"))
                 for k in range(MAX_ATTEMPTS))


@dataclass(frozen=True)
class Common:
    """What every spec shares: the generator's NULL, '' and except handling."""

    column: str
    except_values: tuple[str, ...]
    may_return_source: bool


@dataclass(frozen=True)
class PoolSpec:
    """``values[n % len(values)]``."""

    common: Common
    draws: tuple[Draw, ...]
    values: tuple[str, ...]


@dataclass(frozen=True)
class EmailSpec:
    """``first.last<digits>@domain`` from one draw, fitted to ``limit`` (FakeEmail)."""

    common: Common
    draws: tuple[Draw, ...]
    first: tuple[str, ...]
    last: tuple[str, ...]
    domains: tuple[str, ...]
    limit: int | None


@dataclass(frozen=True)
class SsnSpec:
    """9xx-gg-ssss (or nine digits) from one draw (FakeSsn)."""

    common: Common
    draws: tuple[Draw, ...]
    limit: int | None


@dataclass(frozen=True)
class DateShiftSpec:
    """A DATE column moved by the entity's keyed offset (DateShift on a date column)."""

    common: Common
    shift: Draw  # the shift domain's draw, keyed on the entity
    entity: tuple[str, ...]  # the columns whose source text, joined by \\x1f, is the entity
    lo: int
    hi: int


Spec = PoolSpec | EmailSpec | SsnSpec | DateShiftSpec


def spec_for(gen: Generator) -> Spec | None:
    """The generator's spec, or None when it must (or had better) run in dbclone."""
    if not gen.masks or gen.unique or not gen.params.keep_null or not gen.params.keep_empty:
        return None
    if native.module is not None and gen.runs_in_c():
        # Its C kernel costs 0.2-0.6 us a value; SQL costs the source 2-6 us (measured on
        # the bench's people table: the masked clone took 57.7 s pushed down, 40.8 s not).
        return None
    if 0 < len(getattr(gen, "values", ())) < MIN_POOL:
        return None  # a small pool can draw the source eight times running: Python says so
    make = getattr(gen, "pushdown_spec", None)
    return make() if make is not None else None


def common(gen: Generator) -> Common:
    return Common(gen.ctx.ref.name, tuple(sorted(gen.params.except_values)),
                  gen.may_return_source)


@dataclass
class Split:
    """A table's masking divided: columns the database computes (``specs``), and the
    generators left to dbclone (``rest``: a masker over them, or None when none are left)."""

    specs: dict[str, Spec]
    rest: object | None  # a ColumnMasker of the generators not pushed down (None: none)


def split(masker: object, pushable: Callable[[str, Spec], bool],
          partial: bool = False) -> Split | None:
    """The table's masking computed by the database, when all of it can be (or, with
    ``partial``, the part it can); else None.

    Measured: SQL costs 2-4 us a row per column, Python 2-3 us plus ~7 us to parse the row.
    Only when no column is left to Python does the row skip parsing altogether (and the
    Python relay, see pipe.py); otherwise pushing down pays only where the table is masked
    by one process anyway (``partial``: a unique column keeps it serial), since the source
    server then does its share on another core, at the same time.

    A column stays with dbclone when another generator reads its source value (a template,
    date_shift's key, the row key a generator draws on), when a composite unique key re-draws
    it, or when its rows are observed for another table: each of those needs the source
    value in dbclone, and a pushed-down column arrives masked."""
    from dbclone.transform.masker import ColumnMasker

    if type(masker) is not ColumnMasker or masker.observers:
        return None
    gens = {name: gen for _, name, gen in masker.positions}
    specs = {}
    for name, gen in gens.items():
        spec = spec_for(gen)
        if spec is not None and pushable(name, spec):
            specs[name] = spec
    if not specs:
        return None
    rest = {n: g for n, g in gens.items() if n not in specs}
    held = set(masker.table_key) | {c for guard in masker.guards for c in guard.key}
    if not masker.table_key and any(g.uses_row or not g.params.keep_null
                                    for g in rest.values()):
        held |= set(gens)  # no primary key: the row key is every column's source value
    for gen in rest.values():
        reads = gen.row_reads()
        if reads is None:
            return None  # it may read any column: nothing can arrive masked
        held |= reads
    for name in list(specs):
        if name in held:
            del specs[name]
            rest[name] = gens[name]
    if not specs or (rest and not partial):
        return None
    return Split(specs, ColumnMasker(masker.table, rest) if rest else None)


def merge_counts(into: object, part: object | None) -> None:
    """The masked-value counts of a split's dbclone-side masker, back into the table's."""
    if part is None:
        return
    for attr in ("unchanged", "changed"):
        mine, theirs = getattr(into, attr), getattr(part, attr)
        for name, n in theirs.items():
            mine[name] += n


def rebind(masker: object) -> None:
    """Generators point at the Row of the masker that runs them: back to the table's."""
    for _, _, gen in masker.positions:  # type: ignore[attr-defined]
        gen.row = masker.row  # type: ignore[attr-defined]
