"""Structure-preserving generators: format, regex, date shifts, numeric noise, categorical,
shuffle, and bijective keys for primary keys."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import string
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from pydantic import Field, field_validator, model_validator

from dbclone import native
from dbclone.introspect.snapshot import TypeCategory
from dbclone.transform import pushdown
from dbclone.transform.base import (
    TEXT_TYPES,
    Block,
    Generator,
    GeneratorContext,
    Params,
    register,
)
from dbclone.transform.keyed import Keyer

_MASK64 = 2**64 - 1


class Stream:
    """A small deterministic stream of pseudo-random numbers (splitmix64) from one seed."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n


def script_digit(ch: str, d: int) -> str:
    """The digit ``d`` in the script of the decimal digit ``ch`` (fullwidth stays fullwidth,
    Arabic-Indic stays Arabic-Indic): a masked value keeps its shape."""
    return chr(ord(ch) - unicodedata.decimal(ch) + d)


def shape_replace(text: str, seed: int) -> str:
    """Digits -> digits (of any script: a fullwidth or Arabic-Indic digit is a digit too, and
    is replaced in its own script), ASCII letters -> letters of the same case; everything
    else kept."""
    r = Stream(seed)
    out = []
    for ch in text:
        if "0" <= ch <= "9":
            out.append(chr(48 + r.below(10)))
        elif ch.isdecimal():
            out.append(script_digit(ch, r.below(10)))
        elif "a" <= ch <= "z":
            out.append(chr(97 + r.below(26)))
        elif "A" <= ch <= "Z":
            out.append(chr(65 + r.below(26)))
        elif ch.isalpha():  # other scripts: an ASCII letter would change the script; keep case
            out.append(chr(97 + r.below(26)) if ch.islower() else chr(65 + r.below(26)))
        else:
            out.append(ch)
    return "".join(out)


class FormatParams(Params):
    keep_prefix: int = Field(default=0, ge=0)
    keep_suffix: int = Field(default=0, ge=0)


@register
class FormatPreserving(Generator):
    """Replace each character by one of its kind: digits by digits, letters by letters of the
    same case; punctuation, spaces and length kept (options: keep_prefix, keep_suffix
    characters). For account numbers, codes and IDs of any layout."""

    name = "format_preserving"
    fresh_output = True
    family = "structure"
    Params = FormatParams
    unique_safe = True

    def value_space(self) -> int:
        return 10**6

    def generate(self, value: str, attempt: int) -> str:
        p = self.params
        n = len(value)
        if p.keep_prefix + p.keep_suffix >= n:
            return shape_replace(value, self.draw(value, attempt))
        mid = value[p.keep_prefix: n - p.keep_suffix]
        return (value[: p.keep_prefix] + shape_replace(mid, self.draw(value, attempt))
                + value[n - p.keep_suffix:])


class RegexParams(Params):
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return v


@register
class Regex(Generator):
    """A value matching a regular expression (option: pattern), e.g. '[A-Z]{2}-\\d{6}'.
    Unbounded repeats (*, +) draw at most 8 times."""

    name = "regex"
    fresh_output = True
    family = "structure"
    Params = RegexParams
    unique_safe = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        import re._parser as sre_parse

        self.tree = sre_parse.parse(self.params.pattern)

    def value_space(self) -> int | None:
        return None

    def generate(self, value: str, attempt: int) -> str:
        out = "".join(_emit(self.tree, Stream(self.draw(value, attempt))))
        limit = self.ctx.column.max_length
        return out[:limit] if limit else out


def _emit(tree: Any, r: Stream) -> list[str]:
    import re._constants as c

    out: list[str] = []
    for op, arg in tree:
        if op is c.LITERAL:
            out.append(chr(arg))
        elif op is c.NOT_LITERAL:
            out.append("x" if chr(arg) != "x" else "y")
        elif op is c.ANY:
            out.append(string.ascii_letters[r.below(52)])
        elif op is c.IN:
            out.append(_pick_class(arg, r))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = arg
            hi = lo + 8 if hi is c.MAXREPEAT else hi
            for _ in range(lo + r.below(hi - lo + 1)):
                out.extend(_emit(sub, r))
        elif op is c.SUBPATTERN:
            out.extend(_emit(arg[-1], r))
        elif op is c.BRANCH:
            options = arg[1]
            out.extend(_emit(options[r.below(len(options))], r))
        elif op is c.CATEGORY:
            out.append(_category(arg, r))
        # anchors (AT) and the like emit nothing
    return out


def _category(cat: Any, r: Stream) -> str:
    import re._constants as c

    if cat is c.CATEGORY_DIGIT:
        return string.digits[r.below(10)]
    if cat is c.CATEGORY_SPACE:
        return " "
    if cat is c.CATEGORY_WORD:
        return (string.ascii_letters + string.digits)[r.below(62)]
    return string.ascii_letters[r.below(52)]  # the negated categories


def _pick_class(items: Any, r: Stream) -> str:
    import re._constants as c

    choices: list[str] = []
    negate = False
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            choices.append(chr(arg))
        elif op is c.RANGE:
            lo, hi = arg
            choices.extend(chr(x) for x in range(lo, min(hi, lo + 256) + 1))
        elif op is c.CATEGORY:
            choices.append(_category(arg, r))
    if negate:
        pool = [ch for ch in string.ascii_letters + string.digits if ch not in choices]
        return pool[r.below(len(pool))] if pool else "_"
    return choices[r.below(len(choices))] if choices else "x"


# --- dates ---------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?)?")
# MySQL's "no date": '0000-00-00', or a zero month or day ('2024-00-00'); no one's birthday.
_ZERO_DATE = re.compile(r"^(?:0000-\d\d-\d\d|\d{4}-00-\d\d|\d{4}-\d\d-00)(?![\d])")


def entity_offset(keyer: Keyer, domain: str, key: str, lo: int, hi: int) -> int:
    """A keyed offset in [lo, hi] \\ {0}, the same for every value of one entity key."""
    span = hi - lo + 1
    n = keyer.number(domain, key)
    off = lo + n % span
    if off == 0:
        off = hi if hi != 0 else lo
    return off


MAX_SHIFT_DAYS = 36524  # a century: a date the shift would push off the calendar moves back


class ShiftParams(Params):
    key: str | None = None  # column holding the entity (e.g. patient_id); default: the row key
    min_days: int = Field(default=-365, ge=-MAX_SHIFT_DAYS, le=MAX_SHIFT_DAYS)
    max_days: int = Field(default=365, ge=-MAX_SHIFT_DAYS, le=MAX_SHIFT_DAYS)

    @model_validator(mode="after")
    def _range(self) -> ShiftParams:
        if self.min_days > self.max_days:
            raise ValueError("min_days is greater than max_days")
        if self.min_days == self.max_days == 0:
            raise ValueError("a shift of 0 days would keep every date")
        return self


@register
class DateShift(Generator):
    """Move dates by a keyed number of days (options: min_days, max_days, default -365..365,
    never 0, at most a century either way), one offset per entity (option key: a column
    holding the entity id, e.g. patient_id; default the row's primary key), so intervals
    inside one person's records stay exact across all their rows and tables. Keeps any time
    part. A date the shift would push past year 1 or 9999 moves the other way; zero dates and
    infinity are kept (they are no one's date); text that is no date becomes a keyed date."""

    name = "date_shift"
    fresh_output = True
    family = "structure"
    accepts = frozenset({TypeCategory.DATE, TypeCategory.TIMESTAMP, *TEXT_TYPES})
    Params = ShiftParams
    uses_row = True
    unit = "days"

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        # The shift domain ignores the column, so every column of one entity moves alike.
        p = self.params
        self.shift_domain = f"shift:{self.unit}:{p.min_days}:{p.max_days}"
        self._block_entity: str | None = None  # the entity while map() masks one value

    def check(self) -> list[str]:
        key = self.params.key
        if key is not None and self.ctx.table.column(key) is None:
            from dbclone.errors import did_you_mean

            hint = did_you_mean(key, self.ctx.table.column_names)
            return [f"{self.ctx.ref}: {self.name} key column '{key}' is not in "
                    f"{self.ctx.table.ref}" + (f" ({hint})" if hint else "")]
        return []

    def row_reads(self) -> frozenset[str] | None:
        return frozenset({self.params.key} if self.params.key is not None else ())

    def block_reads(self) -> frozenset[str] | None:
        return frozenset({self.params.key if self.params.key is not None else ""})

    def map(self, values: list[Any], block: Block) -> list[Any]:
        """A block's dates: a plain ISO date moves by its entity's offset in one loop; any
        other value (NULL, '', excepted, a zero date, a time part) goes through __call__
        with its entity, as mask_row would pass it."""
        key = self.params.key
        p = self.params
        fast = (type(self) is DateShift and getattr(self.generate, "__self__", None) is self
                and p.keep_null and not self.unique)
        # str() of each key: here, or in C, which takes the keys as they are
        entities = (block.source(key) if key is not None else block.keys())
        if not (fast and native.module is not None):
            entities = [str(v) for v in entities]
        number = self.ctx.keyer.numberer(self.shift_domain)
        lo, hi = p.min_days, p.max_days
        span = hi - lo + 1
        zero = hi if hi != 0 else lo
        excepted = p.except_values
        row_keys = block.keys() if not p.keep_null else None  # fill() draws on them
        if fast and native.module is not None:
            return self._map_native(values, entities, lo, span, zero)
        fromiso, delta = dt.date.fromisoformat, dt.timedelta
        out: list[Any] = []
        append = out.append
        for i, (v, entity) in enumerate(zip(values, entities, strict=True)):
            if (fast and v is not None and len(v) == 10 and v[4] == "-" and v[7] == "-"
                    and v not in excepted):
                try:
                    # a valid date: never a zero date, and shift_iso would give the same
                    day = fromiso(v)
                    off = lo + number(entity) % span
                    append((day + delta(days=off or zero)).isoformat())
                    continue
                except (ValueError, OverflowError):
                    pass
            self._block_entity = entity
            try:
                append(self(v, row_keys[i]) if row_keys is not None else self(v))
            finally:
                self._block_entity = None
        return out

    def runs_in_c(self) -> bool:
        return type(self) is DateShift and self.params.keep_null and not self.unique

    def _map_native(self, values: list[Any], entities: list[str], lo: int, span: int,
                    zero: int) -> list[Any]:
        """map's loop in C (dbclone/csrc/kernels.c shift_dates): plain ISO dates shifted
        there, every other value handed back to __call__ with its entity, as map does."""
        shift = native.module.shift_dates  # type: ignore[union-attr]
        if not isinstance(entities, list):
            entities = list(entities)
        keyed = self.ctx.keyer._native(self.shift_domain)
        excepted = self.params.except_values or None
        if not isinstance(values, list):
            values = list(values)
        n = len(values)
        out: list[Any] = [None] * n
        at = shift(keyed, values, entities, out, 0, lo, span, zero, excepted)
        while at < n:
            self._block_entity = str(entities[at])
            try:
                out[at] = self(values[at])
            finally:
                self._block_entity = None
            at = shift(keyed, values, entities, out, at + 1, lo, span, zero, excepted)
        return out

    def _entity(self, value: str) -> str:
        if self._block_entity is not None:
            return self._block_entity
        row = self.row
        if row is None:
            return value
        if self.params.key is not None:
            return str(row.source(self.params.key))
        return row.key()

    def kept_as_is(self, value: str) -> bool:
        # MySQL's zero dates and PostgreSQL's infinities stand for "no date": no one's data
        return _ZERO_DATE.match(value) is not None or value in ("infinity", "-infinity")

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        if value is not None and self.kept_as_is(value):
            return value  # a zero date is kept like NULL: shifting it would invent a date
        return super().__call__(value, row_key)

    def offset(self, value: str) -> int:
        p = self.params
        return entity_offset(self.ctx.keyer, self.shift_domain, self._entity(value),
                             p.min_days, p.max_days)

    def pushdown_spec(self) -> pushdown.DateShiftSpec | None:
        """Only a DATE column by days: its text is always ISO (the session's DateStyle)."""
        if self.unit != "days" or self.ctx.column.category is not TypeCategory.DATE:
            return None
        if self.params.except_values:
            return None
        key = self.params.key
        writable = {c.name for c in self.ctx.table.writable_columns}
        # Row.key(): the primary key's writable columns, else every column (left to dbclone)
        entity = (key,) if key is not None else tuple(
            c for c in self.ctx.table.primary_key if c in writable)
        if not entity:
            return None
        p = self.params
        return pushdown.DateShiftSpec(pushdown.common(self),
                                      pushdown.Draw(*self.ctx.keyer.pads(self.shift_domain)),
                                      entity, p.min_days, p.max_days)

    def generate(self, value: str, attempt: int) -> str:
        m = _ISO.match(value)
        off = self.offset(value) + attempt
        shifted = shift_iso(value, m, dt.timedelta(days=off)) if m is not None else None
        return shifted if shifted is not None else self.invented(value)

    def invented(self, value: str) -> str:
        """A keyed date for a value that is no date (text in a text column, month 13)."""
        return (dt.date(1970, 1, 1) + dt.timedelta(days=self.draw(value) % 20000)).isoformat()


def shift_iso(value: str, m: re.Match[str], delta: dt.timedelta) -> str | None:
    """The ISO date or timestamp moved by ``delta``; one the move would take past year 1 or
    9999 moves the other way (a shift is at most a century, so that one stays on the
    calendar, and the entity's dates near the edge keep their intervals). None: no date."""
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    try:
        if m[4] is None:
            day = dt.date(y, mo, d)
            try:
                moved = day + delta
            except OverflowError:
                moved = day - delta
            return moved.isoformat() + value[m.end():]
        t = dt.datetime(y, mo, d, int(m[4]), int(m[5]), int(m[6]))
        try:
            t += delta
        except OverflowError:
            t -= delta
        sep = value[10]
        return f"{t.year:04d}" + t.strftime(f"-%m-%d{sep}%H:%M:%S") + (m[7] or "") + \
            value[m.end():]
    except ValueError:
        if 1 <= mo <= 12 and d > 28:  # a day its month lacks (ALLOW_INVALID_DATES: Feb 31)
            last = calendar.monthrange(y, mo)[1]
            fixed = f"{value[:8]}{last:02d}{value[10:]}"
            return shift_iso(fixed, _ISO.match(fixed), delta)  # type: ignore[arg-type]
        return None


class DatetimeShiftParams(ShiftParams):
    max_seconds: int = Field(default=86399, ge=0, le=86399)


@register
class DatetimeShift(DateShift):
    """Move timestamps by a keyed number of days plus seconds (options: min_days, max_days,
    max_seconds, key), one offset per entity as in date_shift, so durations between one
    person's events stay exact."""

    name = "datetime_shift"
    Params = DatetimeShiftParams
    unit = "seconds"

    def generate(self, value: str, attempt: int) -> str:
        m = _ISO.match(value)
        if m is None:
            return super().generate(value, attempt)
        days = self.offset(value) + attempt
        secs = self.ctx.keyer.number(self.shift_domain + ":s", self._entity(value))
        delta = dt.timedelta(days=days, seconds=secs % (self.params.max_seconds + 1))
        shifted = shift_iso(value, m, delta)
        return shifted if shifted is not None else self.invented(value)


# --- numbers -------------------------------------------------------------------------------

_INT_BOUNDS = {"smallint": 2**15 - 1, "int2": 2**15 - 1, "bigint": 2**63 - 1,
               "int8": 2**63 - 1, "tinyint": 127, "mediumint": 2**23 - 1}


def integer_bound(type_sql: str) -> int:
    t = type_sql.lower()
    for name, bound in _INT_BOUNDS.items():
        if t.startswith(name):
            return bound
    return 2**31 - 1


class NoiseParams(Params):
    relative: float | None = Field(default=None, gt=0, le=10)
    absolute: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> NoiseParams:
        if self.relative is None and self.absolute is None:
            return self.model_copy(update={"relative": 0.1})
        if self.relative is not None and self.absolute is not None:
            raise ValueError("give relative or absolute, not both")
        return self


@register
class NumberNoise(Generator):
    """Add keyed noise to a number: relative (default 0.1, i.e. up to ±10%) or absolute; keeps
    the sign and the number of decimal places, and stays within the column's bounds. Zero
    stays zero under relative noise, by nature."""

    name = "number_noise"
    fresh_output = True
    family = "structure"
    accepts = frozenset({TypeCategory.INTEGER, TypeCategory.NUMERIC, *TEXT_TYPES})
    Params = NoiseParams
    may_return_source = True

    def generate(self, value: str, attempt: int) -> str:
        try:
            v = Decimal(value)
        except InvalidOperation:
            return "0"  # not a number: never pass it through
        if not v.is_finite():
            return value
        exp = v.as_tuple().exponent
        places = -exp if isinstance(exp, int) and exp < 0 else 0
        u = Decimal(self.draw(value, attempt) % 2_000_001 - 1_000_000) / Decimal(1_000_000)
        if self.params.relative is not None:
            delta = abs(v) * Decimal(str(self.params.relative)) * u
        else:
            delta = Decimal(str(self.params.absolute)) * u
        out = v + delta
        if (out < 0) != (v < 0) and v != 0:
            out = -out if out != 0 else v
        q = Decimal(1).scaleb(-places)
        out = out.quantize(q, rounding=ROUND_HALF_EVEN)
        out = self._clamp(out)
        return format(out, "f") if places else str(int(out))

    def _clamp(self, out: Decimal) -> Decimal:
        col = self.ctx.column
        if col.category is TypeCategory.INTEGER:
            bound = Decimal(integer_bound(col.type_sql))
        elif col.numeric_precision is not None:
            bound = Decimal(10) ** (col.numeric_precision - (col.numeric_scale or 0)) - Decimal(
                1).scaleb(-(col.numeric_scale or 0))
        else:
            return out
        return max(-bound, min(bound, out))


# --- drawn from the column's own values ----------------------------------------------------


class SampleParams(Params):
    sample: int = Field(default=10000, ge=1, le=1_000_000)


@register
class Categorical(Generator):
    """Draw each value from the source column's value frequencies (the most common values in
    a sample of up to 'sample' rows, default 10,000), so category distributions survive. It
    can return the source value, by nature; the other column values move independently."""

    name = "categorical"
    family = "structure"
    accepts = frozenset(TypeCategory) - {TypeCategory.BINARY}
    Params = SampleParams
    may_return_source = True
    needs_stats = "frequencies"

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.values: list[str] = []
        self.cumulative: list[int] = []

    def prepare(self, stats: Any) -> None:
        """``stats``: (value, count) pairs from the source."""
        total = 0
        for value, count in stats:
            if value is None:
                continue
            total += int(count)
            self.values.append(str(value))
            self.cumulative.append(total)

    def value_space(self) -> int | None:
        return len(self.values) or None

    def generate(self, value: str, attempt: int) -> str:
        if not self.values:
            return value
        import bisect

        x = self.draw(value, attempt) % self.cumulative[-1]
        return self.values[bisect.bisect_right(self.cumulative, x)]


@register
class Shuffle(Categorical):
    """Replace each value by the value of another row of the same column, drawn from a random
    sample of the column (up to 'sample' rows, default 10,000): the column keeps its values
    and distribution, but they no longer sit in their rows. Bounded memory, so on tables larger
    than the sample it is a resampling rather than an exact permutation; it can return the
    source value, by nature."""

    name = "shuffle"
    needs_stats = "sample"


# --- keys ----------------------------------------------------------------------------------


def feistel(keyer: Keyer, domain: str, x: int, bits: int, rounds: int = 4) -> int:
    """A keyed permutation of [0, 2**bits) (bits even)."""
    half = bits // 2
    mask = (1 << half) - 1
    left, right = x >> half, x & mask
    for i in range(rounds):
        f = keyer.number(f"{domain}:r{i}", str(right)) & mask
        left, right = right, left ^ f
    return (left << half) | right


def permute_below(keyer: Keyer, domain: str, x: int, n: int) -> int:
    """A keyed permutation of [0, n) by cycle-walking a Feistel network."""
    bits = max(2, (n - 1).bit_length())
    bits += bits % 2
    y = feistel(keyer, domain, x, bits)
    while y >= n:
        y = feistel(keyer, domain, y, bits)
    return y


def _key_problems(g: Generator) -> list[str]:
    # A one-to-one key mapping has nothing to map a NULL to (and a filled NULL key would
    # invent a reference that no parent row has).
    if not g.params.keep_null:
        return [f"{g.ctx.ref}: {g.name} keeps NULL keys NULL: keep_null: false does not apply "
                "to a one-to-one key mapping"]
    return []


@register
class IntegerKey(Generator):
    """A keyed one-to-one mapping of integers onto integers of the same sign within the
    column type's range, safe for primary keys: no two ids collide, and every foreign key
    referencing the column gets the same mapping, so joins survive."""

    name = "integer_key"
    fresh_output = True
    family = "structure"
    accepts = frozenset({TypeCategory.INTEGER, TypeCategory.NUMERIC, *TEXT_TYPES})
    unique_safe = True
    one_to_one = True

    def value_space(self) -> int:
        return integer_bound(self.ctx.column.type_sql)

    def check(self) -> list[str]:
        return _key_problems(self)

    def generate(self, value: str, attempt: int) -> str:
        try:
            v = int(value)
        except ValueError:
            return str(self.draw(value) % 1000)
        bound = integer_bound(self.ctx.column.type_sql)
        if v == 0:
            return "0" if attempt == 0 else str(attempt)
        sign = -1 if v < 0 else 1
        a = abs(v)
        if a > bound:
            return value
        # a bijection of [1, bound] onto itself: permute [0, bound) and shift by one
        y = permute_below(self.ctx.keyer, self.domain, a - 1, bound) + 1
        excepted = self.params.except_values
        # Excepted ids keep their value, so none may be the image of another id: walk the
        # permutation's cycle past them (a bijection of the ids that are not excepted).
        while excepted and str(sign * y) in excepted:
            y = permute_below(self.ctx.keyer, self.domain, y - 1, bound) + 1
        return str(sign * y)

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        # A bijection: never needs the never-the-original retry nor the uniqueness guard
        # (which would break the one-to-one mapping); a fixed point is astronomically rare.
        if value is None:
            return None
        if value in self.params.except_values:
            return value
        return self.generate(value, 0)


@register
class UuidKey(Generator):
    """A keyed one-to-one mapping of UUIDs onto UUIDs (version and variant bits kept), safe
    for primary keys and applied alike to every foreign key referencing the column."""

    name = "uuid_key"
    fresh_output = True
    family = "structure"
    accepts = frozenset({TypeCategory.UUID, *TEXT_TYPES})
    unique_safe = True
    one_to_one = True

    def check(self) -> list[str]:
        return _key_problems(self)

    def generate(self, value: str, attempt: int) -> str:
        import uuid

        try:
            u = uuid.UUID(value)
        except ValueError:
            return str(uuid.UUID(bytes=self.ctx.keyer.digest(self.domain, value)[:16]))
        n = u.int
        # bits 48-51 (version) and 62-63 (variant) stay; the other 122 are permuted
        fixed_mask = (0xF << 76) | (0x3 << 62)
        free_positions = [i for i in range(128) if not (fixed_mask >> i) & 1]
        x = 0
        for j, i in enumerate(free_positions):
            x |= ((n >> i) & 1) << j
        excepted = {e.lower() for e in self.params.except_values}
        y = x
        while True:  # cycle-walk past excepted UUIDs, as integer_key does
            y = feistel(self.ctx.keyer, self.domain, y, 122)
            out = n & fixed_mask
            for j, i in enumerate(free_positions):
                out |= ((y >> j) & 1) << i
            s = str(uuid.UUID(int=out))
            if s not in excepted:
                break
        return s.upper() if value.isupper() else s

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        if value is None:
            return None
        if value in self.params.except_values:
            return value
        return self.generate(value, 0)
