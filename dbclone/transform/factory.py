"""Build a generator from a rule (type + options) for one column; used by the plan and by
the composing generators (json, conditional) for their inner rules."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dbclone.errors import did_you_mean
from dbclone.introspect.snapshot import TypeCategory
from dbclone.transform.base import REGISTRY, Generator, GeneratorContext


class RuleProblem(Exception):
    """One problem with a rule; the plan collects these."""


def spec_of(spec: Any, where: str) -> tuple[str, dict[str, Any]]:
    """Accept 'name' or {type: name, ...options}."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict) and "type" in spec:
        return str(spec["type"]), {k: v for k, v in spec.items() if k != "type"}
    raise RuleProblem(f"{where}: expected a generator name or {{type: NAME, ...}}")


def make_generator(type_name: str, options: dict[str, Any], ctx: GeneratorContext) -> Generator:
    cls = REGISTRY.get(type_name)
    if cls is None:
        hint = did_you_mean(type_name, list(REGISTRY))
        raise RuleProblem(f"{ctx.ref}: unknown generator '{type_name}'"
                          + (f" ({hint})" if hint else " (see 'dbclone generators')"))
    try:
        params = cls.Params.model_validate(options)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "options"
            if err["type"] == "extra_forbidden":
                hint = did_you_mean(loc, list(cls.Params.model_fields))
                msg = "unknown option" + (f" ({hint})" if hint else
                                          f" (options: {', '.join(cls.Params.model_fields)})")
            else:
                msg = err["msg"].removeprefix("Value error, ")
            msgs.append(f"{ctx.ref}: {type_name}: {loc}: {msg}")
        raise RuleProblem("\n".join(msgs)) from None
    column = ctx.column
    if column.category not in cls.accepts:
        kinds = ", ".join(sorted(c.value for c in cls.accepts))
        raise RuleProblem(f"{ctx.ref}: {type_name} does not fit the {column.type_sql} column "
                          f"(it takes: {kinds})")
    if column.type_sql.endswith("[]") and TypeCategory.BOOLEAN not in cls.accepts:
        # An array's text is '{a,b}': a generator of single values (fake_email) wrote a
        # malformed array literal, found only by the destination, mid-copy. The generators
        # that take any column type (they write the column's own kind of text) can go.
        takes = ", ".join(sorted(n for n, c in REGISTRY.items()
                                 if TypeCategory.BOOLEAN in c.accepts))
        raise RuleProblem(f"{ctx.ref}: {type_name} writes single values, and the "
                          f"{column.type_sql} column holds arrays of them (these take any "
                          f"column: {takes})")
    try:
        return cls(params, ctx)
    except RuleProblem:
        raise
    except (ValueError, ImportError) as exc:
        raise RuleProblem(f"{ctx.ref}: {type_name}: {exc}") from None
