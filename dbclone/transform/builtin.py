"""The starter catalogue: pass/erase, hash, and the fake_ family for people and contact data.

Each generator's docstring is its entry in ``dbclone generators``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from pydantic import Field

from dbclone.introspect.snapshot import TypeCategory
from dbclone.transform import pools
from dbclone.transform.base import (
    ALL_TYPES,
    TEXT_TYPES,
    Generator,
    GeneratorContext,
    Params,
    fit_problem,
    register,
)


@register
class Keep(Generator):
    """Copy the value unchanged (passthrough).

    Use it to say on purpose that a column is not sensitive."""

    name = "keep"
    accepts = ALL_TYPES
    masks = False

    def generate(self, value: str, attempt: int) -> str:
        return value

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        return value


@register
class Null(Generator):
    """Replace every value with NULL.

    Refused at plan time on a NOT NULL column."""

    name = "null"
    accepts = ALL_TYPES

    def check(self) -> list[str]:
        if not self.ctx.column.nullable:
            return [f"{self.ctx.ref}: null cannot be used on a NOT NULL column"]
        return []

    def generate(self, value: str, attempt: int) -> str:
        raise AssertionError("unreachable")

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        return None


class ConstantParams(Params):
    value: Any


@register
class Constant(Generator):
    """Replace every value with one constant (option: value).

    A row whose source already equals the constant keeps it, by nature."""

    name = "constant"
    accepts = ALL_TYPES
    Params = ConstantParams
    may_return_source = True

    def check(self) -> list[str]:
        v = str(self.params.value)
        return fit_problem(self.ctx, "constant", len(v))

    def generate(self, value: str, attempt: int) -> str:
        return str(self.params.value)


class RedactParams(Params):
    char: str = Field(default="X", min_length=1, max_length=1)
    width: int | None = Field(default=None, ge=1)  # fixed width; default keeps the length


@register
class Redact(Generator):
    """Mask every character (options: char, default X; width, a fixed width instead of the
    source's length). Spaces and line breaks are masked too.

    A source value already made only of the mask character comes back as itself."""

    name = "redact"
    Params = RedactParams
    may_return_source = True

    def check(self) -> list[str]:
        return fit_problem(self.ctx, "redact", self.params.width or 0)

    def generate(self, value: str, attempt: int) -> str:
        n = self.params.width or len(value)
        limit = self.ctx.column.max_length
        return self.params.char * (min(n, limit) if limit else n)


class HashParams(Params):
    length: int | None = Field(default=None, ge=4, le=64)


@register
class Hash(Generator):
    """Keyed HMAC-SHA256 of the value, as lowercase hex (option: length, 4-64; default 64 or
    the column's limit). The key is the workspace secret (DBCLONE_SECRET); without one a
    random per-run key keeps values consistent within the run only."""

    name = "hash"
    Params = HashParams
    unique_safe = True

    def _length(self) -> int:
        limit = self.ctx.column.max_length
        n = self.params.length or 64
        return min(n, limit) if limit else n

    def check(self) -> list[str]:
        return fit_problem(self.ctx, "hash", 4) if self.ctx.column.max_length else []

    def generate(self, value: str, attempt: int) -> str:
        salt = f"#{attempt}" if attempt else ""
        return self.ctx.keyer.digest(self.domain + salt, value).hex()[: self._length()]


class _PoolGenerator(Generator):
    """Draws from one pool of distinct fake values, keeping those that fit the column."""

    kind: str = ""

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.values = pools.fitting(self.kind, ctx.locale, ctx.column.max_length)

    def check(self) -> list[str]:
        if not self.values:
            shortest = min(len(v) for v in pools.pool(self.kind, self.ctx.locale))
            return fit_problem(self.ctx, self.name, shortest)
        return []

    def generate(self, value: str, attempt: int) -> str:
        return self.values[self.draw(value, attempt) % len(self.values)]


@register
class FakeFirstName(_PoolGenerator):
    """A fake first name in the workspace locale, fitted to the column's length."""

    name = "fake_first_name"
    kind = "first_name"


@register
class FakeLastName(_PoolGenerator):
    """A fake last name in the workspace locale, fitted to the column's length."""

    name = "fake_last_name"
    kind = "last_name"


@register
class FakeCity(_PoolGenerator):
    """A fake city name in the workspace locale."""

    name = "fake_city"
    kind = "city"


@register
class FakeCompany(_PoolGenerator):
    """A fake company name in the workspace locale."""

    name = "fake_company"
    kind = "company"


@register
class FakeAddress(_PoolGenerator):
    """A fake street address (house number and street) in the workspace locale."""

    name = "fake_address"
    kind = "street_address"


@register
class FakeName(Generator):
    """A fake full name, "First Last", in the workspace locale; within the column's length
    (falls back to the last name alone, then truncation at a character boundary)."""

    name = "fake_name"

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.first = pools.pool("first_name", ctx.locale)
        self.last = pools.pool("last_name", ctx.locale)
        self.sep = "" if ctx.locale.split("_")[0] in ("ja", "zh", "ko") else " "

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 2)

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        first = self.first[n % len(self.first)]
        last = self.last[(n >> 20) % len(self.last)]
        if self.ctx.locale.split("_")[0] in ("ja", "zh", "ko"):
            full = last + self.sep + first
        else:
            full = first + self.sep + last
        return _fit(full, self.ctx.column.max_length, fallback=last)


def _fit(text: str, limit: int | None, fallback: str | None = None) -> str:
    if limit is None or len(text) <= limit:
        return text
    if fallback is not None and len(fallback) <= limit:
        return fallback
    return text[:limit]


def _ascii_slug(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", norm.lower())


class EmailParams(Params):
    keep_domain: bool = False


@register
class FakeEmail(Generator):
    """A fake e-mail address, first.last plus digits, at a reserved example domain (option:
    keep_domain keeps the source's domain). Fits the column's length."""

    name = "fake_email"
    Params = EmailParams

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.first = pools.pool("first_name", "en_US")
        self.last = pools.pool("last_name", "en_US")

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, len("u0@x.test"))

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        first = _ascii_slug(self.first[n % len(self.first)]) or "user"
        last = _ascii_slug(self.last[(n >> 16) % len(self.last)]) or "name"
        digits = str((n >> 32) % 10000)
        domain = pools.SAFE_EMAIL_DOMAINS[(n >> 48) % len(pools.SAFE_EMAIL_DOMAINS)]
        if self.params.keep_domain and "@" in value:
            domain = value.rsplit("@", 1)[1]
        email = f"{first}.{last}{digits}@{domain}"
        limit = self.ctx.column.max_length
        if limit is not None and len(email) > limit:
            email = f"{first[:1]}{last[:1]}{digits}@{domain}"
            if len(email) > limit:
                email = f"u{digits}@x.test"[:limit]
        return email


@register
class FakePhone(Generator):
    """A fake phone number in the source's own format: every digit replaced, separators,
    brackets and a leading +country code kept, so the value keeps its length."""

    name = "fake_phone"

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        if not any(ch.isdigit() for ch in value):
            value = "(555) 010-0000"  # no digits to replace: invent a number, never echo
            if self.ctx.column.max_length and len(value) > self.ctx.column.max_length:
                value = "5550100000"[: self.ctx.column.max_length]
        keep = 0
        m = re.match(r"^\s*(\+\d{1,3})[\s.\-(]", value)
        if m:
            keep = m.end(1)
        return value[:keep] + _digits_replaced(value[keep:], n, first_nonzero=True)


def _digits_replaced(text: str, n: int, *, first_nonzero: bool = False) -> str:
    out = []
    first = True
    state = n or 1
    for ch in text:
        if ch.isdigit():
            state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
            d = (state >> 33) % 10
            if first and first_nonzero and d == 0:
                d = 1 + (state >> 40) % 9
            first = False
            out.append(str(d))
        else:
            out.append(ch)
    return "".join(out)


@register
class FakeSsn(Generator):
    """A fake US Social Security number in the 9xx area, which is never issued to a person;
    keeps the source's layout (123-45-6789 or 123456789)."""

    name = "fake_ssn"

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 9)

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        area = 900 + n % 100
        group = 1 + (n >> 8) % 99
        serial = 1 + (n >> 16) % 9999
        limit = self.ctx.column.max_length
        if not value.isdigit() and (limit is None or limit >= 11):
            return f"{area:03d}-{group:02d}-{serial:04d}"
        return f"{area:03d}{group:02d}{serial:04d}"


class DobParams(Params):
    max_shift_days: int = Field(default=180, ge=1, le=3650)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@register
class FakeDateOfBirth(Generator):
    """A date of birth moved by a keyed offset of 1 to max_shift_days (default 180) days,
    never 0, so ages stay about right; keeps any time part. A value that is not an ISO date
    is replaced by a fake date rather than passed through."""

    name = "fake_date_of_birth"
    accepts = frozenset({TypeCategory.DATE, TypeCategory.TIMESTAMP, *TEXT_TYPES})
    Params = DobParams

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 10)

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        span = self.params.max_shift_days
        offset = 1 + n % span
        if (n >> 32) & 1:
            offset = -offset
        m = _ISO_DATE.match(value)
        if m is None:
            base = dt.date(1940, 1, 1) + dt.timedelta(days=n % 25000)
            return base.isoformat()
        try:
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            shifted = day + dt.timedelta(days=offset)
        except (ValueError, OverflowError):
            shifted = dt.date(1940, 1, 1) + dt.timedelta(days=n % 25000)
        return shifted.isoformat() + value[m.end():]
