"""A SQLite catalog -> :class:`SchemaSnapshot`, from ``sqlite_master`` and the PRAGMA
table-valued functions (names bound as parameters, so no name is ever spliced into SQL)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from dbclone.dialects.sqlite import sqltext
from dbclone.dialects.sqlite.connect import SCHEMA
from dbclone.dialects.sqlite.types import category, size_of
from dbclone.introspect.snapshot import (
    CheckConstraint,
    Column,
    ForeignKey,
    SchemaSnapshot,
    SqlToken,
    Table,
    TableRef,
    Trigger,
    View,
    check_rules,
)

# table_xinfo.hidden: 0 normal, 1 hidden column of a virtual table, 2/3 generated
_GENERATED = {2: "virtual", 3: "stored"}


@dataclass(frozen=True)
class MasterRow:
    """One ``sqlite_master`` entry, in creation (rowid) order."""

    type: str  # table, index, view, trigger
    name: str
    tbl_name: str
    sql: str | None


@dataclass(frozen=True)
class TableKinds:
    """Which tables hold data we copy, and which a virtual table owns or is."""

    plain: list[str]  # ordinary tables (rowid or WITHOUT ROWID)
    virtual: list[str]  # CREATE VIRTUAL TABLE: recreated, never copied
    shadow: set[str]  # the storage of a virtual table: created by it, never copied
    without_rowid: set[str]


def master(conn: sqlite3.Connection) -> list[MasterRow]:
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM main.sqlite_master ORDER BY rowid").fetchall()
    return [MasterRow(*r) for r in rows]


def table_kinds(conn: sqlite3.Connection, rows: list[MasterRow]) -> TableKinds:
    tables = [r for r in rows if r.type == "table" and not r.name.lower().startswith("sqlite_")]
    virtual = [r.name for r in tables if sqltext.has_keyword(r.sql, "CREATE", "VIRTUAL")]
    listed = _table_list(conn)
    if listed is not None:
        shadow = {n for n, (kind, _) in listed.items() if kind == "shadow"}
        without_rowid = {n for n, (_, wr) in listed.items() if wr}
    else:  # SQLite < 3.37: a virtual table's storage is named after it
        prefixes = tuple(v.lower() + "_" for v in virtual)
        shadow = {r.name for r in tables
                  if r.name not in virtual and prefixes and r.name.lower().startswith(prefixes)}
        without_rowid = {r.name for r in tables if sqltext.has_keyword(r.sql, "WITHOUT", "ROWID")}
    plain = [r.name for r in tables if r.name not in virtual and r.name not in shadow]
    return TableKinds(plain, virtual, shadow, without_rowid)


def _table_list(conn: sqlite3.Connection) -> dict[str, tuple[str, bool]] | None:
    try:
        rows = conn.execute("SELECT name, type, wr FROM pragma_table_list WHERE schema = ?",
                            (SCHEMA,)).fetchall()
    except sqlite3.OperationalError:
        return None
    return {name: (kind, bool(wr)) for name, kind, wr in rows}


def snapshot(conn: sqlite3.Connection, database: str) -> SchemaSnapshot:
    rows = master(conn)
    kinds = table_kinds(conn, rows)
    sql_of = {r.name: r.sql for r in rows if r.type == "table"}
    estimates = _row_estimates(conn)
    snap = SchemaSnapshot(dialect="sqlite", database=database, default_schema=SCHEMA,
                          schemas=(SCHEMA,), server_version=sqlite3.sqlite_version)
    pks = {name: _primary_key(conn, name) for name in kinds.plain}
    actual = {name.lower(): name for name in kinds.plain}
    for name in kinds.plain:
        ref = TableRef(SCHEMA, name)
        columns = _columns(conn, name, pks[name], sql_of.get(name),
                           rowid=name not in kinds.without_rowid)
        by_lower = {c.name.lower(): c.name for c in columns}
        snap.tables[ref] = Table(
            ref=ref,
            columns=columns,
            primary_key=pks[name],
            unique_constraints=_uniques(conn, name, by_lower),
            foreign_keys=_foreign_keys(conn, name, columns, by_lower, actual, pks),
            checks=checks_of(name, sql_of.get(name)),
            row_estimate=estimates.get(name.lower()),
            triggers=tuple(Trigger(r.name, ref, "enabled", r.sql) for r in rows
                           if r.type == "trigger" and r.tbl_name.lower() == name.lower()),
        )
    known = {n.lower(): TableRef(SCHEMA, n)
             for n in [*kinds.plain, *(r.name for r in rows if r.type == "view")]}
    for r in rows:
        if r.type != "view":
            continue
        ref = TableRef(SCHEMA, r.name)
        deps = tuple(sorted({known[n] for n in sqltext.names_in(r.sql)
                             if n in known and known[n] != ref}))
        snap.views[ref] = View(ref, materialized=False, definition=r.sql, depends_on=deps)
    return snap


def _primary_key(conn: sqlite3.Connection, table: str) -> tuple[str, ...]:
    rows = conn.execute("SELECT name, pk FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk",
                        (table, SCHEMA)).fetchall()
    return tuple(name for name, _ in rows)


def _columns(conn: sqlite3.Connection, table: str, pk: tuple[str, ...], sql: str | None,
             *, rowid: bool) -> tuple[Column, ...]:
    rows = conn.execute(
        'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?, ?) '
        "ORDER BY cid", (table, SCHEMA)).fetchall()
    # INTEGER PRIMARY KEY (exactly that type name) makes the column the rowid itself.
    alias = pk[0] if rowid and len(pk) == 1 and _declared(rows, pk[0]).upper() == "INTEGER" \
        else None
    autoinc = alias is not None and sqltext.has_keyword(sql, "AUTOINCREMENT")
    out = []
    for name, declared, notnull, default, pk_pos, hidden in rows:
        if hidden == 1:
            continue  # a virtual table's hidden column; plain tables have none
        declared = declared or ""
        cat = category(declared)
        max_length, precision, scale = size_of(declared, cat)
        # The rowid alias never holds NULL, and WITHOUT ROWID enforces NOT NULL on its key.
        never_null = bool(notnull) or name == alias or (not rowid and pk_pos > 0)
        out.append(Column(
            name=name,
            type_sql=declared,
            category=cat,
            nullable=not never_null,
            default=default,
            max_length=max_length,
            numeric_precision=precision,
            numeric_scale=scale,
            identity="by default" if autoinc and name == alias else None,
            generated=_GENERATED.get(hidden),
        ))
    return tuple(out)


def _declared(rows: list[tuple], column: str) -> str:
    return next((r[1] or "" for r in rows if r[0] == column), "")


def _uniques(conn: sqlite3.Connection, table: str,
             by_lower: dict[str, str]) -> tuple[tuple[str, ...], ...]:
    out: list[tuple[str, ...]] = []
    indexes = conn.execute(
        'SELECT name, "unique", origin, partial FROM pragma_index_list(?, ?) ORDER BY seq',
        (table, SCHEMA)).fetchall()
    for name, unique, origin, partial in indexes:
        if not unique or origin == "pk" or partial:
            continue  # a partial unique index does not make the column unique
        cols = conn.execute(
            "SELECT name FROM pragma_index_info(?, ?) ORDER BY seqno", (name, SCHEMA)).fetchall()
        if any(c is None for (c,) in cols):
            continue  # an index on an expression
        key = tuple(by_lower.get(c.lower(), c) for (c,) in cols)
        if key and key not in out:
            out.append(key)
    return tuple(sorted(out, key=lambda k: (len(k), k)))


def _foreign_keys(conn: sqlite3.Connection, table: str, columns: tuple[Column, ...],
                  by_lower: dict[str, str], actual: dict[str, str],
                  pks: dict[str, tuple[str, ...]]) -> tuple[ForeignKey, ...]:
    rows = conn.execute(
        'SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?, ?) '
        "ORDER BY id, seq", (table, SCHEMA)).fetchall()
    grouped: dict[int, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    nullable = {c.name: c.nullable for c in columns}
    child_ref = TableRef(SCHEMA, table)
    out = []
    for fk_id, parts in sorted(grouped.items()):
        parent_written = parts[0][2]
        # SQLite matches the parent name case-insensitively and allows a dangling FK (the
        # parent may not exist); keep the name as written then, the graph skips it.
        parent = actual.get(parent_written.lower(), parent_written)
        child_cols = tuple(by_lower.get(p[3].lower(), p[3]) for p in parts)
        if all(p[4] is None for p in parts):
            # "REFERENCES parent" with no column list means the parent's primary key
            ref_cols = pks.get(parent, ())
        else:
            parent_cols = _column_names(conn, parent) if parent in pks else {}
            ref_cols = tuple(parent_cols.get(p[4].lower(), p[4]) for p in parts)
        out.append(ForeignKey(
            name=f"{table}_fk{fk_id}",  # SQLite does not report constraint names
            table=child_ref,
            columns=child_cols,
            ref_table=TableRef(SCHEMA, parent),
            ref_columns=ref_cols,
            nullable=all(nullable.get(c, True) for c in child_cols),
        ))
    return tuple(out)


def _column_names(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    rows = conn.execute("SELECT name FROM pragma_table_xinfo(?, ?)", (table, SCHEMA)).fetchall()
    return {name.lower(): name for (name,) in rows}


def _row_estimates(conn: sqlite3.Connection) -> dict[str, int]:
    """Row counts from ``sqlite_stat1`` when ANALYZE has run; no table scans."""
    try:
        rows = conn.execute("SELECT tbl, stat FROM main.sqlite_stat1").fetchall()
    except sqlite3.OperationalError:
        return {}
    out: dict[str, int] = {}
    for tbl, stat in rows:
        head = str(stat or "").split(" ", 1)[0]
        if head.isdigit():
            out[str(tbl).lower()] = int(head)
    return out


# -- CHECK constraints: SQLite keeps them only in the CREATE TABLE text ----------------------

_PAIRS = {("<", "="): "<=", (">", "="): ">=", ("<", ">"): "<>", ("!", "="): "!=",
          ("=", "="): "=", ("|", "|"): "||"}


def checks_of(table: str, sql: str | None) -> tuple[CheckConstraint, ...]:
    """Every CHECK (column or table constraint) of a CREATE TABLE statement, in order. SQLite
    does not name unnamed ones; they are called <table>_ck<n> here."""
    if not sql:
        return ()
    toks, spans = _spanned_tokens(sql)
    out: list[CheckConstraint] = []
    for i, t in enumerate(toks):
        if not (t.is_keyword("CHECK") and i + 1 < len(toks) and toks[i + 1].text == "("
                and toks[i + 1].kind == "punct"):
            continue
        depth, j = 0, i + 1
        while j < len(toks):
            if toks[j].kind == "punct" and toks[j].text == "(":
                depth += 1
            elif toks[j].kind == "punct" and toks[j].text == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        body = toks[i + 2:j]
        named = i >= 2 and toks[i - 2].is_keyword("CONSTRAINT")
        name = toks[i - 1].text if named else f"{table}_ck{len(out) + 1}"
        rules, complete, names = check_rules(check_tokens(body))
        text = sql[spans[i + 2][0]:spans[j - 1][1]] if j - 1 >= i + 2 else ""
        out.append(CheckConstraint(name, text, rules=rules, complete=complete, columns=names))
    return tuple(out)


def _spanned_tokens(sql: str) -> tuple[list[sqltext.Token], list[tuple[int, int]]]:
    """sqltext.tokens(sql), with where each token sits in ``sql``."""
    toks, spans = [], []
    for m in sqltext._TOKEN.finditer(sql):
        (tok,) = sqltext.tokens(m.group()) or (None,)
        if tok is not None and m.lastgroup not in ("space", "line_comment", "block_comment"):
            toks.append(tok)
            spans.append((m.start(), m.end()))
    return toks, spans


def check_tokens(toks: list[sqltext.Token]) -> list[SqlToken]:
    out: list[SqlToken] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if t.kind == "punct" and nxt is not None and nxt.kind == "punct" \
                and (t.text, nxt.text) in _PAIRS:
            pair = _PAIRS[(t.text, nxt.text)]
            out.append(SqlToken("op", "?||" if pair == "||" else pair))
            i += 2
            continue
        if t.kind == "string":
            if t.text[:1] in "xX":  # a blob literal
                out.append(SqlToken("op", "?blob"))
            else:
                out.append(SqlToken("string", t.text[1:-1].replace("''", "'")))
        elif t.kind == "word":
            out.append(SqlToken("name", t.text))
        elif t.kind == "ident":
            out.append(SqlToken("name", t.text, quoted=True))
        elif t.kind == "number":
            out.append(SqlToken("number", t.text))
        else:
            out.append(SqlToken("op", t.text))
        i += 1
    return out
