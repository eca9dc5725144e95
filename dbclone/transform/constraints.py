"""What the database will refuse, checked before any row moves.

* CHECK constraints and enum/domain membership: each dialect's introspection parses the simple
  conditions of a CHECK into :class:`ValueRule` (``col IN (...)``, ``col BETWEEN a AND b``,
  ``col >= n``, ``length(col) <= n``...). A masked column's generator is tried on values that
  meet those conditions (the source's values must meet them too); a value it produces that
  breaks one is reported with the column, before loading. Length limits are also handed to
  the generator as the column's limit, so pools and fitted values stay inside them.
* Composite UNIQUE keys: which ones masking could break (a masked column that is not a
  one-to-one mapping, and no smaller key inside), for the masker to dedupe and the plan to
  size.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from dbclone.dialects.base import Finding
from dbclone.introspect.snapshot import (
    CheckConstraint,
    Column,
    ColumnRef,
    Table,
    TypeCategory,
    ValueRule,
)
from dbclone.transform.base import Generator
from dbclone.transform.keyed import Keyer

# Plan-time tries use a fixed key: the same workspace gets the same verdict every time. A
# value found this way is one the generator can produce under some key, so it is a real risk.
PROBE_KEYER = Keyer("dbclone:plan-time constraint probe")
ATTEMPTS = 4  # draws per probe input: the re-draws a unique column or "never the source" use
MAX_INPUTS = 48

_NUMERIC = (TypeCategory.INTEGER, TypeCategory.NUMERIC)
_DATES = (TypeCategory.DATE, TypeCategory.TIMESTAMP)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")

_GENERIC: dict[TypeCategory, tuple[str, ...]] = {
    TypeCategory.INTEGER: ("1", "2", "7", "42", "100", "1000", "65535", "123456"),
    TypeCategory.NUMERIC: ("0.50", "1.00", "19.99", "250.00", "1000.25"),
    TypeCategory.TEXT: ("a", "Jane", "Smith", "Jane Smith", "jane.smith@example.com",
                        "555-0142", "AB12 3CD", "Lorem ipsum dolor sit", "42"),
    TypeCategory.OTHER: ("a", "Jane Smith", "42"),
    TypeCategory.DATE: ("1970-01-01", "1985-06-15", "2000-01-01", "2020-02-29", "2024-12-31"),
    TypeCategory.TIMESTAMP: ("2000-01-01 00:00:00", "2020-05-17 10:20:30",
                             "2024-12-31 23:59:59"),
    TypeCategory.TIME: ("00:00:00", "12:30:00"),
    TypeCategory.UUID: ("6f1c2a3e-8b4d-4c5e-9f60-718293a4b5c6",),
    TypeCategory.BOOLEAN: ("true", "false"),
    TypeCategory.JSON: ("{}", '{"a": 1}'),
}


@dataclass(frozen=True)
class Rule:
    """A ValueRule bound to where it comes from, for messages."""

    source: str  # "CHECK name (expression)" or "type mood"
    rule: ValueRule
    whole: bool = False  # the rule is all its source says (no need to spell it out again)


def _same_column(name: str, column: Column, table: Table) -> bool:
    if name == column.name:
        return True
    # SQLite and MySQL match column names case-insensitively; an exact match elsewhere wins
    return name.lower() == column.name.lower() and table.column(name) is None


def checks_on(table: Table, column: Column) -> list[CheckConstraint]:
    """The table's CHECKs that read the column, and the column type's own (domains)."""
    on_table = [c for c in table.checks
                if any(_same_column(n, column, table) for n in c.columns)]
    return [*on_table, *column.checks]


def rules_for(table: Table, column: Column) -> list[Rule]:
    out = [Rule(f"CHECK {c.name} ({c.expression})", r, c.complete and len(c.rules) == 1)
           for c in checks_on(table, column) for r in c.rules
           if _same_column(r.column, column, table)]
    if (column.category is TypeCategory.ENUM and column.enum_values
            and not column.type_sql.lower().startswith("set")):
        members = ", ".join(repr(v) for v in column.enum_values)
        out.append(Rule(f"type {column.type_sql} (one of {members})",
                        ValueRule(column.name, "in", column.enum_values), True))
    return out


def length_limit(table: Table, column: Column) -> int | None:
    """The tightest ``length(col) <= n`` (or < n) the CHECKs set, in characters; an
    octet_length limit counts too (a character takes at least one byte)."""
    limits = []
    for r in rules_for(table, column):
        rule = r.rule
        if rule.measure in ("chars", "bytes") and rule.op in ("<", "<="):
            try:
                n = int(Decimal(rule.values[0]))
            except (InvalidOperation, ValueError):
                continue
            limits.append(n - 1 if rule.op == "<" else n)
    return min(limits) if limits else None


def fitted_column(table: Table, column: Column) -> Column:
    """The column as a generator should see it: a CHECK's length limit is its limit."""
    n = length_limit(table, column)
    if n is None or n < 0 or (column.max_length is not None and column.max_length <= n):
        return column
    return replace(column, max_length=n, type_sql=f"{column.type_sql} with a length CHECK of {n}")


# -- evaluating a rule on one value ----------------------------------------------------------


def _number(text: str) -> Decimal | None:
    try:
        d = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _instant(text: str) -> str | None:
    """An ISO date or timestamp as a string that sorts in time order (to the second)."""
    if not _ISO.match(text):
        return None
    return text[:19].replace("T", " ")


def holds(rule: ValueRule, value: str, category: TypeCategory) -> bool | None:
    """Whether ``value`` meets ``rule`` (None: cannot tell here, e.g. text ordering, which
    depends on the collation)."""
    if rule.op == "json":
        try:
            json.loads(value)
        except ValueError:
            return False
        return True
    if rule.measure == "chars":
        subject, kind = str(len(value)), TypeCategory.INTEGER
    elif rule.measure == "bytes":
        subject, kind = str(len(value.encode("utf-8"))), TypeCategory.INTEGER
    else:
        subject, kind = value, category
    if rule.op in ("in", "not_in"):
        found = any(_equal(subject, v, kind) for v in rule.values)
        return found if rule.op == "in" else not found
    c = _compare(subject, rule.values[0], kind)
    if c is None:
        return None
    return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[rule.op]


def _equal(a: str, b: str, kind: TypeCategory) -> bool:
    if kind in _NUMERIC:
        x, y = _number(a), _number(b)
        if x is not None and y is not None:
            return x == y
    if kind is TypeCategory.BOOLEAN:
        truth = {"t": "t", "true": "t", "1": "t", "f": "f", "false": "f", "0": "f"}
        return truth.get(a.lower(), a) == truth.get(b.lower(), b)
    if kind in _DATES:
        x, y = _instant(a), _instant(b)
        if x is not None and y is not None:
            return x == y
    return a == b


def _compare(a: str, b: str, kind: TypeCategory) -> int | None:
    if kind in _NUMERIC:
        x, y = _number(a), _number(b)
    elif kind in _DATES:
        x, y = _instant(a), _instant(b)  # type: ignore[assignment]
    else:
        return None
    if x is None or y is None:
        return None
    return (x > y) - (x < y)  # type: ignore[operator]


# -- values that meet the rules, to try the generator on -------------------------------------


def _near(bound: str, kind: TypeCategory) -> list[str]:
    if kind in _NUMERIC:
        b = _number(bound)
        if b is None:
            return []
        steps = [0, 1, -1, 2, -2, 10, -10, 100, -100, 1000]
        out = [b + s for s in steps] + [b * 2, b / 2]
        if kind is TypeCategory.INTEGER:
            return [str(int(x)) for x in out if x == int(x)]
        return [format(x.quantize(Decimal("0.01")), "f") for x in out]
    if kind in _DATES and _ISO.match(bound):
        try:
            day = dt.date.fromisoformat(bound[:10])
        except ValueError:
            return []
        days = [day + dt.timedelta(days=n) for n in (0, 1, -1, 30, -30, 365, -365, 3650)]
        rest = " 12:00:00" if kind is TypeCategory.TIMESTAMP else ""
        return [d.isoformat() + rest for d in days]
    return []


def probe_inputs(column: Column, rules: list[Rule]) -> list[str]:
    """Values the column could hold: members of IN lists, values around each bound, then
    ordinary values of the column's type; only those every rule allows."""
    kind = column.category
    candidates: list[str] = []
    for r in rules:
        rule = r.rule
        if rule.op == "in" and rule.measure == "value":
            candidates.extend(rule.values)
        elif rule.op in ("<", "<=", ">", ">=") and rule.measure == "value":
            candidates.extend(_near(rule.values[0], kind))
    candidates.extend(_GENERIC.get(kind, _GENERIC[TypeCategory.OTHER]))
    if kind is TypeCategory.ENUM:
        candidates.extend(column.enum_values)
    limit = column.max_length
    out: list[str] = []
    for c in candidates:
        if limit is not None and len(c) > limit:
            c = c[:limit]
        if not c or c in out:
            continue
        if all(holds(r.rule, c, kind) is not False for r in rules):
            out.append(c)
        if len(out) >= MAX_INPUTS:
            break
    return out


def _probe_targets(gen: Generator) -> list[Generator] | None:
    """The generators whose output lands in the column; None when that depends on the rest
    of the row (template, text_redact), which plan time does not have."""
    from dbclone.transform.generators.compose import Conditional
    from dbclone.transform.generators.structure import DateShift

    if isinstance(gen, Conditional):
        out: list[Generator] = []
        for g in [*(g for *_, g in gen.cases), gen.default]:
            inner = _probe_targets(g)
            if inner is None:
                return None
            out.extend(inner)
        return out
    if gen.uses_row and not isinstance(gen, DateShift):
        return None
    return [gen] if gen.masks else []


def value_problems(probe: Generator, table: Table, column: Column, ref: str, where: str,
                   rules: list[Rule]) -> tuple[list[str], bool]:
    """(problems, tried): values the generator produced that a rule refuses."""
    targets = _probe_targets(probe)
    if targets is None:
        return [], False
    inputs = probe_inputs(column, rules)
    if not inputs:
        return [], False
    kind = column.category
    found: dict[str, tuple[Rule, str]] = {}  # per CHECK (or type): its first refusal
    tried = False
    for target in targets:
        if target.needs_stats:
            continue  # draws from the source column's own values, which meet every rule
        for value in inputs:
            for attempt in range(ATTEMPTS):
                try:
                    out = target.generate(value, attempt)
                except Exception:  # an odd input for this generator: skip it
                    continue
                tried = True
                if out is None:
                    continue
                for r in rules:
                    if r.source not in found and holds(r.rule, out, kind) is False:
                        found[r.source] = (r, out)
    problems = [f"{where}: {ref}: {probe.name} can produce {out!r}, which {r.source} does "
                "not allow" + ("" if r.whole else f" ({r.rule.describe()})")
                + "; choose a generator whose values meet it (e.g. categorical draws from the "
                "column's own values)" for r, out in found.values()]
    return problems, tried or all(t.needs_stats for t in targets)


def unchecked(table: Table, column: Column) -> Iterable[CheckConstraint]:
    """CHECKs on the column that say more than their simple conditions."""
    return (c for c in checks_on(table, column) if not c.complete)


# -- composite unique keys -------------------------------------------------------------------


def guarded_keys(table: Table, generators: dict[str, Generator]
                 ) -> list[tuple[tuple[str, ...], list[str]]]:
    """(key, columns to re-draw) for each composite unique key masking could break: one of
    its masked columns is not a one-to-one mapping, and no smaller key lies inside it (that
    one's uniqueness already implies this one's)."""
    keys = table.unique_keys
    out = []
    for key in keys:
        if len(key) < 2:
            continue
        if any(other != key and set(other) < set(key) for other in keys):
            continue
        masked = [c for c in key if c in generators and generators[c].masks]
        redraw = [c for c in masked if not generators[c].one_to_one]
        if redraw:
            out.append((key, redraw))
    return out


@dataclass(frozen=True)
class _Where:
    where: str


@dataclass(frozen=True)
class _Sample:
    sample: int


class ColumnFact:
    """Asks the pipeline for one column fact (it calls ``column_stats`` and then ``prepare``,
    as for a generator that needs statistics): a distinct count, or the row count of the
    column's most common value."""

    def __init__(self, name: str, where: str, kind: str) -> None:
        self.name, self.kind = name, kind
        self.ctx = _Where(where)
        self.params = _Sample(1)
        self.value: int | None = None

    def prepare(self, stats: list[tuple[str | None, int]]) -> None:
        counts = [int(n) for v, n in stats if v is not None or self.kind == "distinct"]
        self.value = counts[0] if counts else 0


class _KeyCapacity:
    """A composite key as the pipeline's value-space check sees a unique column: its space is
    the product of its masked columns'; any one of its columns with more distinct values
    than that cannot be masked into distinct tuples."""

    def __init__(self, owner: KeySpace, space: int) -> None:
        self.space = space
        self.ctx = _Where(owner.where)
        self.name = f"UNIQUE ({', '.join(owner.key)}) masked by " + " x ".join(
            owner.gens[c].name for c in owner.masked)

    def value_space(self) -> int:
        return self.space


def roomy(table: Table, space: int) -> bool:
    """Clearly enough room without counting (the pipeline's rule for unique columns)."""
    est = table.row_estimate
    return est is not None and 0 <= est <= space // 2


class KeySpace:
    """A composite unique key masking could exhaust: can every row get a distinct tuple?

    Since the key is unique in the source, every row needs its own tuple (rows with a NULL in
    the key excepted): with all its columns masked, as many as the table has rows; with
    unmasked columns too, as many in each group of rows sharing their values as that group
    has rows. With one unmasked column and no NULLs allowed in the key, the rows of its most
    common value are exactly what the largest group needs; otherwise the counts are upper
    bounds, and a column alone with more distinct values than the key's space (the product
    of its masked columns') is the lower bound that proves a key impossible."""

    def __init__(self, table: Table, key: tuple[str, ...], gens: dict[str, Generator]) -> None:
        self.table, self.key, self.gens = table, key, gens
        self.masked = [c for c in key if c in gens and gens[c].masks]
        self.plain = [c for c in key if c not in self.masked]
        self.where = gens[self.masked[0]].ctx.where
        self.facts: dict[str, ColumnFact] = {}
        columns = [table.column(c) for c in key]
        self.not_null = all(c is not None and not c.nullable for c in columns)

    def space(self) -> int | None:
        total = 1
        for c in self.masked:
            n = self.gens[c].value_space()
            if n is None:
                return None
            total *= n
        return total

    def _row_counter(self) -> tuple[str | None, bool]:
        """A single-column key, whose distinct count is the row count; and whether exactly
        (NOT NULL: SQLite lets a non-INTEGER primary key hold NULLs)."""
        single = [k[0] for k in self.table.unique_keys if len(k) == 1]
        for name in single:
            col = self.table.column(name)
            if col is not None and not col.nullable:
                return name, True
        return (single[0], False) if single else (None, False)

    def facts_wanted(self) -> list[tuple[ColumnRef, ColumnFact, str]]:
        space = self.space()
        if space is None or roomy(self.table, space):
            return []
        name = f"UNIQUE ({', '.join(self.key)})"
        if self.plain:
            wanted = [(c, "frequencies") for c in self.plain]
        else:
            counter, _ = self._row_counter()
            wanted = [(counter, "distinct")] if counter else []
        for c, kind in wanted:
            self.facts[c] = ColumnFact(name, self.where, kind)
        return [(ColumnRef(self.table.ref, c), self.facts[c], self.facts[c].kind)
                for c, _ in wanted]

    def most_needed(self) -> tuple[int | None, bool]:
        """(tuples the largest group needs at most, whether exactly that)."""
        known = [f.value for f in self.facts.values() if f.value is not None]
        if not known:
            return None, False
        exact = self.not_null and (len(self.plain) == 1 or
                                   (not self.plain and self._row_counter()[1]))
        return min(known), exact

    def _describe(self, space: int, most: int | None) -> str:
        parts = " x ".join(f"{c}: {self.gens[c].name} ≈{self.gens[c].value_space():,}"
                           for c in self.masked)
        scope = f" for each value of {', '.join(self.plain)}" if self.plain else ""
        if most is None:
            need = ("the size of the largest group is not known" if self.plain
                    else "the row count is not known")
        else:
            need = (f"the most common {', '.join(self.plain)} has {most:,} rows" if self.plain
                    else f"the table has {most:,} rows")
        return (f"{self.where}: {self.table.ref}: UNIQUE ({', '.join(self.key)}): the masked "
                f"columns ({parts}) give ≈{space:,} distinct combinations{scope}, and {need}")

    def problem(self) -> str | None:
        """The key cannot be masked: a group needs more tuples than there are."""
        space = self.space()
        if space is None or roomy(self.table, space):
            return None
        most, exact = self.most_needed()
        if most is None or not exact or most <= space:
            return None
        return self._describe(space, most) + ", each needing its own"

    def capacity_entries(self) -> list[tuple[ColumnRef, _KeyCapacity]]:
        space = self.space()
        if space is None or roomy(self.table, space) or self.plain:
            return []
        most, _ = self.most_needed()
        if most is not None and most <= space:
            return []
        # A column's distinct values are a lower bound on the tuples needed only when the
        # other columns hold no NULL (a row with a NULL in the key needs no tuple).
        nullable = {c for c in self.key
                    if (col := self.table.column(c)) is None or col.nullable}
        return [(ColumnRef(self.table.ref, c), _KeyCapacity(self, space)) for c in self.key
                if not nullable - {c}]

    def finding(self) -> Finding | None:
        space = self.space()
        if space is None or roomy(self.table, space):
            return None
        most, exact = self.most_needed()
        if most is not None and (most <= space or exact):
            return None  # room enough, or a plan problem
        return Finding(
            "warning", f"{self.table.ref}",
            self._describe(space, most) + " (rows with a NULL in the key need none; the "
            "distinct tuples themselves are not counted at plan time); if more are needed the "
            "clone stops while loading this table and the destination is left as it was. "
            "Mask a column of the key with a larger value space (hash, format_preserving, "
            "integer_key) to be sure")
