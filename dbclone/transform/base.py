"""The generator contract and registry.

A generator is a *definition* (name, accepted column types, parameters, flags) plus code that
maps one non-NULL source value, in canonical text form, to its masked value. Parameters and
types are checked against the column before any row moves (``check``).
"""

from __future__ import annotations

import hashlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dbclone import native
from dbclone.errors import GeneratorError
from dbclone.introspect.snapshot import Column, ColumnRef, Table, TypeCategory
from dbclone.transform.keyed import Keyer
from dbclone.transform.seen import new_seen

ALL_TYPES = frozenset(TypeCategory)
TEXT_TYPES = frozenset({TypeCategory.TEXT, TypeCategory.OTHER})
MAX_ATTEMPTS = 8  # re-draws before giving up on "never the original"
UNIQUE_ATTEMPTS = 64
MEMO_SIZE = 65536  # remembered results per generator; bounded memory
_MISS = object()  # re-draws before a unique column gives up (the plan checks space first)


class Params(BaseModel):
    """Options every generator takes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    keep_null: bool = True  # NULL stays NULL; false fills NULLs so absence is not revealed
    keep_empty: bool = True  # '' stays '' (it reveals nothing); false masks it like any value
    # values passed through unchanged (e.g. a sentinel id 0); applied to FK columns alike
    except_values: frozenset[str] = Field(default=frozenset(), alias="except")

    @field_validator("except_values", mode="before")
    @classmethod
    def _as_text(cls, v: Any) -> Any:
        """``except: [0, -1]`` for an integer key: values compare in canonical text form."""
        if isinstance(v, (list, tuple, set, frozenset)):
            return [str(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x
                    for x in v]
        return v


COMMON_OPTIONS = frozenset(Params.model_fields)
COMMON_OPTION_NAMES = ("keep_null", "keep_empty", "except")


@dataclass(frozen=True)
class GeneratorContext:
    table: Table
    column: Column
    ref: ColumnRef
    locale: str
    keyer: Keyer
    where: str  # workspace file:line of the rule


class Row:
    """The row being masked: its source values and, once produced, the masked ones.

    One instance per table is reused for every row, so this costs nothing per row."""

    __slots__ = ("_index", "_key_positions", "masked_values", "source_values")

    def __init__(self, names: list[str], key_positions: list[int]) -> None:
        self._index = {n: i for i, n in enumerate(names)}
        self._key_positions = key_positions
        self.source_values: list[Any] = []
        self.masked_values: list[Any] = []

    def has(self, name: str) -> bool:
        return name in self._index

    def source(self, name: str) -> Any:
        return self.source_values[self._index[name]]

    def masked(self, name: str) -> Any:
        """The column's masked value when it is masked and already done, else its value."""
        return self.masked_values[self._index[name]]

    def key(self) -> str:
        return "\x1f".join(str(self.source_values[i]) for i in self._key_positions)


class Generator(ABC):
    """Base of every generator. The class docstring is its catalogue entry."""

    name: ClassVar[str]
    family: ClassVar[str] = "other"
    accepts: ClassVar[frozenset[TypeCategory]] = TEXT_TYPES
    Params: ClassVar[type[Params]] = Params
    masks: ClassVar[bool] = True  # False only for keep
    unique_safe: ClassVar[bool] = False  # collision-free on a unique column
    may_return_source: ClassVar[bool] = False  # e.g. constant, shuffle: by nature
    uses_row: ClassVar[bool] = False  # reads other columns: runs after the plain ones
    one_to_one: ClassVar[bool] = False  # never maps two values to one: safe for masked keys
    needs_stats: ClassVar[str | None] = None  # "frequencies" or "sample" of the source column
    batched: ClassVar[bool] = False  # wants each batch of values first (prime)
    # Output drawn from pools, keys or the value's shape, never holding the source's words:
    # the leak audit does not search such a column for other columns' values.
    fresh_output: ClassVar[bool] = False

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        self.params = params
        self.ctx = ctx
        self.row: Row | None = None
        self.unique = False  # set by the plan for columns under a unique constraint
        self._seen = new_seen()  # outputs so far, on a unique column (transform/seen.py)
        # Recent results by source value: names and cities repeat a lot, and a dict lookup
        # is far cheaper than a keyed hash. Off for generators that read the row.
        self._memo: dict[str, str | None] | None = None if self.uses_row else {}
        # Same generator + options -> same mapping in every column, so FK pairs and repeated
        # people stay consistent. consistent_with replaces it with another column's domain.
        opts = params.model_dump(exclude=set(COMMON_OPTIONS))
        self.domain = f"{self.name}:{sorted(opts.items(), key=str)}:{ctx.locale}"

    @classmethod
    def summary(cls) -> str:
        return (inspect.getdoc(cls) or "").split("\n\n", 1)[0].replace("\n", " ")

    @classmethod
    def doc(cls) -> str:
        return inspect.getdoc(cls) or ""

    def row_reads(self) -> frozenset[str] | None:
        """Other columns of the row this generator reads, besides the row key (None: any
        of them). Lets the loader decode only the fields masking needs."""
        return None if self.uses_row else frozenset()

    def block_reads(self) -> frozenset[str] | None:
        """For a generator that reads the row: the source columns its ``map`` takes from
        the Block ('' for the row key), or None when it can only mask row by row."""
        return None

    def prime(self, values: list[object]) -> None:
        """The source values of a batch of rows about to be masked one by one (only for
        ``batched`` generators: text_redact runs NER over the whole batch at once)."""
        return None

    def check(self) -> list[str]:
        """Problems with this generator on its column, found before any row moves."""
        return []

    def value_space(self) -> int | None:
        """About how many distinct values it can produce (None: practically unbounded)."""
        return None

    def prepare(self, stats: Any) -> None:  # noqa: B027  (optional hook)
        """Receive column statistics (categorical, shuffle); most generators need none."""

    @abstractmethod
    def generate(self, value: str, attempt: int) -> str | None:
        """The masked value for a non-NULL ``value``; ``attempt`` > 0 asks for another draw."""

    def fill(self, row_key: str) -> str | None:
        """A value for a NULL when keep_null is false."""
        return self.generate(f"\x00null:{row_key}", 0)

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        if value is None:
            if self.params.keep_null:
                return None
            return self._unique(self.fill(row_key), f"\x00null:{row_key}")
        params = self.params
        if value == "" and params.keep_empty:
            return value
        if value in params.except_values:
            return value
        memo = self._memo
        unique = self.unique
        if memo is not None and not unique:
            hit = memo.get(value, _MISS)
            if hit is not _MISS:
                return hit  # type: ignore[return-value]
        # The first draw almost always differs from the source: no loop set-up for it.
        out = self.generate(value, 0)
        attempt = 0
        if out == value and self.masks and not self.may_return_source:
            for attempt in range(1, MAX_ATTEMPTS):
                out = self.generate(value, attempt)
                if out != value:
                    break
            else:
                raise GeneratorError(
                    f"{self.ctx.ref}: {self.name} kept returning the source value",
                    hint="use a generator with a larger value space for this column")
        if unique:
            return self._unique(out, value, attempt)
        if memo is not None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[value] = out
        return out

    def kept_as_is(self, value: str) -> bool:
        """A value this generator passes through because it stands for no data (MySQL's
        zero date for date_shift); the leak audit does not count it."""
        return False

    def reserve_excepted(self) -> None:
        """On a unique column the excepted values pass through as they are: no other value
        may be masked onto one of them."""
        for v in self.params.except_values:
            self._seen.add_if_new(digest8(v))

    def _unique(self, out: str | None, value: str, attempt: int = 0) -> str | None:
        """On a unique column, re-draw until the output has not been produced before.

        Only an 8-byte digest of each output is kept, and past 262,144 of them only Bloom
        filter bits (transform/seen.py): ten million rows cost ~18 MB.
        """
        if not self.unique or out is None:
            return out
        for extra in range(attempt, attempt + UNIQUE_ATTEMPTS):
            if self._seen.add_if_new(digest8(out)):
                return out
            out = self.generate(value, extra + 1)
            if out is None:
                return out
        raise GeneratorError(
            f"{self.ctx.ref}: {self.name} ran out of distinct values for a unique column",
            hint="use a generator with a larger value space (hash, format_preserving)")

    @property
    def domain(self) -> str:
        return self._domain

    @domain.setter
    def domain(self, domain: str) -> None:
        self._domain = domain
        self._number: Callable[[str], int] | None = None  # bound on first draw

    def draw(self, value: str, attempt: int = 0) -> int:
        if attempt:
            return self.ctx.keyer.number(f"{self._domain}#{attempt}", value)
        number = self._number
        if number is None:  # bound once: a draw is then one call (one C call, native)
            number = self._number = self.ctx.keyer.numberer(self._domain)
        return number(value)

    def native_kernel(self) -> tuple[int, tuple[Any, ...]] | None:
        """The C loop (dbclone/csrc/kernels.c) that computes ``generate(value, 0)`` for this
        generator as it is configured, and its parameters; None: there is none."""
        return None

    def runs_in_c(self) -> bool:
        """Its block loop runs in C when dbclone/_native is built (push-down then costs more
        than it saves)."""
        return (self.params.keep_null and not self.uses_row
                and type(self).__call__ is Generator.__call__
                and self._own_kernel() is not None)

    def _own_kernel(self) -> tuple[int, tuple[Any, ...]] | None:
        """native_kernel(), unless ``generate`` was replaced on this instance without it (a
        kernel computes its class's generate, nothing else)."""
        if "generate" in self.__dict__ and "native_kernel" not in self.__dict__:
            return None
        return self.native_kernel()

    def _map_native(self, values: list[Any]) -> list[Any] | None:
        """``map`` through the generator's C kernel, which hands every value it does not
        compute exactly as Python would back to ``__call__`` (so also every re-draw, in
        row order); None when this generator has no kernel here."""
        mod = native.module
        if (mod is None or not self.params.keep_null or self.uses_row
                or type(self).__call__ is not Generator.__call__):
            return None
        kernel = self.__dict__.get("_kernel", _MISS)
        if kernel is _MISS:
            kernel = self._kernel = self._own_kernel()
        if kernel is None:
            return None
        seen = None
        if self.unique:
            seen = self._seen
            if not isinstance(seen, mod.Seen):
                return None
        kind, params = kernel
        keyed = self.ctx.keyer._native(self._domain)
        p = self.params
        excepted = p.except_values or None
        redraw = self.masks and not self.may_return_source
        if not isinstance(values, list):
            values = list(values)
        n = len(values)
        out: list[Any] = [None] * n
        at = mod.map_values(kind, keyed, params, values, out, 0, excepted, p.keep_empty,
                            redraw, seen)
        while at < n:
            out[at] = self(values[at])
            at = mod.map_values(kind, keyed, params, values, out, at + 1, excepted,
                                p.keep_empty, redraw, seen)
        return out

    def map(self, values: list[Any], block: Block) -> list[Any]:
        """``[self(v, key) for each row of a block]``: what the masker calls per column of a
        block of rows. The common case (no unique column, NULL kept, ``__call__`` as here)
        runs as one loop without a method call per value (in C where the generator has a
        kernel); the rest is ``__call__`` itself, so both give the same values."""
        done = self._map_native(values)
        if done is not None:
            return done
        if (self.unique or not self.params.keep_null or self.uses_row
                or type(self).__call__ is not Generator.__call__):
            keys = block.keys() if not self.params.keep_null else None
            if keys is None:
                return [self(v) for v in values]
            return [self(v, k) for v, k in zip(values, keys, strict=True)]
        memo = self._memo
        generate = self.generate
        excepted = self.params.except_values
        keep_empty = self.params.keep_empty
        redraw = self.masks and not self.may_return_source
        out = []
        append = out.append
        for v in values:
            if v is None or (keep_empty and v == "") or v in excepted:
                append(v)
                continue
            if memo is not None:
                hit = memo.get(v, _MISS)
                if hit is not _MISS:
                    append(hit)
                    continue
            r = generate(v, 0)
            if r == v and redraw:
                r = self(v)  # the rare re-draw: as __call__ does it
            elif memo is not None:
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[v] = r
            append(r)
        return out


class Block:
    """The rows of one block as a masker hands them to ``Generator.map``: their source
    values column by column, taken before any column was masked."""

    __slots__ = ("_key_positions", "_keys", "_positions", "_source")

    def __init__(self, source: dict[int, list[Any]], positions: dict[str, int],
                 key_positions: list[int]) -> None:
        """``source``: by position, the columns generators read (the row key's included
        when a generator needs it)."""
        self._positions = positions
        self._source = source
        self._key_positions = key_positions
        self._keys: list[str] | None = None

    @classmethod
    def of_rows(cls, rows: list[list[Any]], positions: dict[str, int],
                key_positions: list[int], needed: set[int]) -> Block:
        return cls({p: [r[p] for r in rows] for p in needed}, positions, key_positions)

    def source(self, name: str) -> list[Any]:
        """A column's source values (only those the masker was told generators read)."""
        return self._source[self._positions[name]]

    def keys(self) -> list[str]:
        """Each row's key, as Row.key() gives it (made on first use)."""
        if self._keys is None:
            kp, source = self._key_positions, self._source
            assert kp and all(p in source for p in kp), "the masker did not capture the key"
            cols = [source[p] for p in kp]
            # Row.key(): str() of each key column's source value, joined by \x1f
            self._keys = ["\x1f".join(map(str, parts)) for parts in zip(*cols, strict=True)]
        return self._keys


def digest8(text: str) -> int:
    """The 8-byte digest uniqueness is tracked by: SHA-256's first 8 bytes, which the C
    kernels compute alike (dbclone/csrc/keyed.c)."""
    if native.module is not None:
        return native.module.digest8(text)  # type: ignore[no-any-return]
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8],
                          "big")


REGISTRY: dict[str, type[Generator]] = {}


def register(cls: type[Generator]) -> type[Generator]:
    if cls.name in REGISTRY:
        raise RuntimeError(f"generator {cls.name} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def fit_problem(ctx: GeneratorContext, name: str, shortest: int) -> list[str]:
    limit = ctx.column.max_length
    if limit is not None and shortest > limit:
        return [f"{ctx.ref}: {name} cannot fit {ctx.column.type_sql}: its shortest value has "
                f"{shortest} characters"]
    return []


def fit(text: str, limit: int | None, fallback: str | None = None) -> str:
    """Shorten to ``limit`` characters: the fallback if it fits, else cut on a character
    boundary (never inside a combining sequence)."""
    if limit is None or len(text) <= limit:
        return text
    if fallback is not None and len(fallback) <= limit:
        return fallback
    import unicodedata

    cut = text[:limit]
    while cut and unicodedata.combining(cut[-1]):
        cut = cut[:-1]
    return cut
