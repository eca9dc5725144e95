"""People: names, usernames, job titles, companies, national IDs, dates of birth."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from pydantic import Field

from dbclone.introspect.snapshot import TypeCategory
from dbclone.transform import pools, pushdown
from dbclone.transform.base import (
    TEXT_TYPES,
    Generator,
    GeneratorContext,
    Params,
    fit,
    fit_problem,
    register,
)
from dbclone.transform.generators.pooled import KERNEL_SSN, PoolGenerator

_FAMILY_FIRST = ("ja", "zh", "ko", "hu")


def ascii_slug(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", norm.lower())


@register
class FakeFirstName(PoolGenerator):
    """A fake first name in the locale, fitted to the column's length."""

    name = "fake_first_name"
    family = "people"
    kind = "first_name"


@register
class FakeLastName(PoolGenerator):
    """A fake last name in the locale, fitted to the column's length."""

    name = "fake_last_name"
    family = "people"
    kind = "last_name"


@register
class FakeJobTitle(PoolGenerator):
    """A fake job title in the locale."""

    name = "fake_job_title"
    family = "people"
    kind = "job"


@register
class FakeCompany(PoolGenerator):
    """A fake company name in the locale."""

    name = "fake_company"
    family = "people"
    kind = "company"


@register
class FakeName(Generator):
    """A fake full name, "First Last" (family name first for ja/zh/ko), in the locale; within
    the column's length (falls back to the last name alone, then a cut at a character
    boundary)."""

    name = "fake_name"
    fresh_output = True
    family = "people"

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.first = pools.pool("first_name", ctx.locale)
        self.last = pools.pool("last_name", ctx.locale)
        lang = ctx.locale.split("_")[0]
        self.family_first = lang in _FAMILY_FIRST
        self.sep = "" if lang in ("ja", "zh", "ko") else " "

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 2)

    def value_space(self) -> int:
        return len(self.first) * len(self.last)

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        first = self.first[n % len(self.first)]
        last = self.last[(n >> 20) % len(self.last)]
        full = last + self.sep + first if self.family_first else first + self.sep + last
        return fit(full, self.ctx.column.max_length, fallback=last)


@register
class FakeUsername(Generator):
    """A fake username: a name-like ASCII word and digits, e.g. mwalker4821; fits the column.
    """

    name = "fake_username"
    fresh_output = True
    family = "people"
    unique_safe = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.words = [w for w in (ascii_slug(u) for u in pools.pool("user_name", "en_US")) if w]

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 4)

    def value_space(self) -> int:
        return len(self.words) * 100_000

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        word = self.words[n % len(self.words)]
        digits = str((n >> 24) % 100_000)
        limit = self.ctx.column.max_length
        if limit is not None and len(word) + len(digits) > limit:
            word = word[: max(1, limit - len(digits))]
            return (word + digits)[:limit]
        return word + digits


@register
class FakeSsn(Generator):
    """A fake US Social Security number in the 9xx area, which is never issued to a person;
    keeps the source's layout (123-45-6789 or 123456789)."""

    name = "fake_ssn"
    fresh_output = True
    family = "people"
    unique_safe = True

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 9)

    def value_space(self) -> int:
        return 100 * 99 * 9999

    def native_kernel(self) -> tuple[int, tuple[Any, ...]]:
        return KERNEL_SSN, (self.ctx.column.max_length,)

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        area = 900 + n % 100
        group = 1 + (n >> 8) % 99
        serial = 1 + (n >> 16) % 9999
        limit = self.ctx.column.max_length
        if not value.isdigit() and (limit is None or limit >= 11):
            return f"{area:03d}-{group:02d}-{serial:04d}"
        return f"{area:03d}{group:02d}{serial:04d}"

    def pushdown_spec(self) -> pushdown.SsnSpec:
        return pushdown.SsnSpec(pushdown.common(self), pushdown.draws(self.ctx.keyer,
                                                                       self.domain),
                                self.ctx.column.max_length)


@register
class FakePassport(Generator):
    """A fake passport number: the source's shape (letters stay letters, digits stay digits)
    or, for an empty shape, one letter and eight digits."""

    name = "fake_passport"
    fresh_output = True
    family = "people"
    unique_safe = True

    def value_space(self) -> int:
        return 10**8

    def generate(self, value: str, attempt: int) -> str:
        from dbclone.transform.generators.structure import shape_replace

        shape = value if any(c.isalnum() for c in value) else "X12345678"
        return fit(shape_replace(shape, self.draw(value, attempt)), self.ctx.column.max_length)


class DobParams(Params):
    band_years: int = Field(default=1, ge=1, le=20)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@register
class FakeDateOfBirth(Generator):
    """A different date of birth in the same age band (option: band_years, default 1: the
    same birth year, so ages move by at most one year); keeps any time part. A value that is
    not an ISO date is replaced by a fake date rather than passed through."""

    name = "fake_date_of_birth"
    fresh_output = True
    family = "people"
    accepts = frozenset({TypeCategory.DATE, TypeCategory.TIMESTAMP, *TEXT_TYPES})
    Params = DobParams

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 10)

    def value_space(self) -> int:
        return 365 * self.params.band_years

    def generate(self, value: str, attempt: int) -> str:
        n = self.draw(value, attempt)
        m = _ISO_DATE.match(value)
        year = int(m[1]) if m else 1940 + n % 70
        band = self.params.band_years
        start_year = year - year % band if band > 1 else year
        try:
            start = dt.date(max(start_year, 1), 1, 1)
            end = dt.date(min(start_year + band - 1, 9999), 12, 31)
        except ValueError:
            start, end = dt.date(1940, 1, 1), dt.date(1940, 12, 31)
        span = (end - start).days + 1
        day = start + dt.timedelta(days=(n >> 8) % span)
        tail = value[m.end():] if m else ""
        return day.isoformat() + tail
