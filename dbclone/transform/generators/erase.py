"""Pass and erase: keep, null, constant, redact, partial, hash."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from dbclone.introspect.snapshot import TypeCategory
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
    family = "pass/erase"
    accepts = ALL_TYPES
    masks = False
    may_return_source = True

    def generate(self, value: str, attempt: int) -> str:
        return value

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        return value


@register
class Null(Generator):
    """Replace every value with NULL.

    Refused at plan time on a NOT NULL column."""

    name = "null"
    fresh_output = True
    family = "pass/erase"
    accepts = ALL_TYPES

    def check(self) -> list[str]:
        if not self.ctx.column.nullable:
            return [f"{self.ctx.ref}: null cannot be used on a NOT NULL column"]
        return []

    def generate(self, value: str, attempt: int) -> str | None:
        return None

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        return None


class ConstantParams(Params):
    value: Any


@register
class Constant(Generator):
    """Replace every value with one constant (option: value).

    A row whose source already equals the constant keeps it, by nature."""

    name = "constant"
    family = "pass/erase"
    accepts = ALL_TYPES
    Params = ConstantParams
    may_return_source = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        v = self.params.value
        if isinstance(v, (dict, list)):
            self.text = json.dumps(v, ensure_ascii=False)
        elif isinstance(v, bool):
            self.text = "true" if v else "false"
        else:
            self.text = "" if v is None else str(v)

    def check(self) -> list[str]:
        problems = fit_problem(self.ctx, "constant", len(self.text))
        if self.params.value is None:
            problems.append(f"{self.ctx.ref}: constant needs a value (use null for NULL)")
        elif not _parses_as(self.text, self.ctx.column.category):
            problems.append(f"{self.ctx.ref}: constant value is not a valid "
                            f"{self.ctx.column.type_sql}")
        if self.unique:
            problems.append(f"{self.ctx.ref}: constant cannot fill a unique column")
        return problems

    def value_space(self) -> int:
        return 1

    def generate(self, value: str, attempt: int) -> str:
        return self.text


def _parses_as(text: str, category: TypeCategory) -> bool:
    """Whether a constant can be stored in a column of this kind."""
    import datetime as dt
    import uuid
    from decimal import Decimal, InvalidOperation

    try:
        if category is TypeCategory.INTEGER:
            int(text)
        elif category is TypeCategory.NUMERIC:
            Decimal(text)
        elif category is TypeCategory.BOOLEAN:
            return text.lower() in ("true", "false", "t", "f", "1", "0", "yes", "no")
        elif category is TypeCategory.DATE:
            dt.date.fromisoformat(text)
        elif category is TypeCategory.TIMESTAMP:
            dt.datetime.fromisoformat(text)
        elif category is TypeCategory.UUID:
            uuid.UUID(text)
        elif category is TypeCategory.JSON:
            json.loads(text)
    except (ValueError, InvalidOperation):
        return False
    return True


class RedactParams(Params):
    char: str = Field(default="X", min_length=1, max_length=1)
    width: int | None = Field(default=None, ge=1)  # fixed width; default keeps the length


@register
class Redact(Generator):
    """Mask every character (options: char, default X; width, a fixed width instead of the
    source's length). Spaces and line breaks are masked too.

    A source value already made only of the mask character comes back as itself."""

    name = "redact"
    family = "pass/erase"
    Params = RedactParams
    may_return_source = True

    def check(self) -> list[str]:
        return fit_problem(self.ctx, "redact", self.params.width or 0)

    def generate(self, value: str, attempt: int) -> str:
        n = self.params.width or len(value)
        limit = self.ctx.column.max_length
        return self.params.char * (min(n, limit) if limit else n)


class PartialParams(Params):
    first: int = Field(default=0, ge=0)
    last: int = Field(default=4, ge=0)
    char: str = Field(default="*", min_length=1, max_length=1)


@register
class Partial(Generator):
    """Keep the first and last characters and mask the middle (options: first, default 0;
    last, default 4; char, default *), e.g. a card number as ************1111.

    A value no longer than first + last is masked whole, so nothing short is revealed."""

    name = "partial"
    family = "pass/erase"
    Params = PartialParams

    def generate(self, value: str, attempt: int) -> str:
        p = self.params
        n = len(value)
        if n <= p.first + p.last:
            return p.char * n if attempt == 0 else p.char * (n + attempt)
        tail = value[n - p.last:] if p.last else ""
        return value[: p.first] + p.char * (n - p.first - p.last) + tail


class HashParams(Params):
    length: int | None = Field(default=None, ge=4, le=64)
    format: str = Field(default="hex", pattern="^(hex|int)$")


@register
class Hash(Generator):
    """Keyed HMAC-SHA256 of the value (options: format hex or int; length 4-64 hex digits,
    default 64 or the column's limit). Keyed by the workspace secret (DBCLONE_SECRET); without
    one a random per-run key keeps values consistent within the run only. With format: int it
    fits integer columns (a positive 31- or 63-bit number)."""

    name = "hash"
    fresh_output = True
    family = "pass/erase"
    accepts = frozenset({*TEXT_TYPES, TypeCategory.INTEGER, TypeCategory.NUMERIC})
    Params = HashParams
    unique_safe = True

    def check(self) -> list[str]:
        cat = self.ctx.column.category
        if self.params.format == "int" and cat not in (TypeCategory.INTEGER,
                                                       TypeCategory.NUMERIC,
                                                       *TEXT_TYPES):
            return [f"{self.ctx.ref}: hash format int does not fit {self.ctx.column.type_sql}"]
        if self.params.format == "hex" and cat not in TEXT_TYPES:
            return [f"{self.ctx.ref}: hash gives text; on a {self.ctx.column.type_sql} column "
                    "use format: int"]
        return fit_problem(self.ctx, "hash", 4) if self.ctx.column.max_length else []

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        # 128+ bits of HMAC: no two inputs meet in practice, so it can mask a referenced key
        self.one_to_one = self.params.format == "hex" and self._length() >= 32

    def value_space(self) -> int:
        if self.params.format == "int":
            return 2**31
        return 16 ** self._length()

    def _length(self) -> int:
        limit = self.ctx.column.max_length
        n = self.params.length or 64
        return min(n, limit) if limit else n

    def generate(self, value: str, attempt: int) -> str:
        salt = f"#{attempt}" if attempt else ""
        digest = self.ctx.keyer.digest(self.domain + salt, value)
        if self.params.format == "int":
            bits = 63 if "big" in self.ctx.column.type_sql.lower() else 31
            return str(int.from_bytes(digest[:8], "big") & ((1 << bits) - 1))
        return digest.hex()[: self._length()]
