"""``dbclone init``: introspect and sample a source, detect its sensitive columns and write a
complete workspace (every column of every table: a suggested generator with the reason, or
keep) plus the schema lock the drift gate compares against.

Sampled values never leave this module: the workspace and the lock hold names, types, kinds
and counts only. Everything is checked before anything is written (the workspace must
resolve into a masking plan on this very schema), and both files are written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dbclone import __version__
from dbclone.config import parse_workspace
from dbclone.config.privacy import DEFAULT_SAMPLE
from dbclone.dialects import get_dialect, parse_url
from dbclone.dialects.base import DatabaseURL
from dbclone.errors import CloneFailed, ConfigError, PlanError
from dbclone.gate.detect import Detection
from dbclone.gate.lock import (
    build_lock,
    column_name,
    data_tables,
    lock_path_for,
    table_name,
    write_atomically,
)
from dbclone.gate.sampling import detect
from dbclone.gate.suggest import Suggestion, for_type, suggest
from dbclone.introspect.snapshot import Column, ColumnRef, SchemaSnapshot
from dbclone.transform import resolve_rules

PASSWORD_VAR = "DBCLONE_SOURCE_PASSWORD"


@dataclass
class ColumnChoice:
    """What init decided for one column."""

    ref: ColumnRef
    column: Column
    detection: Detection | None = None
    suggestion: Suggestion | None = None  # None: keep
    follows: ColumnRef | None = None  # an FK column whose masked key's mapping it gets
    note: str = ""

    @property
    def sensitive(self) -> bool:
        return self.detection is not None


@dataclass
class InitResult:
    workspace: Path
    lock: Path
    source: str  # the URL without its password
    destination: str
    choices: list[ColumnChoice] = field(default_factory=list)
    tables: int = 0
    seconds: float = 0.0
    password_var: str | None = None  # set when the URL had a password: read from this

    @property
    def flagged(self) -> list[ColumnChoice]:
        return [c for c in self.choices if c.sensitive]


def init_workspace(source_url: str, output: str | Path, *, destination_url: str | None = None,
                   sample: int = DEFAULT_SAMPLE, schemas: list[str] | None = None,
                   force: bool = False) -> InitResult:
    started = time.monotonic()
    out = Path(output)
    lock_out = lock_path_for(out)
    if sample < 1:
        raise ConfigError(f"sample size {sample}: must be at least 1",
                          hint="give --sample N with N >= 1 (values sampled per column)")
    for p in (out, lock_out):
        if p.exists() and not force:
            raise ConfigError(f"{p} exists; not overwriting it",
                              hint="choose another -o, or pass --force to replace it")
    if not out.parent.is_dir():
        raise ConfigError(f"{out.parent}: directory does not exist",
                          hint="create it or choose another -o")
    src = parse_url(source_url, what="--source")
    dst = (parse_url(destination_url, what="--destination") if destination_url
           else default_destination(src))
    dialect = get_dialect(src.dialect)
    with dialect.open_source(src) as source:
        snapshot = source.introspect(schemas)
        tables = data_tables(snapshot)
        denied = source.unreadable_tables(tables)
        if denied:
            names = "; ".join(f"{ref} ({what})" for ref, what in denied)
            raise CloneFailed(f"the source user may not read {len(denied)} "
                              f"table{'s' if len(denied) > 1 else ''}: {names}",
                              hint="grant SELECT on them, or leave their schema out "
                                   "(source.schemas); nothing was written")
        detections: dict[ColumnRef, Detection] = {}
        for t in tables:
            for name, det in detect(source, snapshot, t, t.column_names, sample).items():
                detections[ColumnRef(t.ref, name)] = det
    choices = decide(snapshot, detections)
    result = InitResult(out, lock_out, str(src), str(dst), choices, len(tables))
    text = render(result, snapshot, src, dst, sample, schemas)
    text = _validated(text, result, snapshot, src, dst, sample, schemas)
    kinds = {c.ref: (c.detection.kind if c.detection else None) for c in choices}
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    lock = build_lock(snapshot, kinds, sample, written_by=f"dbclone init {__version__}",
                      written_at=now)
    write_atomically([(out, text), (lock_out, json.dumps(lock.to_json(), indent=1,
                                                         ensure_ascii=False) + "\n")])
    result.password_var = PASSWORD_VAR if src.password else None
    result.seconds = time.monotonic() - started
    return result


def default_destination(src: DatabaseURL) -> DatabaseURL:
    if src.dialect == "sqlite":
        p = Path(src.database)
        return src.with_database(str(p.with_name(p.stem + "_masked" + (p.suffix or ".db"))))
    return src.with_database(src.database + "_masked")


# -- deciding --------------------------------------------------------------------------------


def decide(snapshot: SchemaSnapshot,
           detections: dict[ColumnRef, Detection]) -> list[ColumnChoice]:
    """A generator per sensitive column; keys get one-to-one generators and the foreign keys
    referencing a masked key get no rule (the plan applies the key's mapping to them)."""
    masked = dict(detections)
    pairs = _fk_pairs(snapshot)
    # A sensitive FK column means its key is sensitive too: mask the key, the FK follows.
    changed = True
    while changed:
        changed = False
        for child, parent in pairs:
            if child in masked and parent not in masked:
                det = masked[child]
                masked[parent] = replace(det, reason=f"referenced by {child}: {det.reason}")
                changed = True
    parents = {p for _, p in pairs}
    follows = {c: p for c, p in pairs if p in masked}
    out = []
    for t in data_tables(snapshot):
        for col in t.columns:
            if col.generated is not None:
                continue
            ref = ColumnRef(t.ref, col.name)
            choice = ColumnChoice(ref, col)
            if ref in follows:
                choice.follows = follows[ref]
                choice.detection = masked.get(ref)
            elif ref in masked:
                det = masked[ref]
                is_key = (col.name in t.primary_key or ref in parents
                          or any(col.name in u for u in t.unique_constraints))
                choice.detection = det
                choice.suggestion = suggest(det, col, is_key=is_key,
                                            referenced=col.name in t.primary_key
                                            or ref in parents)
            out.append(choice)
    return out


def _fk_pairs(snapshot: SchemaSnapshot) -> list[tuple[ColumnRef, ColumnRef]]:
    pairs = []
    for fk in snapshot.foreign_keys:
        child_t = snapshot.partition_root(fk.table)
        parent_t = snapshot.partition_root(fk.ref_table)
        if child_t not in snapshot.tables or parent_t not in snapshot.tables:
            continue
        for c, p in zip(fk.columns, fk.ref_columns, strict=False):
            pairs.append((ColumnRef(child_t, c), ColumnRef(parent_t, p)))
    return pairs


# -- writing ---------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.$-]*$")
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(value: Any) -> str:
    """A YAML scalar: plain when it is safe, else double-quoted (JSON string syntax)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    s = str(value)
    if _PLAIN.match(s) and s.lower() not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def url_text(url: DatabaseURL) -> str:
    """The URL as the workspace holds it: a password becomes ${DBCLONE_SOURCE_PASSWORD}."""
    shown = str(url)  # password rendered as ***
    if url.password:
        shown = shown.replace(":***@", ":${" + PASSWORD_VAR + "}@", 1)
    return shown


def render(result: InitResult, snapshot: SchemaSnapshot, src: DatabaseURL,
           dst: DatabaseURL, sample: int, schemas: list[str] | None) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(src.database).stem or "workspace").strip("-")
    flagged = len(result.flagged)
    total = len(result.choices)
    lines = [
        f"# Written by `dbclone init` ({__version__}) from {src}.",
        f"# {total:,} columns in {result.tables} tables; {flagged} look sensitive and get a "
        "generator, with the reason;",
        "# the others are listed as keep. Up to "
        f"{sample:,} values were sampled per column; none is written here",
        f"# or in {result.lock.name}, which records this schema for the drift gate.",
        f"# Review, then: dbclone validate {result.workspace.name} && "
        f"dbclone clone {result.workspace.name}",
        f"workspace: {scalar(name or 'workspace')}",
        "source:",
        f"  url: {scalar(url_text(src))}",
    ]
    if schemas:
        lines.append(f"  schemas: {flow(schemas)}")
    elif snapshot.dialect == "postgresql":
        lines.append(f"  schemas: {flow(list(snapshot.schemas))}")
    lines += [
        "destination:",
        f"  url: {scalar(url_text(dst))}",
        "locale: en_US",
        "# secret: ${DBCLONE_SECRET}   # set it for the same masked values in every run",
        "on_unconfigured: fail   # a column this file does not cover, if it looks sensitive "
        "or is new, stops the run",
        "audit:",
        f"  sample: {sample}   # source values looked for in the copy, per column, after "
        "each clone",
        "  allow: []   # columns whose source values may appear in the copy",
        "generators:",
    ]
    by_table: dict[Any, list[ColumnChoice]] = {}
    for c in result.choices:
        by_table.setdefault(c.ref.table, []).append(c)
    for ref, choices in by_table.items():
        table = snapshot.tables[ref]
        est = table.row_estimate
        rows = f" (about {est:,} rows)" if est is not None and est >= 0 else ""
        lines.append(f"  # {table_name(ref, snapshot)}{rows}")
        for c in choices:
            key = scalar(column_name(c.ref, snapshot))
            if c.follows is not None:
                lines.append(f"  # {column_name(c.ref, snapshot)}: no rule, it follows "
                             f"{column_name(c.follows, snapshot)} (foreign key to a masked "
                             "key: the plan applies that key's mapping)")
                continue
            if c.suggestion is None:
                lines.append(f"  {key}: keep")
                continue
            why = c.detection.reason if c.detection else ""
            if c.suggestion.note:
                why = f"{why}; {c.suggestion.note}" if why else c.suggestion.note
            lines.append(f"  {key}: {flow(c.suggestion.spec())}   # {_one_line(why)}")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _validated(text: str, result: InitResult, snapshot: SchemaSnapshot, src: DatabaseURL,
               dst: DatabaseURL, sample: int, schemas: list[str] | None) -> str:
    """Resolve the written rules against the schema, as plan will; a suggestion that does not
    fit its column (length, type, NOT NULL) falls back to a type-based one, then keep."""
    for _ in range(3):
        config = parse_workspace(text, str(result.workspace), env={PASSWORD_VAR: "x",
                                                                   "DBCLONE_SECRET": ""})
        try:
            resolve_rules(config, snapshot)
            return text
        except PlanError as exc:
            bad = _lines_of(exc.problems, str(result.workspace))
        lines = text.splitlines()
        fixed = False
        for c in result.choices:
            if c.suggestion is None:
                continue
            line = _line_of(lines, column_name(c.ref, snapshot))
            if line not in bad:
                continue
            was = c.suggestion.generator
            fallback = for_type(c.column)
            if fallback.generator == was:
                fallback = (Suggestion("null") if c.column.nullable else
                            Suggestion("keep", note="REVIEW: no masking generator fits"))
            c.suggestion = replace(fallback, note=fallback.note or
                                   f"{was} does not fit {c.column.type_sql}")
            fixed = True
        if not fixed:
            break
        text = render(result, snapshot, src, dst, sample, schemas)
    raise PlanError("dbclone init could not write rules that resolve on this schema",
                    hint="this is a bug in dbclone init; nothing was written")


def _lines_of(problems: list[str], path: str) -> set[int]:
    out = set()
    for p in problems:
        m = re.match(re.escape(path) + r":(\d+):", p)
        if m:
            out.add(int(m.group(1)))
    return out


def _line_of(lines: list[str], key: str) -> int | None:
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith((key + ":", scalar(key) + ":")):
            return i
    return None
