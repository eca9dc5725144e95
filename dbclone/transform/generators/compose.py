"""Composition: template, json, conditional, custom."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from dbclone.errors import GeneratorError
from dbclone.introspect.snapshot import Column, ColumnRef, TypeCategory
from dbclone.transform.base import (
    ALL_TYPES,
    TEXT_TYPES,
    Generator,
    GeneratorContext,
    Params,
    register,
)
from dbclone.transform.generators.people import ascii_slug

_FIELD = re.compile(r"\{([^{}|]+)((?:\|[a-z_]+)*)\}")
_FILTERS: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "slug": ascii_slug,
    "initial": lambda s: s[:1],
}


class TemplateParams(Params):
    template: str = Field(min_length=1)


@register
class Template(Generator):
    """Build the value from other columns of the same row, after they are masked, e.g.
    template: '{first_name|slug}.{last_name|slug}@example.com'. Filters: lower, upper,
    title, slug, initial. A column that is not masked contributes its source value, so name
    only masked or harmless columns."""

    name = "template"
    family = "composition"
    Params = TemplateParams
    uses_row = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.fields = [(m.group(1).strip(), [f for f in m.group(2).split("|") if f])
                       for m in _FIELD.finditer(self.params.template)]

    @property
    def depends_on(self) -> list[str]:
        return [name for name, _ in self.fields]

    def row_reads(self) -> frozenset[str]:
        return frozenset(self.depends_on)

    def check(self) -> list[str]:
        problems = []
        for name, filters in self.fields:
            if self.ctx.table.column(name) is None:
                problems.append(f"{self.ctx.ref}: template names column '{name}', which is "
                                f"not in {self.ctx.table.ref}")
            problems.extend(f"{self.ctx.ref}: template filter '{f}' is unknown (filters: "
                            f"{', '.join(_FILTERS)})" for f in filters if f not in _FILTERS)
        return problems

    def generate(self, value: str, attempt: int) -> str:
        row = self.row

        def sub(m: re.Match[str]) -> str:
            name = m.group(1).strip()
            v = row.masked(name) if row is not None and row.has(name) else ""
            text = "" if v is None else str(v)
            for f in (f for f in m.group(2).split("|") if f):
                text = _FILTERS[f](text)
            return text

        out = _FIELD.sub(sub, self.params.template)
        if attempt:
            at = out.find("@")
            out = f"{out[:at]}{attempt}{out[at:]}" if at > 0 else f"{out}{attempt}"
        limit = self.ctx.column.max_length
        return out[:limit] if limit else out


# --- json ----------------------------------------------------------------------------------


def parse_path(path: str) -> list[str | int | None]:
    """'contacts[*].email' -> ['contacts', None, 'email'] (None: every element)."""
    p = path.strip()
    p = p.removeprefix("$").removeprefix(".")
    steps: list[str | int | None] = []
    for part in re.finditer(r"([^.\[\]]+)|\[(\*|\d+)\]", p):
        name, index = part.group(1), part.group(2)
        if name is not None:
            steps.append(None if name in ("*", "#") else name)
        else:
            steps.append(None if index == "*" else int(index))
    if not steps:
        raise ValueError(f"empty JSON path '{path}'")
    return steps


class JsonParams(Params):
    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: dict[str, Any] = Field(min_length=1)
    on_invalid: str = Field(default="redact", pattern="^(redact|null|fail)$")


@register
class Json(Generator):
    """Apply generators at paths inside a JSON value, e.g. paths: {'contacts[*].email':
    fake_email, 'owner.name': fake_name}. [*] (or .*) walks every array element, each
    masked on its own; other fields are kept. A value that does not parse as JSON is never
    passed through: on_invalid redact (default) writes {}, null writes NULL, fail stops."""

    name = "json"
    family = "composition"
    accepts = frozenset({TypeCategory.JSON, *TEXT_TYPES})
    Params = JsonParams
    may_return_source = True  # a document with nothing at the paths is already clean

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        from dbclone.transform.factory import RuleProblem, make_generator, spec_of

        self.rules: list[tuple[list[str | int | None], Generator]] = []
        for path, spec in self.params.paths.items():
            try:
                steps = parse_path(path)
            except ValueError as exc:
                raise RuleProblem(f"{ctx.ref}: json: {exc}") from None
            type_name, opts = spec_of(spec, f"{ctx.ref}: json path '{path}'")
            inner_col = Column(f"{ctx.column.name}.{path}", "json value", TypeCategory.TEXT)
            inner_ctx = replace(ctx, column=inner_col,
                                ref=ColumnRef(ctx.ref.table, f"{ctx.ref.name}.{path}"))
            self.rules.append((steps, make_generator(type_name, opts, inner_ctx)))

    def check(self) -> list[str]:
        problems = [p for _, g in self.rules for p in g.check()]
        if self.params.on_invalid == "null" and not self.ctx.column.nullable:
            problems.append(f"{self.ctx.ref}: json on_invalid: null on a NOT NULL column")
        return problems

    def generate(self, value: str, attempt: int) -> str | None:
        try:
            doc = json.loads(value)
        except ValueError:
            if self.params.on_invalid == "fail":
                raise GeneratorError(f"{self.ctx.ref}: a value is not valid JSON",
                                     hint="fix the data or set on_invalid: redact") from None
            return None if self.params.on_invalid == "null" else "{}"
        for steps, gen in self.rules:
            doc = _apply(doc, steps, gen)
        return json.dumps(doc, ensure_ascii=False)


def _apply(node: Any, steps: list[str | int | None], gen: Generator) -> Any:
    if not steps:
        return _leaf(node, gen)
    step, rest = steps[0], steps[1:]
    if step is None:
        if isinstance(node, list):
            return [_apply(v, rest, gen) for v in node]
        if isinstance(node, dict):
            return {k: _apply(v, rest, gen) for k, v in node.items()}
        return node
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            node = list(node)
            node[step] = _apply(node[step], rest, gen)
        return node
    if isinstance(node, dict) and step in node:
        node = dict(node)
        node[step] = _apply(node[step], rest, gen)
    return node


def _leaf(v: Any, gen: Generator) -> Any:
    if isinstance(v, (dict, list)):
        # a whole object or array at a leaf path: mask every scalar inside it
        return _apply(v, [None], gen) if v else v
    if v is None:
        return gen(None)
    if isinstance(v, bool):
        out = gen(str(v).lower())
        return out == "true" if out in ("true", "false") else out
    if isinstance(v, (int, float)):
        out = gen(str(v))
        try:
            return type(v)(out) if out is not None else None
        except ValueError:
            return out
    return gen(str(v))


# --- conditional ---------------------------------------------------------------------------


class ConditionalParams(Params):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: list[dict[str, Any]] = Field(min_length=1)
    otherwise: Any = Field(alias="else")

    @model_validator(mode="after")
    def _shape(self) -> ConditionalParams:
        for i, case in enumerate(self.when):
            if set(case) != {"if", "then"}:
                raise ValueError(f"when[{i}] needs exactly 'if' and 'then'")
            cond = case["if"]
            if not isinstance(cond, dict) or "column" not in cond:
                raise ValueError(f"when[{i}].if needs 'column' and one test")
            tests = set(cond) - {"column"}
            if len(tests) != 1 or not tests <= {"equals", "in", "matches", "is_null"}:
                raise ValueError(f"when[{i}].if takes one of equals, in, matches, is_null")
        return self


@register
class Conditional(Generator):
    """Choose the generator by a test on the row's source values, e.g. when: [{if: {column:
    country, equals: US}, then: fake_ssn}], else: {type: redact}. Tests: equals, in,
    matches (a regular expression), is_null. The first matching case wins."""

    name = "conditional"
    family = "composition"
    accepts = ALL_TYPES
    Params = ConditionalParams
    uses_row = True

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        from dbclone.transform.factory import make_generator, spec_of

        self.cases: list[tuple[str, str, Any, Generator]] = []
        for i, case in enumerate(self.params.when):
            cond = dict(case["if"])
            column = str(cond.pop("column"))
            test, arg = next(iter(cond.items()))
            if test == "matches":
                try:
                    arg = re.compile(str(arg))
                except re.error as exc:
                    raise ValueError(f"when[{i}].if.matches is not a valid regular "
                                     f"expression: {exc}") from None
            type_name, opts = spec_of(case["then"], f"{ctx.ref}: conditional when[{i}].then")
            self.cases.append((column, test, arg, make_generator(type_name, opts, ctx)))
        type_name, opts = spec_of(self.params.otherwise, f"{ctx.ref}: conditional else")
        self.default = make_generator(type_name, opts, ctx)
        self.may_return_source = any(
            g.may_return_source for *_, g in self.cases) or self.default.may_return_source

    def check(self) -> list[str]:
        problems = [f"{self.ctx.ref}: conditional tests column '{c}', which is not in "
                    f"{self.ctx.table.ref}" for c, *_ in self.cases
                    if self.ctx.table.column(c) is None]
        for *_, g in [*self.cases, (None, None, None, self.default)]:
            problems.extend(g.check())
        return problems

    def _choose(self) -> Generator:
        row = self.row
        for column, test, arg, gen in self.cases:
            v = row.source(column) if row is not None and row.has(column) else None
            if test == "is_null":
                ok = (v is None) == bool(arg)
            elif v is None:
                ok = False
            elif test == "equals":
                ok = str(v) == str(arg)
            elif test == "in":
                ok = str(v) in {str(a) for a in (arg or [])}
            else:
                ok = arg.search(str(v)) is not None
            if ok:
                return gen
        return self.default

    def generate(self, value: str, attempt: int) -> str | None:
        gen = self._choose()
        gen.row = self.row
        return gen.generate(value, attempt) if gen.masks else value

    def __call__(self, value: str | None, row_key: str = "") -> str | None:
        gen = self._choose()
        gen.row = self.row
        return gen(value, row_key)


# --- custom --------------------------------------------------------------------------------


class CustomParams(Params):
    function: str | None = None  # "package.module:callable" or "package.module.callable"
    entry_point: str | None = None  # a name in the 'dbclone.generators' entry-point group
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one(self) -> CustomParams:
        if (self.function is None) == (self.entry_point is None):
            raise ValueError("give exactly one of function or entry_point")
        return self


def load_callable(function: str | None, entry_point: str | None) -> Callable[..., Any]:
    if entry_point is not None:
        from importlib.metadata import entry_points

        found = [ep for ep in entry_points(group="dbclone.generators")
                 if ep.name == entry_point]
        if not found:
            raise ValueError(f"no entry point '{entry_point}' in group dbclone.generators")
        return found[0].load()
    assert function is not None
    module, _, attr = function.partition(":") if ":" in function else function.rpartition(".")
    if not module or not attr:
        raise ValueError(f"'{function}' is not module:callable")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load '{function}': {exc.__class__.__name__}") from None
    if not callable(obj):
        raise ValueError(f"'{function}' is not callable")
    return obj


@register
class Custom(Generator):
    """Call your own Python function (option function: 'package.module:func', or entry_point:
    a name registered under the 'dbclone.generators' entry-point group), as func(value,
    **options) -> str. It is still held to the rules: never the source value, NULL kept."""

    name = "custom"
    family = "composition"
    accepts = ALL_TYPES
    Params = CustomParams

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        self.func = load_callable(self.params.function, self.params.entry_point)
        self.label = (f"custom function {self.params.function}" if self.params.function
                      else f"custom entry point {self.params.entry_point}")

    def generate(self, value: str, attempt: int) -> str | None:
        # The function always gets the real value: a retry with a mangled input could echo
        # the source back inside its output. Messages name the function, never the value.
        try:
            out = self.func(value, **self.params.options)
        except Exception as exc:
            raise GeneratorError(f"{self.ctx.ref}: {self.label} failed "
                                 f"({exc.__class__.__name__})",
                                 hint="rerun with --traceback for details") from exc
        if out is None:
            return None
        out = str(out)
        if out == value or (value and value in out):
            raise GeneratorError(f"{self.ctx.ref}: {self.label} returned the source value",
                                 hint="the function must return a value that neither equals "
                                      "nor contains its input")
        return out
