"""The workspace ``subset:`` section: what the user asked for, with the file:line of each part.

Shape::

    subset:
      root_table: public.customer      # or roots: [{table: ..., target_size: ..., where: ...}]
      target_size: 10%                 # "10%", a fraction 0.1, or a row count 500
      where: "active = 1"              # SQL on the root table (with or instead of target_size)
      seed: 42                         # same seed -> same subset (default 0)
      passthrough: [public.country]    # copied whole
      exclude: [public.audit_log]      # never copied
      virtual_foreign_keys:            # relations the schema does not declare
        - {from: public.orders(customer_ref), to: public.customers(external_id)}
      downstream: true                 # children of selected rows too (default true)
      extension_rows: true             # 1:1 PK=FK rows of every included row (default true)
      excluded_referenced: error       # or passthrough: copy such a table whole

Names are resolved against the source later (plan time); everything that can be checked
without a database is checked here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dbclone.config.yaml_lines import LocatedDoc
from dbclone.errors import ConfigError, did_you_mean


class SubsetConfig(BaseModel):
    """The raw ``subset:`` mapping. Values are checked by :func:`build_subset`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root_table: str | None = None
    roots: list[Any] | None = None
    target_size: Any = None
    where: str | None = None
    seed: Any = 0
    passthrough: list[Any] = Field(default_factory=list)
    exclude: list[Any] = Field(default_factory=list)
    virtual_foreign_keys: list[Any] = Field(default_factory=list)
    downstream: Any = True
    extension_rows: Any = True
    excluded_referenced: Any = "error"


ROOT_KEYS = ("table", "target_size", "where")
VFK_KEYS = ("from", "to", "name")
EXCLUDED_REFERENCED = ("error", "passthrough")


@dataclass(frozen=True)
class TargetSize:
    """How many root rows: ``percent`` (0-100), ``fraction`` (0-1) or ``rows`` (a count)."""

    kind: str
    value: float
    text: str  # as written

    def rows_of(self, available: int) -> int:
        """The number of rows to take out of ``available``: exact, so the selected count is
        the target rounded to the nearest row."""
        if self.kind == "rows":
            return min(int(self.value), available)
        share = self.value / 100 if self.kind == "percent" else self.value
        return min(available, math.floor(share * available + 0.5))

    def describe(self) -> str:
        if self.kind == "rows":
            return f"{int(self.value):,} rows"
        share = self.value if self.kind == "percent" else self.value * 100
        return f"{share:g}%"


@dataclass(frozen=True)
class RootSpec:
    table: str  # as written
    at: str  # file:line of the table name
    target: TargetSize | None = None
    where: str | None = None
    where_at: str = ""


@dataclass(frozen=True)
class NamedTable:
    name: str
    at: str


@dataclass(frozen=True)
class VirtualFKSpec:
    child: str
    child_columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    at: str
    name: str | None = None


@dataclass(frozen=True)
class SubsetSpec:
    roots: tuple[RootSpec, ...]
    at: str
    seed: int = 0
    passthrough: tuple[NamedTable, ...] = ()
    exclude: tuple[NamedTable, ...] = ()
    virtual_fks: tuple[VirtualFKSpec, ...] = ()
    downstream: bool = True
    extension_rows: bool = True
    excluded_referenced: str = "error"


def build_subset(doc: LocatedDoc, model: SubsetConfig | None) -> SubsetSpec | None:
    """Check the ``subset:`` section as far as possible without a database."""
    if model is None:
        return None
    base = ("subset",)
    raw = doc.data.get("subset") if isinstance(doc.data, dict) else None
    given = raw if isinstance(raw, dict) else {}
    roots = _roots(doc, model, given)
    return SubsetSpec(
        roots=roots,
        at=doc.where(base),
        seed=_seed(doc, model.seed),
        passthrough=_names(doc, model.passthrough, "passthrough"),
        exclude=_names(doc, model.exclude, "exclude"),
        virtual_fks=tuple(_virtual_fk(doc, item, i)
                          for i, item in enumerate(model.virtual_foreign_keys)),
        downstream=_flag(doc, model.downstream, "downstream"),
        extension_rows=_flag(doc, model.extension_rows, "extension_rows"),
        excluded_referenced=_choice(doc, model.excluded_referenced),
    )


def _roots(doc: LocatedDoc, model: SubsetConfig, given: dict) -> tuple[RootSpec, ...]:
    if model.roots is not None and model.root_table is not None:
        raise ConfigError(f"{doc.where(('subset', 'roots'))}: subset has both root_table and "
                          "roots", hint="use root_table for one root, roots: [...] for several")
    if model.roots is None:
        if model.root_table is None:
            raise ConfigError(f"{doc.where(('subset',))}: subset: needs root_table (or roots)",
                              hint="e.g. root_table: public.customer and target_size: 10%")
        return (RootSpec(model.root_table, doc.where(("subset", "root_table")),
                         _target(doc, model.target_size, ("subset", "target_size"))
                         if "target_size" in given else None,
                         _where(doc, model.where, ("subset", "where")),
                         doc.where(("subset", "where"))),)
    for key in ("target_size", "where"):
        if key in given:
            raise ConfigError(f"{doc.where(('subset', key))}: with roots: [...], put {key} on "
                              "each root", hint=f"roots: [{{table: ..., {key}: ...}}]")
    if not model.roots:
        raise ConfigError(f"{doc.where(('subset', 'roots'))}: roots is empty",
                          hint="list at least one root: roots: [{table: public.customer}]")
    out = []
    for i, item in enumerate(model.roots):
        path = ("subset", "roots", i)
        if isinstance(item, str):
            out.append(RootSpec(item, doc.where(path)))
            continue
        if not isinstance(item, dict):
            raise ConfigError(f"{doc.where(path)}: a root is a table name or "
                              "{table: ..., target_size: ..., where: ...}")
        _check_keys(doc, item, ROOT_KEYS, path)
        if not isinstance(item.get("table"), str) or not item["table"]:
            raise ConfigError(f"{doc.where(path)}: the root needs 'table'",
                              hint="{table: public.customer, target_size: 10%}")
        out.append(RootSpec(item["table"], doc.where((*path, "table")),
                            _target(doc, item["target_size"], (*path, "target_size"))
                            if "target_size" in item else None,
                            _where(doc, item.get("where"), (*path, "where")),
                            doc.where((*path, "where"))))
    return tuple(out)


_PERCENT = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*%\s*$")


def _target(doc: LocatedDoc, value: Any, path: tuple) -> TargetSize:
    where = doc.where(path)
    hint = "write a percentage (10%), a fraction (0.1) or a row count (500)"
    text = str(value)
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{where}: target_size: '{text}' is not a size", hint=hint)
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if m:
            pct = float(m.group(1))
            if not 0 <= pct <= 100:
                raise ConfigError(f"{where}: target_size {value.strip()} is outside 0%..100%",
                                  hint=hint)
            return TargetSize("percent", pct, value.strip())
        try:
            value = int(value) if re.fullmatch(r"\s*[+-]?\d+\s*", value) else float(value)
        except ValueError:
            raise ConfigError(f"{where}: target_size: '{text}' is not a size", hint=hint) from None
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{where}: target_size {value} is below 0", hint=hint)
        return TargetSize("rows", float(value), text)
    if isinstance(value, float):
        if math.isnan(value) or not 0 <= value <= 1:
            raise ConfigError(f"{where}: target_size {text} is outside 0..1 (a fraction)",
                              hint="a fraction is between 0 and 1; write 10% for a percentage "
                                   "or a whole number for a row count")
        return TargetSize("fraction", value, text)
    raise ConfigError(f"{where}: target_size: '{text}' is not a size", hint=hint)


def _where(doc: LocatedDoc, value: Any, path: tuple) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{doc.where(path)}: where must be SQL text",
                          hint="quote it: where: \"created_at >= '2024-01-01'\"")
    return value.strip()


def _seed(doc: LocatedDoc, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{doc.where(('subset', 'seed'))}: seed must be a whole number",
                          hint="e.g. seed: 42")
    return value


def _flag(doc: LocatedDoc, value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{doc.where(('subset', key))}: {key} must be true or false")
    return value


def _choice(doc: LocatedDoc, value: Any) -> str:
    if value not in EXCLUDED_REFERENCED:
        hint = did_you_mean(str(value), EXCLUDED_REFERENCED) or "use error or passthrough"
        raise ConfigError(f"{doc.where(('subset', 'excluded_referenced'))}: "
                          f"excluded_referenced: unknown choice '{value}'", hint=hint)
    return str(value)


def _names(doc: LocatedDoc, values: list[Any], key: str) -> tuple[NamedTable, ...]:
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{doc.where(('subset', key, i))}: {key} lists table names",
                              hint=f"{key}: [public.country, public.currency]")
        out.append(NamedTable(v, doc.where(("subset", key, i))))
    return tuple(out)


def _check_keys(doc: LocatedDoc, item: dict, known: tuple[str, ...], path: tuple) -> None:
    for key in item:
        if key not in known:
            hint = did_you_mean(str(key), known) or f"known keys: {', '.join(known)}"
            raise ConfigError(f"{doc.where((*path, key))}: unknown key '{key}'", hint=hint)


_VFK_SIDE = re.compile(r"^\s*(?P<table>.+?)\s*\(\s*(?P<cols>.*?)\s*\)\s*$", re.DOTALL)


def _virtual_fk(doc: LocatedDoc, item: Any, i: int) -> VirtualFKSpec:
    path = ("subset", "virtual_foreign_keys", i)
    where = doc.where(path)
    shape = "write {from: schema.table(col, ...), to: schema.table(col, ...)}"
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: a virtual foreign key is a mapping", hint=shape)
    _check_keys(doc, item, VFK_KEYS, path)
    for key in ("from", "to"):
        if key not in item:
            raise ConfigError(f"{where}: the virtual foreign key needs '{key}'", hint=shape)
    child, ccols = _side(doc, item["from"], (*path, "from"), shape)
    parent, pcols = _side(doc, item["to"], (*path, "to"), shape)
    if len(ccols) != len(pcols):
        raise ConfigError(f"{where}: virtual foreign key has {len(ccols)} column(s) in 'from' "
                          f"and {len(pcols)} in 'to'",
                          hint="list the same number of columns on both sides, in order")
    name = item.get("name")
    return VirtualFKSpec(child, ccols, parent, pcols, where,
                         str(name) if name is not None else None)


def _side(doc: LocatedDoc, value: Any, path: tuple, shape: str) -> tuple[str, tuple[str, ...]]:
    where = doc.where(path)
    m = _VFK_SIDE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"{where}: '{value}' is not schema.table(column, ...)", hint=shape)
    cols = tuple(_unquote(c.strip()) for c in _split_columns(m.group("cols")))
    if not cols or not all(cols):
        raise ConfigError(f"{where}: '{value}' names no column", hint=shape)
    return m.group("table"), cols


def _split_columns(text: str) -> list[str]:
    """Split on commas outside double quotes."""
    parts, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name
