"""The leak audit: after a clone, look for source values in the copy.

For every audited column (each masked column, and each column kept by an explicit ``keep``
rule that looks sensitive) a bounded random sample of source rows is read. Then every
destination table is scanned once, streamed:

- **same column**: the destination row with the same key still holds the source value
  (the key mapped through its generator when the key itself is masked one-to-one; without a
  usable key, the value anywhere in the column, for distinctive values only);
- **elsewhere**: a distinctive source value (two or more words, or with a digit, at least six
  characters: an e-mail, a full name, an SSN, an address) appears inside any text or JSON
  column of the destination, as a whole or as a run of words (a real name inside a note, an
  e-mail copied into a JSON field).

Generators that may return the source value by nature (shuffle, categorical, constant...)
are not held to the same-column check. The result holds counts, column names and the
destination rows' primary keys: never a value.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from dbclone.config import WorkspaceConfig
from dbclone.dialects import get_dialect
from dbclone.dialects.base import DatabaseURL, Finding, SourceReader
from dbclone.gate.drift import GateResult
from dbclone.gate.lock import column_name, data_tables
from dbclone.introspect.snapshot import ColumnRef, SchemaSnapshot, Table, TableRef, TypeCategory
from dbclone.transform import Generator, MaskingPlan
from dbclone.transform.factory import RuleProblem
from dbclone.transform.resolve import column_ref

TEXTUAL = frozenset({TypeCategory.TEXT, TypeCategory.OTHER})
SCANNED = frozenset({TypeCategory.TEXT, TypeCategory.OTHER, TypeCategory.JSON})
MAX_KEYS = 5  # destination primary keys kept per leak location
# Generators of values that many people share (places, job titles): "Rio de Janeiro" in a
# song title says nothing about a customer, so these are checked in their own column only.
SHARED_VALUES = frozenset({"fake_city", "fake_state", "fake_country", "fake_zip",
                           "fake_job_title"})
_TOKEN = re.compile(r"\w+")


@dataclass
class Leak:
    """Where sampled source values of one column were found in the copy."""

    found_in: str  # destination table.column
    rows: int = 0
    keys: list[str] = field(default_factory=list)  # primary keys of those rows (a few)

    def to_json(self) -> dict[str, object]:
        return {"found_in": self.found_in, "rows": self.rows, "keys": self.keys}


@dataclass
class ColumnAudit:
    column: str  # the audited source column, as the workspace writes it
    generator: str
    sampled: int = 0
    allowed: str = ""  # why its leaks do not fail the run ("audit.allow", ...)
    leaks: dict[str, Leak] = field(default_factory=dict)

    @property
    def leaked_rows(self) -> int:
        return sum(v.rows for v in self.leaks.values())

    def to_json(self) -> dict[str, object]:
        return {"column": self.column, "generator": self.generator, "sampled": self.sampled,
                "allowed": self.allowed or None, "leaked_rows": self.leaked_rows,
                "leaks": [v.to_json() for v in self.leaks.values()]}


@dataclass
class AuditResult:
    target: str  # the database read (URL without password)
    columns: list[ColumnAudit] = field(default_factory=list)
    tables_scanned: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def failing(self) -> list[ColumnAudit]:
        return [c for c in self.columns if c.leaked_rows and not c.allowed]

    @property
    def passed(self) -> bool:
        return not self.failing

    def problems(self) -> list[str]:
        out = []
        for c in self.failing:
            for leak in c.leaks.values():
                more = ", ..." if leak.rows > len(leak.keys) else ""
                keys = f" (rows {'; '.join(leak.keys)}{more})" if leak.keys else ""
                out.append(f"{c.column} ({c.generator}): {leak.rows} sampled source "
                           f"value{'s' if leak.rows != 1 else ''} found in {leak.found_in}"
                           f"{keys}")
        return out

    def to_json(self) -> dict[str, object]:
        return {"target": self.target, "passed": self.passed,
                "tables_scanned": self.tables_scanned, "seconds": round(self.seconds, 3),
                "columns": [c.to_json() for c in self.columns],
                "findings": [f.__dict__ for f in self.findings]}


# token -> (token run of a distinctive source value, the token's place in it, audited index).
# Keyed by the run's longest token, not its first: "+1 503 555 0199" must not be looked at
# for every "1" in every text.
Needles = dict[str, list[tuple[tuple[str, ...], int, int]]]


@dataclass
class _Audited:
    ref: ColumnRef
    entry: ColumnAudit
    gen: Generator | None  # None: kept
    same_row: dict[tuple, str] = field(default_factory=dict)  # dest key -> source value
    members: set[str] = field(default_factory=set)  # same column, no usable key
    # a kept JSON column that looks sensitive: only documents holding a value at one of the
    # detected paths leak (not every document of the column)
    json_paths: tuple[str, ...] = ()


def audit_clone(config: WorkspaceConfig, snapshot: SchemaSnapshot, masking: MaskingPlan,
                gate: GateResult | None, source: SourceReader, target: DatabaseURL,
                ) -> AuditResult:
    """Sample the source, scan the copy at ``target``; counts only, never values."""
    return sample_source(config, snapshot, masking, gate, source, target).scan()


@dataclass
class AuditSample:
    """What the audit took from the source; :meth:`scan` reads only the copy, on a
    connection of its own, so another thread may run it while the writer finishes."""

    snapshot: SchemaSnapshot
    target: DatabaseURL
    scan_rows: int
    audited: list[_Audited]
    needles: Needles
    skipped: set[ColumnRef]
    result: AuditResult
    started: float

    def scan(self) -> AuditResult:
        with get_dialect(self.target.dialect).open_source(self.target) as dest:
            for table in data_tables(self.snapshot):
                _scan(dest, _as_target(table, self.snapshot, self.target), table,
                      self.audited, self.needles, self.result, self.skipped, self.scan_rows)
        self.result.columns = [a.entry for a in self.audited]
        self.result.seconds = time.monotonic() - self.started
        return self.result


def sample_source(config: WorkspaceConfig, snapshot: SchemaSnapshot, masking: MaskingPlan,
                  gate: GateResult | None, source: SourceReader,
                  target: DatabaseURL) -> AuditSample:
    """The source's side of the audit: the values to look for in the copy at ``target``."""
    started = time.monotonic()
    result = AuditResult(str(target))
    allowed = _allowed(config, snapshot, result)
    audited = _audited_columns(snapshot, masking, gate, allowed)
    # needles: normalised token runs of distinctive values -> indexes into `audited`
    needles: Needles = {}
    for table in data_tables(snapshot):
        # columns whose values may be copied (allowed) are listed, not searched for
        mine = [(i, a) for i, a in enumerate(audited)
                if a.ref.table == table.ref and not a.entry.allowed]
        if mine:
            _sample(source, table, mine, masking, config.audit.sample, needles)
    # Columns copied as they are by the user's choice (on_unconfigured: keep, audit.allow)
    # hold their own source values: finding one there is no leak of another column.
    chosen = allowed | (gate.kept_by_policy if gate is not None else set())
    # Columns whose generator draws its output from pools or keys cannot hold another
    # column's words: searching them costs time and finds only chance matches.
    skipped = chosen | {ref for ref, g in masking.rules.items() if g.masks and g.fresh_output}
    return AuditSample(snapshot, target, config.audit.scan_rows, audited, needles, skipped,
                       result, started)


def _allowed(config: WorkspaceConfig, snapshot: SchemaSnapshot,
             result: AuditResult) -> set[ColumnRef]:
    out = set()
    for name in config.audit.allow:
        try:
            out.add(column_ref(name, f"{config.path}: audit.allow", snapshot))
        except RuleProblem as p:
            result.findings.append(Finding("warning", name, f"{p}; not in the source"))
    return out


def _audited_columns(snapshot: SchemaSnapshot, masking: MaskingPlan, gate: GateResult | None,
                     allowed: set[ColumnRef]) -> list[_Audited]:
    out = []
    for ref, gen in sorted(masking.rules.items(), key=lambda kv: (kv[0].table, kv[0].name)):
        if gen.masks:
            out.append(_Audited(ref, ColumnAudit(column_name(ref, snapshot), gen.name), gen))
    if gate is not None:
        for ref, det in sorted(gate.kept_sensitive.items(),
                               key=lambda kv: (kv[0].table, kv[0].name)):
            out.append(_Audited(ref, ColumnAudit(column_name(ref, snapshot), "keep"), None,
                                json_paths=tuple(sorted(det.paths))))
        for ref in sorted(gate.kept_by_policy, key=lambda r: (r.table, r.name)):
            entry = ColumnAudit(column_name(ref, snapshot), "keep",
                                allowed="on_unconfigured: keep")
            out.append(_Audited(ref, entry, None))
    for a in out:
        if a.ref in allowed and not a.entry.allowed:
            a.entry.allowed = "audit.allow"
    return out


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text.casefold()))


def distinctive(value: str) -> tuple[str, ...] | None:
    """The token run of a value worth looking for anywhere, or None when it is too common
    to mean anything (a single word such as a first name, a short code)."""
    s = value.strip()
    if len(s) < 6 or len(s) > 400:
        return None
    toks = tokens(s)
    if not toks or (len(toks) < 2 and not any(ch.isdigit() for ch in s)):
        return None
    if sum(len(t) for t in toks) < 5:
        return None
    return toks


def holds_paths(doc: str, paths: tuple[str, ...]) -> bool:
    """Whether a JSON document holds a non-empty value at one of ``paths`` (``a.b``,
    ``items[*].email``: the detector's path syntax). Not JSON: it may hold anything."""
    try:
        node = json.loads(doc)
    except ValueError:
        return True
    return any(_at(node, [p for p in re.split(r"\.|(?=\[\*\])", path) if p])
               for path in paths)


def _at(node: object, parts: list[str]) -> bool:
    if not parts:
        return node not in (None, "", [], {})
    head, rest = parts[0], parts[1:]
    if head == "[*]":
        return isinstance(node, list) and any(_at(v, rest) for v in node)
    return isinstance(node, dict) and head in node and _at(node[head], rest)


def _dest_key_mapper(table: Table, masking: MaskingPlan):
    """Source key -> destination key, or None when the key cannot be followed."""
    if not table.primary_key:
        return None
    gens = []
    for c in table.primary_key:
        g = masking.rules.get(ColumnRef(table.ref, c))
        if g is not None and g.masks and not getattr(g, "one_to_one", False):
            return None
        gens.append(g if g is not None and g.masks else None)

    def mapped(key: tuple) -> tuple:
        # through the generator's own call, so its except list applies as in the copy
        return tuple(v if g is None or v is None else g(v)
                     for v, g in zip(key, gens, strict=True))
    return mapped


def _sample(source: SourceReader, table: Table, mine: list[tuple[int, _Audited]],
            masking: MaskingPlan, sample: int,
            needles: Needles) -> None:
    pk = list(table.primary_key)
    cols = [a.ref.name for _, a in mine]
    names = pk + [c for c in cols if c not in pk]
    pos = {n: i for i, n in enumerate(names)}
    mapper = _dest_key_mapper(table, masking)
    for row in source.scan_rows(table, names, limit=sample, sample=True):
        key = mapper(tuple(row[:len(pk)])) if mapper is not None else None
        for i, a in mine:
            value = row[pos[a.ref.name]]
            if value is None or value.strip() == "":
                continue
            if a.gen is not None and (value in a.gen.params.except_values
                                      or a.gen.kept_as_is(value)):
                continue  # passed through on purpose (except:, a zero date), never a leak
            a.entry.sampled += 1
            col = table.column(a.ref.name)
            by_nature = a.gen is not None and a.gen.may_return_source
            if a.json_paths and not holds_paths(value, a.json_paths):
                continue  # a document with nothing personal at the detected paths
            if not by_nature:
                if key is not None:
                    a.same_row[key] = value
                elif distinctive(value) is not None:
                    a.members.add(value)
            if col is not None and col.category in TEXTUAL and (
                    a.gen is None or a.gen.name not in SHARED_VALUES):
                toks = distinctive(value)
                if toks is not None:
                    k = max(range(len(toks)), key=lambda j: len(toks[j]))
                    needles.setdefault(toks[k], []).append((toks, k, i))


def _as_target(table: Table, snapshot: SchemaSnapshot, target: DatabaseURL) -> Table:
    # MySQL's schema is the database: the copy's tables live in the destination database
    if snapshot.dialect == "mysql" and table.ref.schema == snapshot.default_schema:
        return replace(table, ref=TableRef(target.database, table.ref.name))
    return table


def _scan(dest: SourceReader, target_table: Table, table: Table, audited: list[_Audited],
          needles: Needles, result: AuditResult,
          skipped: set[ColumnRef], scan_rows: int = 0) -> None:
    """The copy's rows of the sampled keys (every same-column check, exactly), then a
    random sample of the rest for the other columns' values."""
    own = [(i, a) for i, a in enumerate(audited) if a.ref.table == table.ref
           and (a.same_row or a.members)]
    scanned = [c.name for c in table.columns if c.category in SCANNED
               and ColumnRef(table.ref, c.name) not in skipped] if needles else []
    if not own and not scanned:
        return
    pk = list(table.primary_key)
    names = list(dict.fromkeys([*pk, *(a.ref.name for _, a in own), *scanned]))
    pos = {n: i for i, n in enumerate(names)}
    text_pos = [(pos[n], n) for n in scanned]
    result.tables_scanned += 1

    def check(row: tuple) -> tuple | None:
        key = tuple(row[:len(pk)]) if pk else None
        for _, a in own:
            value = row[pos[a.ref.name]]
            if value is None or value.strip() == "":
                continue
            if key is not None and a.same_row:
                src = a.same_row.get(key)
                # the value itself, or a distinctive source value inside the masked one
                # ("Orla Venn 1#1" out of "Orla Venn 1")
                hit = src is not None and (src == value or _holds(value, src))
            else:
                hit = value in a.members
            if hit:
                _count(a, f"{table.ref}.{a.ref.name}", key, pk)
        for p, name in text_pos:
            value = row[p]
            if not value:
                continue
            for i in _needles_in(value, needles):
                a = audited[i]
                if a.ref == ColumnRef(table.ref, name):
                    continue  # its own column: the same-column check above decides
                _count(a, f"{table.ref}.{name}", key, pk)
        return key

    keys = sorted({k for _, a in own for k in a.same_row if None not in k}) if pk else []
    seen: set[tuple] = set()
    if keys:
        wanted = set(keys)
        for row in dest.rows_by_key(target_table, names, pk, keys):
            key = tuple(row[:len(pk)])
            if key in wanted and key not in seen:  # the database may match loosely
                seen.add(key)
                check(row)
    if not scanned and not any(a.members for _, a in own):
        return  # every check this table needs was done by key
    for row in _rows(dest, target_table, names, scan_rows):
        if not seen or tuple(row[:len(pk)]) not in seen:
            check(row)


def _rows(dest: SourceReader, table: Table, names: list[str], limit: int) -> Iterator[tuple]:
    """The copy's rows, or at most ``limit`` of them from a table larger than that: reading
    every row of a ten-million-row table in Python took longer than copying it."""
    if limit and (table.row_estimate or 0) > limit:
        yield from dest.sample_pages(table, names, limit)
    else:
        yield from dest.scan_rows(table, names)


def _holds(text: str, value: str) -> bool:
    """Whether ``text`` holds the distinctive ``value`` as a run of its words."""
    run = distinctive(value)
    if run is None:
        return False
    toks = tokens(text)
    n = len(run)
    return any(toks[j:j + n] == run for j in range(len(toks) - n + 1) if toks[j] == run[0])


def _needles_in(text: str, needles: Needles) -> set[int]:
    found: set[int] = set()
    toks = tokens(text)
    for j, t in enumerate(toks):
        hits = needles.get(t)
        if hits is None:
            continue
        for run, k, i in hits:
            start = j - k
            if i not in found and start >= 0 and toks[start:start + len(run)] == run:
                found.add(i)
    return found


def _count(a: _Audited, where: str, key: tuple | None, pk: list[str]) -> None:
    leak = a.entry.leaks.setdefault(where, Leak(where))
    leak.rows += 1
    if key is not None and len(leak.keys) < MAX_KEYS:
        leak.keys.append(", ".join(f"{c}={v}" for c, v in zip(pk, key, strict=True)))
