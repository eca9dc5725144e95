"""Generators computed by the source's own SELECT (see :mod:`dbclone.transform.pushdown`).

The COPY out becomes ``COPY (SELECT ... FROM ONLY t CROSS JOIN LATERAL (digests) h) TO
STDOUT``: each pushed column's keyed hash is HMAC-SHA256 from the built-in ``sha256`` over
the padded per-domain keys, computed once per row in the LATERAL (OFFSET 0 keeps the planner
from copying it into every use), and the draw picks from pools held once per query as
bytea of fixed-size slots (an index into a text[] walks the array; into bytea it does not).
The rows then pass through dbclone unparsed, or parsed only for the columns left to it.

Rows SQL could not shape exactly (an SSN with non-ASCII digits, a date near the ends of
the calendar) are looked for first (:func:`python_rows`), and their table goes the Python
way. Should one slip through all the same, the expression reads an undefined setting: the
COPY fails with that name, and the caller copies the table the Python way (inside a
savepoint, so the snapshot transaction lives on).
"""

from __future__ import annotations

from psycopg import sql

from dbclone.introspect.snapshot import Table, TypeCategory
from dbclone.transform.pushdown import (
    DateShiftSpec,
    Draw,
    EmailSpec,
    PoolSpec,
    Spec,
    SsnSpec,
)

FALLBACK = "dbclone.pushdown_fallback"  # the setting read where SQL cannot be exact
_FAIL = sql.SQL("pg_catalog.current_setting({})").format(sql.Literal(FALLBACK))
_TEXT_TYPES = ("text", "character varying", "varchar")


def pushable(table: Table, name: str, spec: Spec) -> bool:
    """Whether the column's text in SQL is exactly what COPY gives the Python generator.

    char(n) is out: its cast to text drops the padding COPY writes."""
    col = table.column(name)
    if col is None:
        return False
    if isinstance(spec, DateShiftSpec):
        # the entity's text too must be COPY's: char(n) keeps its padding there only
        keys = [table.column(k) for k in spec.entity]
        return (col.category is TypeCategory.DATE and col.type_sql == "date"
                and all(k is not None and not _padded(k.type_sql) for k in keys))
    base = col.type_sql.split("(")[0].strip().lower()
    return base in _TEXT_TYPES


def _padded(type_sql: str) -> bool:
    base = type_sql.split("(")[0].strip().lower()
    return base in ("character", "char", "bpchar")


class _Query:
    """Pieces of one SELECT: pools in a WITH, digests in a LATERAL, one output per column."""

    def __init__(self) -> None:
        self.pools: list[bytes] = []
        self.digests: list[sql.Composable] = []

    def pool(self, values: tuple[str, ...]) -> tuple[sql.Composable, int]:
        """A pool as bytea slots of one width: each value's UTF-8 bytes padded with \x01
        (no pool value ends with a control character; text cannot hold \x00)."""
        data = [v.encode("utf-8") for v in values]
        width = max(len(d) for d in data)
        blob = b"".join(d.ljust(width, b"\x01") for d in data)
        if blob not in self.pools:
            self.pools.append(blob)
        return sql.SQL("(SELECT p FROM {})").format(
            sql.Identifier(f"dbclone_pool_{self.pools.index(blob) + 1}")), width

    def digest(self, expr: sql.Composable) -> sql.Composable:
        self.digests.append(expr)
        return sql.SQL("h.{}").format(sql.Identifier(f"d{len(self.digests)}"))


def hmac(draw: Draw, text: sql.Composable) -> sql.Composable:
    return sql.SQL("pg_catalog.sha256({} || pg_catalog.sha256({} || "
                   "pg_catalog.convert_to({}, 'UTF8')))").format(
        sql.Literal(draw.outer), sql.Literal(draw.inner), text)


def _bytes(d: sql.Composable, start: int, stop: int) -> sql.Composable:
    """The digest's bytes [start, stop) as an unsigned integer (at most 7 bytes), from
    get_byte: an encode()-to-hex and bit() cast allocates twice per value and costs more
    than the hash."""
    n = stop - start
    assert 0 < n <= 7
    parts = [sql.SQL("(pg_catalog.get_byte({}, {})::bigint << {})").format(
        d, sql.Literal(start + i), sql.Literal(8 * (n - 1 - i))) if n - 1 - i else
        sql.SQL("pg_catalog.get_byte({}, {})").format(d, sql.Literal(start + i))
        for i in range(n)]
    return sql.SQL("({})").format(sql.SQL(" | ").join(parts))


def n_mod(d: sql.Composable, m: int) -> sql.Composable:
    """int.from_bytes(digest[:8], 'big') % m, in bigint arithmetic (m < 2**31)."""
    return sql.SQL("((({} % {}) * {} + {}) % {})").format(
        _bytes(d, 0, 4), sql.Literal(m), sql.Literal(2**32 % m), _bytes(d, 4, 8),
        sql.Literal(m))


def shifted_mod(d: sql.Composable, shift: int, m: int) -> sql.Composable:
    """(n >> shift) % m for shift in 8..56 by bytes: the digest's leading bytes."""
    assert shift % 8 == 0 and 8 <= shift <= 56
    return sql.SQL("({} % {})").format(_bytes(d, 0, 8 - shift // 8), sql.Literal(m))


def pick(pool: sql.Composable, width: int, index: sql.Composable) -> sql.Composable:
    """Slot ``index`` of a pool (see _Query.pool): one substr of bytea, no array walk."""
    return sql.SQL("pg_catalog.rtrim(pg_catalog.convert_from(pg_catalog.substr({}, "
                   "({} * {} + 1)::integer, {}), 'UTF8'), E'\\x01')").format(
        pool, index, sql.Literal(width), sql.Literal(width))


def _value(spec: Spec, q: _Query, d: sql.Composable, v: sql.Composable) -> sql.Composable:
    """The generator's output from digest ``d`` of source text ``v``."""
    if isinstance(spec, PoolSpec):
        pool, width = q.pool(spec.values)
        return pick(pool, width, n_mod(d, len(spec.values)))
    if isinstance(spec, EmailSpec):
        return _email(spec, q, d)
    if isinstance(spec, SsnSpec):
        return _ssn(spec, d, v)
    raise TypeError(spec)


def _email(spec: EmailSpec, q: _Query, d: sql.Composable) -> sql.Composable:
    fp, fw = q.pool(spec.first)
    lp, lw = q.pool(spec.last)
    dp, dw = q.pool(spec.domains)
    first = pick(fp, fw, n_mod(d, len(spec.first)))
    last = pick(lp, lw, shifted_mod(d, 16, len(spec.last)))
    digits = sql.SQL("{}::text").format(shifted_mod(d, 32, 10000))
    domain = pick(dp, dw, shifted_mod(d, 48, len(spec.domains)))
    full = sql.SQL("{} || '.' || {} || {} || '@' || {}").format(first, last, digits, domain)
    if spec.limit is None:
        return full
    short = sql.SQL("pg_catalog.left({}, 1) || pg_catalog.left({}, 1) || {} || '@' || {}"
                    ).format(first, last, digits, domain)
    lim = sql.Literal(spec.limit)
    return sql.SQL("(CASE WHEN pg_catalog.length({full}) <= {lim} THEN {full} "
                   "WHEN pg_catalog.length({short}) <= {lim} THEN {short} "
                   "ELSE pg_catalog.left('u' || {digits} || '@x.test', {lim}) END)").format(
        full=full, short=short, digits=digits, lim=lim)


def _ssn(spec: SsnSpec, d: sql.Composable, v: sql.Composable) -> sql.Composable:
    area = sql.SQL("(900 + {})::text").format(n_mod(d, 100))
    group = sql.SQL("pg_catalog.lpad((1 + {})::text, 2, '0')").format(shifted_mod(d, 8, 99))
    serial = sql.SQL("pg_catalog.lpad((1 + {})::text, 4, '0')").format(
        shifted_mod(d, 16, 9999))
    plain = sql.SQL("{} || {} || {}").format(area, group, serial)
    if spec.limit is not None and spec.limit < 11:
        return plain
    dashed = sql.SQL("{} || '-' || {} || '-' || {}").format(area, group, serial)
    # str.isdigit() also takes non-ASCII digits: such text goes the Python way
    return sql.SQL("(CASE WHEN pg_catalog.octet_length({v}) <> pg_catalog.length({v}) "
                   "THEN {fail} WHEN ({v} COLLATE \"C\") ~ '^[0-9]+$' THEN {plain} "
                   "ELSE {dashed} END)").format(v=v, fail=_FAIL, plain=plain, dashed=dashed)


def _shift(spec: DateShiftSpec, q: _Query, table_alias: sql.Identifier,
           col: sql.Identifier) -> sql.Composable:
    # The entity: str() of each key column's source value, joined by \x1f (Row.key()).
    parts = [sql.SQL("COALESCE({}.{}::text, 'None')").format(table_alias, sql.Identifier(k))
             for k in spec.entity]
    entity = parts[0] if len(parts) == 1 else sql.SQL("pg_catalog.concat_ws(E'\\x1f', {})"
                                                       ).format(sql.SQL(", ").join(parts))
    d = q.digest(hmac(spec.shift, entity))
    span = spec.hi - spec.lo + 1
    raw = sql.SQL("({} + {})").format(sql.Literal(spec.lo), n_mod(d, span))
    zero = spec.hi if spec.hi != 0 else spec.lo
    off = sql.SQL("(CASE WHEN {raw} = 0 THEN {zero} ELSE {raw} END)").format(
        raw=raw, zero=sql.Literal(zero))
    v = sql.SQL("{}.{}").format(table_alias, col)
    out = sql.SQL("({} + {}::integer)").format(v, off)
    # Python shifts ISO dates of years 1..9999 only; anything else goes the Python way.
    return sql.SQL("(CASE WHEN {v} IS NULL THEN NULL "
                   "WHEN ({v}::text COLLATE \"C\") ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' "
                   "AND {out} BETWEEN "
                   "'0001-01-01'::date AND '9999-12-31'::date THEN {out}::text "
                   "ELSE {fail} END)").format(v=v, out=out, fail=_FAIL)


def column_expr(spec: Spec, q: _Query, table_alias: sql.Identifier,
                col: sql.Identifier) -> sql.Composable:
    """The masked column: NULL stays NULL, '' stays '', excepted values pass, and a draw
    equal to the source is drawn again (up to as many attempts as the generator makes)."""
    if isinstance(spec, DateShiftSpec):
        return _shift(spec, q, table_alias, col)
    v = sql.SQL("{}.{}::text").format(table_alias, col)
    vc = sql.SQL("({} COLLATE \"C\")").format(v)
    first = _value(spec, q, q.digest(hmac(spec.draws[0], v)), v)
    whens = [sql.SQL("WHEN {} IS NULL THEN NULL").format(v),
             sql.SQL("WHEN {} = '' THEN ''").format(vc)]
    if spec.common.except_values:
        whens.append(sql.SQL("WHEN {} = ANY({}::text[]) THEN {}").format(
            vc, sql.Literal(list(spec.common.except_values)), v))
    if spec.common.may_return_source:
        whens.append(sql.SQL("ELSE {}").format(first))
    else:
        whens.append(sql.SQL("WHEN {} <> {} THEN {}").format(
            sql.SQL("({} COLLATE \"C\")").format(first), vc, first))
        for draw in spec.draws[1:]:  # rare: inline, each with its own digest
            again = _value(spec, q, hmac(draw, v), v)
            whens.append(sql.SQL("WHEN {} <> {} THEN {}").format(
                sql.SQL("({} COLLATE \"C\")").format(again), vc, again))
        whens.append(sql.SQL("ELSE {}").format(_FAIL))
    return sql.SQL("(CASE {} END)").format(sql.SQL(" ").join(whens))


def select(table: Table, cols: list[str], specs: dict[str, Spec],
           where: sql.Composable | None = None) -> sql.Composed:
    """COPY (the table's rows with ``specs`` computed) TO STDOUT, in ``cols`` order."""
    t = sql.Identifier("t")
    q = _Query()
    outs = [column_expr(specs[c], q, t, sql.Identifier(c)) if c in specs
            else sql.SQL("{}.{}").format(t, sql.Identifier(c)) for c in cols]
    with_ = sql.SQL("")
    if q.pools:
        with_ = sql.SQL("WITH {} ").format(sql.SQL(", ").join(
            sql.SQL("{} AS MATERIALIZED (SELECT {}::bytea AS p)").format(
                sql.Identifier(f"dbclone_pool_{i + 1}"), sql.Literal(blob))
            for i, blob in enumerate(q.pools)))
    source = sql.SQL("{} t").format(sql.Identifier(table.ref.schema, table.ref.name))
    if table.kind != "partitioned":
        source = sql.SQL("ONLY ") + source
    lateral = sql.SQL("")
    if q.digests:
        lateral = sql.SQL(" CROSS JOIN LATERAL (SELECT {} OFFSET 0) h").format(
            sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, sql.Identifier(f"d{i + 1}"))
                               for i, e in enumerate(q.digests)))
    cond = sql.SQL(" WHERE {}").format(where) if where is not None else sql.SQL("")
    return sql.SQL("COPY ({}SELECT {} FROM {}{}{}) TO STDOUT").format(
        with_, sql.SQL(", ").join(outs), source, lateral, cond)


def python_rows(table: Table, specs: dict[str, Spec],
                where: sql.Composable | None = None) -> sql.Composed | None:
    """A query telling whether any row needs the Python path (text SQL cannot shape
    exactly), or None when no spec has such rows. Asked before the pushed-down COPY, so the
    COPY never fails on purpose: a failed statement would land in the server log, with the
    per-domain keys it holds."""
    conds = []
    for name, spec in specs.items():
        v = sql.SQL("t.{}").format(sql.Identifier(name))
        if isinstance(spec, SsnSpec):
            conds.append(sql.SQL("pg_catalog.octet_length({v}) <> pg_catalog.length({v})"
                                 ).format(v=v))
        elif isinstance(spec, DateShiftSpec):
            reach = max(abs(spec.lo), abs(spec.hi))
            conds.append(sql.SQL(
                "({v} IS NOT NULL AND NOT (({v}::text COLLATE \"C\") ~ "
                "'^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' AND {v} BETWEEN "
                "'0001-01-01'::date + {r} AND '9999-12-31'::date - {r}))").format(
                v=v, r=sql.Literal(reach)))
    if not conds:
        return None
    source = sql.SQL("{} t").format(sql.Identifier(table.ref.schema, table.ref.name))
    if table.kind != "partitioned":
        source = sql.SQL("ONLY ") + source
    cond = sql.SQL(" OR ").join(sql.SQL("({})").format(c) for c in conds)
    if where is not None:
        cond = sql.SQL("({}) AND ({})").format(where, cond)
    return sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {})").format(source, cond)


def is_fallback(exc: Exception) -> bool:
    """Whether a COPY failed on purpose (see module doc): copy the table in Python."""
    return FALLBACK in str(exc) or FALLBACK in getattr(exc, "text", "")
