"""What exists in a source database, independent of the dialect.

Tables are keyed by :class:`TableRef` (schema, name) everywhere; dotted strings appear only at
the YAML edge and in output. For MySQL/MariaDB the schema is the database name; for SQLite it
is ``main``.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, order=True)
class TableRef:
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, order=True)
class ColumnRef:
    table: TableRef
    name: str

    def __str__(self) -> str:
        return f"{self.table}.{self.name}"


class TypeCategory(StrEnum):
    """Coarse type families that generators declare they accept."""

    TEXT = "text"
    INTEGER = "integer"
    NUMERIC = "numeric"  # decimal and floating point
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"  # with or without time zone
    TIME = "time"
    UUID = "uuid"
    JSON = "json"
    BINARY = "binary"
    BIT = "bit"
    ENUM = "enum"
    OTHER = "other"


@dataclass(frozen=True)
class Column:
    name: str
    type_sql: str  # the declared type as the dialect spells it, e.g. "character varying(40)"
    category: TypeCategory
    nullable: bool = True
    default: str | None = None  # SQL expression text
    max_length: int | None = None  # in characters, for text types with a limit
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    identity: str | None = None  # None, "always" or "by default" (auto_increment -> "by default")
    generated: str | None = None  # None, "stored" or "virtual": never written by a loader
    enum_values: tuple[str, ...] = ()
    # CHECKs of the column's type (PostgreSQL domains), with VALUE read as this column
    checks: tuple[CheckConstraint, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: TableRef
    columns: tuple[str, ...]  # child side, in declared order (conkey)
    ref_table: TableRef
    ref_columns: tuple[str, ...]  # parent side, in declared order (confkey)
    nullable: bool = False  # every child column is nullable, so NULL can break a cycle
    deferrable: bool = False
    initially_deferred: bool = False

    def describe(self) -> str:
        return (f"{self.table}({', '.join(self.columns)}) -> "
                f"{self.ref_table}({', '.join(self.ref_columns)}) [{self.name}]")


@dataclass(frozen=True)
class ValueRule:
    """One simple condition a CHECK puts on the values of one column, free of any dialect:
    ``status IN ('a', 'b')``, ``n >= 1``, ``char_length(name) <= 5``. Values are in canonical
    text form (numbers as written, strings unquoted)."""

    column: str
    op: str  # "in", "not_in", "<", "<=", ">", ">=", or "json" (must parse as JSON)
    values: tuple[str, ...] = ()  # the members ("in", "not_in") or the one bound
    measure: str = "value"  # "value", "chars" (length/char_length) or "bytes" (octet_length)

    def describe(self) -> str:
        subject = {"chars": f"length({self.column})", "bytes": f"octet_length({self.column})"
                   }.get(self.measure, self.column)
        if self.op == "json":
            return f"{subject} is valid JSON"
        if self.op in ("in", "not_in"):
            members = ", ".join(repr(v) for v in self.values)
            return f"{subject} {'IN' if self.op == 'in' else 'NOT IN'} ({members})"
        return f"{subject} {self.op} {self.values[0]}"


@dataclass(frozen=True)
class CheckConstraint:
    name: str
    expression: str
    # What of the expression is understood (see check_rules): its simple conditions on one
    # column each, all of which must hold; whether they are all it says; the names it reads.
    rules: tuple[ValueRule, ...] = ()
    complete: bool = False
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trigger:
    name: str
    table: TableRef
    enabled: str = "enabled"  # "enabled", "disabled", "replica", "always"
    definition: str | None = None


@dataclass(frozen=True)
class Table:
    ref: TableRef
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique_constraints: tuple[tuple[str, ...], ...] = ()  # unique constraints and unique indexes
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    kind: str = "table"  # "table" or "partitioned"
    partition_of: TableRef | None = None  # set on a partition: its direct parent
    row_estimate: int | None = None
    triggers: tuple[Trigger, ...] = ()

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def writable_columns(self) -> tuple[Column, ...]:
        """Columns a loader writes: generated columns are computed by the target."""
        return tuple(c for c in self.columns if c.generated is None)

    def is_unique(self, column: str) -> bool:
        """Whether the column alone is a key; see :attr:`unique_keys` for composite ones."""
        return any(k == (column,) for k in self.unique_keys)

    @property
    def unique_keys(self) -> tuple[tuple[str, ...], ...]:
        """The primary key and every unique constraint or index, single and composite."""
        return tuple(k for k in (self.primary_key, *self.unique_constraints) if k)


@dataclass(frozen=True)
class View:
    ref: TableRef
    materialized: bool = False
    definition: str | None = None
    depends_on: tuple[TableRef, ...] = ()


@dataclass(frozen=True)
class Sequence:
    ref: TableRef
    owned_by: ColumnRef | None = None


@dataclass
class SchemaSnapshot:
    """Everything introspected from one source database."""

    dialect: str
    database: str
    default_schema: str
    schemas: tuple[str, ...]
    tables: dict[TableRef, Table] = field(default_factory=dict)
    views: dict[TableRef, View] = field(default_factory=dict)
    sequences: dict[TableRef, Sequence] = field(default_factory=dict)
    server_version: str = ""

    def table(self, ref: TableRef) -> Table | None:
        return self.tables.get(ref)

    @property
    def foreign_keys(self) -> list[ForeignKey]:
        return [fk for t in self.tables.values() for fk in t.foreign_keys]

    def partition_root(self, ref: TableRef) -> TableRef:
        """The top partitioned table of a partition (itself when not a partition)."""
        seen = set()
        while (t := self.tables.get(ref)) is not None and t.partition_of is not None:
            if ref in seen:  # defensive: catalogs never loop, but a bug must not hang us
                break
            seen.add(ref)
            ref = t.partition_of
        return ref

    def data_tables(self) -> list[Table]:
        """Tables whose rows a loader copies: partitions go through their root."""
        return [t for t in self.tables.values() if t.partition_of is None]


# -- CHECK expressions ------------------------------------------------------------------------
# Each dialect lexes its own spelling of a CHECK (quoting, casts, charset introducers, ANY
# (ARRAY[...])) into these tokens; what is left is the same small grammar everywhere.


@dataclass(frozen=True)
class SqlToken:
    kind: str  # "name" (column, function or keyword), "string", "number" or "op"
    text: str  # a string's value, unquoted; a name as stored; an operator or punctuation
    quoted: bool = False  # a quoted name: never a keyword


_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE",
                       "LIKE", "ILIKE", "SIMILAR", "ESCAPE", "ANY", "ALL", "ARRAY", "CASE",
                       "WHEN", "THEN", "ELSE", "END", "COLLATE", "REGEXP", "RLIKE", "GLOB",
                       "MATCH", "DISTINCT", "FROM"})
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "in": "not_in", "not_in": "in"}
_LENGTH_FUNCTIONS = {"length": "chars", "char_length": "chars", "character_length": "chars",
                     "octet_length": "bytes"}


def check_rules(tokens: Seq[SqlToken]) -> tuple[tuple[ValueRule, ...], bool, tuple[str, ...]]:
    """(rules, complete, names) of a CHECK expression: the simple one-column conditions its
    top-level AND chain holds (IN, =, <>, <, <=, >, >=, BETWEEN, length/char_length/
    octet_length against a constant, json_valid, OR of equalities on one column), whether
    they are all it says, and every column name it reads."""
    toks = list(tokens)
    names = []
    for i, t in enumerate(toks):
        follows = toks[i + 1] if i + 1 < len(toks) else None
        called = follows is not None and follows.kind == "op" and follows.text == "("
        if (t.kind == "name" and not called and t.text not in names
                and (t.quoted or t.text.upper() not in _KEYWORDS)):
            names.append(t.text)
    parser = _CheckParser(toks)
    try:
        rules, complete = parser.disjunction()
    except _Unparsed:
        return (), False, tuple(names)
    if parser.i != len(toks):
        complete = False
    return tuple(rules), complete, tuple(names)


class _Unparsed(Exception):
    pass


Parsed = tuple[list[ValueRule], bool]  # rules that must all hold, and whether that is all


class _CheckParser:
    def __init__(self, toks: list[SqlToken]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, k: int = 0) -> SqlToken | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def is_word(self, word: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "name" and not t.quoted and t.text.upper() == word

    def is_op(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t.kind == "op" and t.text == text

    def expect_op(self, text: str) -> None:
        if not self.is_op(text):
            raise _Unparsed
        self.i += 1

    # expression := conjunction (OR conjunction)*
    def disjunction(self) -> Parsed:
        branches = [self.conjunction()]
        while self.is_word("OR"):
            self.i += 1
            branches.append(self.conjunction())
        if len(branches) == 1:
            return branches[0]
        # x = 'a' OR x IN ('b', 'c'): one membership rule; any other OR says too much
        members: list[str] = []
        target = None
        for rules, complete in branches:
            if not complete or len(rules) != 1 or rules[0].op != "in":
                return [], False
            key = (rules[0].column, rules[0].measure)
            if target is not None and key != target:
                return [], False
            target = key
            members.extend(v for v in rules[0].values if v not in members)
        assert target is not None
        return [ValueRule(target[0], "in", tuple(members), target[1])], True

    def conjunction(self) -> Parsed:
        rules, complete = self.negation()
        while self.is_word("AND"):
            self.i += 1
            more, done = self.negation()
            rules = rules + more
            complete = complete and done
        return rules, complete

    def negation(self) -> Parsed:
        if self.is_word("NOT"):
            self.i += 1
            rules, complete = self.negation()
            if complete and len(rules) == 1 and rules[0].op in _NEGATE:
                r = rules[0]
                return [ValueRule(r.column, _NEGATE[r.op], r.values, r.measure)], True
            return [], False
        return self.primary()

    def primary(self) -> Parsed:
        start = self.i
        if self.is_op("("):
            self.i += 1
            try:
                inner = self.disjunction()
                self.expect_op(")")
                if self.at_boundary():
                    return inner
            except _Unparsed:
                pass
            self.i = start  # "(x) >= 1": a parenthesised operand, not a sub-expression
        try:
            return self.predicate()
        except _Unparsed:
            self.i = start
            self.skip_predicate()
            return [], False

    def skip_predicate(self) -> None:
        """Step over a condition we do not understand, up to the next top-level AND/OR."""
        depth = 0
        between = False
        moved = False
        while (t := self.peek()) is not None:
            if t.kind == "op" and t.text == "(":
                depth += 1
            elif t.kind == "op" and t.text == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and self.is_word("BETWEEN"):
                between = True
            elif depth == 0 and (self.is_word("AND") or self.is_word("OR")):
                if not (between and self.is_word("AND")):
                    break
                between = False
            self.i += 1
            moved = True
        if not moved:
            raise _Unparsed

    def predicate(self) -> Parsed:
        parsed = self._predicate()
        if not self.at_boundary():  # "x > 1 + 2" is not "x > 1"
            raise _Unparsed
        return parsed

    def at_boundary(self) -> bool:
        """A condition ends at AND, OR, ")" or the end."""
        return (self.peek() is None or self.is_op(")") or self.is_word("AND")
                or self.is_word("OR"))

    def _predicate(self) -> Parsed:
        if self.is_word("JSON_VALID") and self.is_op("(", 1):
            self.i += 2
            col = self.operand()
            self.expect_op(")")
            if col[0] != "col" or col[2] != "value":
                raise _Unparsed
            return [ValueRule(col[1], "json")], True
        left = self.operand()
        negated = False
        if self.is_word("NOT") and (self.is_word("IN", 1) or self.is_word("BETWEEN", 1)):
            negated = True
            self.i += 1
        if self.is_word("IN"):
            self.i += 1
            self.expect_op("(")
            values = [self.literal()]
            while self.is_op(","):
                self.i += 1
                values.append(self.literal())
            self.expect_op(")")
            if left[0] != "col":
                raise _Unparsed
            return [ValueRule(left[1], "not_in" if negated else "in", tuple(values),
                              left[2])], True
        if self.is_word("BETWEEN"):
            self.i += 1
            low = self.literal()
            if not self.is_word("AND"):
                raise _Unparsed
            self.i += 1
            high = self.literal()
            if left[0] != "col" or negated:
                return [], False
            return [ValueRule(left[1], ">=", (low,), left[2]),
                    ValueRule(left[1], "<=", (high,), left[2])], True
        if self.is_word("IS"):
            self.i += 1
            if self.is_word("NOT"):
                self.i += 1
            if not self.is_word("NULL"):
                raise _Unparsed
            self.i += 1
            return [], True  # NULLs are the NULL policy's business, not a value's
        t = self.peek()
        if t is None or t.kind != "op" or t.text not in _FLIP:
            raise _Unparsed
        self.i += 1
        op = t.text
        right = self.operand()
        if left[0] == "col" and right[0] == "lit":
            column, measure, value = left[1], left[2], right[1]
        elif left[0] == "lit" and right[0] == "col":
            column, measure, value, op = right[1], right[2], left[1], _FLIP[op]
        else:
            return [], False  # two columns, or two constants
        if op == "=":
            return [ValueRule(column, "in", (value,), measure)], True
        if op in ("<>", "!="):
            return [ValueRule(column, "not_in", (value,), measure)], True
        return [ValueRule(column, op, (value,), measure)], True

    def operand(self) -> tuple[str, str, str]:
        """("col", name, measure) or ("lit", value, "")."""
        t = self.peek()
        if t is None:
            raise _Unparsed
        if t.kind == "op" and t.text == "(":
            self.i += 1
            inner = self.operand()
            self.expect_op(")")
            return inner
        if t.kind in ("string", "number") or (t.kind == "op" and t.text in "+-"):
            return ("lit", self.literal(), "")
        if t.kind != "name" or (not t.quoted and t.text.upper() in _KEYWORDS):
            raise _Unparsed
        self.i += 1
        if self.is_op("("):
            measure = _LENGTH_FUNCTIONS.get(t.text.lower()) if not t.quoted else None
            if measure is None:
                raise _Unparsed
            self.i += 1
            inner = self.operand()
            self.expect_op(")")
            if inner[0] != "col" or inner[2] != "value":
                raise _Unparsed
            return ("col", inner[1], measure)
        return ("col", t.text, "value")

    def literal(self) -> str:
        t = self.peek()
        if t is None:
            raise _Unparsed
        if t.kind == "op" and t.text == "(":
            self.i += 1
            value = self.literal()
            self.expect_op(")")
            return value
        sign = ""
        if t.kind == "op" and t.text in "+-":
            sign = "-" if t.text == "-" else ""
            self.i += 1
            t = self.peek()
            if t is None or t.kind != "number":
                raise _Unparsed
        if t.kind == "number" or (t.kind == "string" and not sign):
            self.i += 1
            return sign + t.text
        raise _Unparsed
