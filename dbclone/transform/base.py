"""The generator contract and registry.

A generator is a *definition* (name, accepted column types, parameters, flags) plus code that
maps one non-NULL source value, in canonical text form, to its masked value. Parameters and
types are checked against the column before any row moves (``check``).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from dbclone.errors import GeneratorError
from dbclone.introspect.snapshot import Column, ColumnRef, Table, TypeCategory
from dbclone.transform.keyed import Keyer

ALL_TYPES = frozenset(TypeCategory)
TEXT_TYPES = frozenset({TypeCategory.TEXT, TypeCategory.OTHER})
MAX_ATTEMPTS = 8  # re-draws before giving up on "never the original"


class Params(BaseModel):
    """Options every generator takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keep_null: bool = True  # NULL stays NULL; false fills NULLs so absence is not revealed
    keep_empty: bool = True  # '' stays '' (it reveals nothing); false masks it like any value


@dataclass(frozen=True)
class GeneratorContext:
    table: Table
    column: Column
    ref: ColumnRef
    locale: str
    keyer: Keyer
    where: str  # workspace file:line of the rule


class Generator(ABC):
    """Base of every generator. The class docstring is its catalogue entry."""

    name: ClassVar[str]
    accepts: ClassVar[frozenset[TypeCategory]] = TEXT_TYPES
    Params: ClassVar[type[Params]] = Params
    masks: ClassVar[bool] = True  # False only for keep
    unique_safe: ClassVar[bool] = False
    may_return_source: ClassVar[bool] = False  # e.g. constant: by nature

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        self.params = params
        self.ctx = ctx
        # Same generator + options -> same mapping in every column, so FK pairs and repeated
        # people stay consistent.
        opts = params.model_dump(exclude={"keep_null", "keep_empty"})
        self.domain = f"{self.name}:{sorted(opts.items())}:{ctx.locale}"

    @classmethod
    def summary(cls) -> str:
        return (inspect.getdoc(cls) or "").split("\n\n", 1)[0].replace("\n", " ")

    @classmethod
    def doc(cls) -> str:
        return inspect.getdoc(cls) or ""

    def check(self) -> list[str]:
        """Problems with this generator on its column, found before any row moves."""
        return []

    @abstractmethod
    def generate(self, value: str, attempt: int) -> str:
        """The masked value for a non-NULL ``value``; ``attempt`` > 0 asks for another draw."""

    def fill(self, row_key: str) -> str | None:
        """A value for a NULL when keep_null is false."""
        return self.generate(f"\x00null:{row_key}", 0)

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        if value is None:
            return None if self.params.keep_null else self.fill(row_key)
        if value == "" and self.params.keep_empty:
            return value
        for attempt in range(MAX_ATTEMPTS):
            out = self.generate(value, attempt)
            if out != value or self.may_return_source or not self.masks:
                return out
        raise GeneratorError(
            f"{self.ctx.ref}: {self.name} kept returning the source value",
            hint="use a generator with a larger value space for this column")

    def draw(self, value: str, attempt: int) -> int:
        salt = f"#{attempt}" if attempt else ""
        return self.ctx.keyer.number(self.domain + salt, value)


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
