"""information_schema -> :class:`SchemaSnapshot` for one MySQL/MariaDB database.

For MySQL the snapshot's schema is the database named in the URL: every TableRef is
``TableRef(<database>, <table>)`` and ``default_schema`` is that database.

All values arrive as text (the source connection decodes nothing), hence the ``_int`` calls.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from dbclone.introspect.snapshot import (
    CheckConstraint,
    Column,
    ForeignKey,
    SchemaSnapshot,
    SqlToken,
    Table,
    TableRef,
    Trigger,
    TypeCategory,
    View,
    check_rules,
)
from dbclone.introspect.snapshot import Sequence as SequenceObj


class CatalogMissing(LookupError):
    """Raised by a ``Fetch`` when an information_schema table does not exist on this server."""


Fetch = Callable[[str, Sequence[Any]], list[tuple]]

_CATEGORIES: dict[str, TypeCategory] = {
    **dict.fromkeys(("char", "varchar", "tinytext", "text", "mediumtext", "longtext"),
                    TypeCategory.TEXT),
    **dict.fromkeys(("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"),
                    TypeCategory.INTEGER),
    **dict.fromkeys(("decimal", "numeric", "float", "double", "real", "double precision"),
                    TypeCategory.NUMERIC),
    "date": TypeCategory.DATE,
    "datetime": TypeCategory.TIMESTAMP,
    "timestamp": TypeCategory.TIMESTAMP,
    "time": TypeCategory.TIME,
    "json": TypeCategory.JSON,
    "uuid": TypeCategory.UUID,  # MariaDB 10.7+
    "bit": TypeCategory.BIT,
    **dict.fromkeys(("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"),
                    TypeCategory.BINARY),
    "enum": TypeCategory.ENUM,
    "set": TypeCategory.ENUM,
}
# TEXT types are limited in bytes, not characters: max_length is bytes // MAXLEN of the charset.
_BYTE_LIMITED = {"tinytext", "text", "mediumtext", "longtext"}

_ENUM_MEMBER = re.compile(r"'((?:[^'\\]|''|\\.)*)'")
# EXTRA of a generated column: "STORED GENERATED" / "VIRTUAL GENERATED" (MySQL, MariaDB 10.2+),
# "PERSISTENT" / "VIRTUAL" (older MariaDB). MySQL's "DEFAULT_GENERATED" is not one.
_GENERATED = re.compile(r"(?<![A-Z_])(VIRTUAL|STORED|PERSISTENT)(?![A-Z_])")
_JSON_CHECK = re.compile(r"^\s*json_valid\(\s*`((?:[^`]|``)+)`\s*\)\s*$", re.IGNORECASE)


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


def _str(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def is_mariadb(version: str) -> bool:
    return "mariadb" in version.lower()


def enum_members(column_type: str) -> tuple[str, ...]:
    """``enum('a','it''s','b\\\\c')`` -> ('a', "it's", 'b\\c')."""
    inner = column_type[column_type.index("(") + 1:column_type.rindex(")")]
    out = []
    for m in _ENUM_MEMBER.finditer(inner):
        raw = m.group(1).replace("''", "'")
        out.append(re.sub(r"\\(.)", r"\1", raw))
    return tuple(out)


def introspect_database(fetch: Fetch, db: str, version: str) -> SchemaSnapshot:
    mariadb = is_mariadb(version)
    kinds: dict[str, str] = {}
    estimates: dict[str, int | None] = {}
    for name, ttype, rows in fetch(
            "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (db,)):
        kinds[_str(name)] = _str(ttype)
        estimates[_str(name)] = _int(rows)
    table_names = [n for n, k in kinds.items() if k in ("BASE TABLE", "SYSTEM VERSIONED")]

    json_columns, checks = _checks(fetch, db, mariadb)
    columns = _columns(fetch, db, mariadb, json_columns)
    keys = _keys(fetch, db)
    fks = _foreign_keys(fetch, db, columns)
    triggers = _triggers(fetch, db)

    snapshot = SchemaSnapshot(dialect="mysql", database=db, default_schema=db, schemas=(db,),
                              server_version=version)
    for name in table_names:
        pk, uniques = keys.get(name, ((), ()))
        ref = TableRef(db, name)
        snapshot.tables[ref] = Table(
            ref=ref,
            columns=tuple(columns.get(name, ())),
            primary_key=pk,
            unique_constraints=uniques,
            foreign_keys=tuple(fks.get(name, ())),
            checks=tuple(checks.get(name, ())),
            row_estimate=estimates.get(name),
            triggers=tuple(triggers.get(name, ())),
        )
    snapshot.views.update(_views(fetch, db, set(kinds)))
    for name, kind in kinds.items():
        if kind == "SEQUENCE":  # MariaDB 10.3+ sequences are tables of their own kind
            ref = TableRef(db, name)
            snapshot.sequences[ref] = SequenceObj(ref)
    return snapshot


def _columns(fetch: Fetch, db: str, mariadb: bool,
             json_columns: set[tuple[str, str]]) -> dict[str, list[Column]]:
    maxlen = {_str(n): int(m) for n, m in fetch(
        "SELECT CHARACTER_SET_NAME, MAXLEN FROM information_schema.CHARACTER_SETS", ())}
    out: dict[str, list[Column]] = defaultdict(list)
    for (table, name, default, nullable, data_type, column_type, char_len, octet_len, charset,
         precision, scale, extra, _gen_expr) in fetch(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, "
            "COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, "
            "CHARACTER_SET_NAME, NUMERIC_PRECISION, NUMERIC_SCALE, EXTRA, "
            "GENERATION_EXPRESSION FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION", (db,)):
        table, name = _str(table), _str(name)
        dtype = _str(data_type).lower()
        ctype = _str(column_type)
        extra_u = _str(extra or "").upper()
        category = _CATEGORIES.get(dtype, TypeCategory.OTHER)
        if (table, name) in json_columns:  # MariaDB: JSON is LONGTEXT CHECK (json_valid(col))
            category = TypeCategory.JSON
        kind = _GENERATED.search(extra_u)
        generated = None if kind is None else (
            "virtual" if kind.group(1) == "VIRTUAL" else "stored")
        max_length = None
        if category in (TypeCategory.TEXT, TypeCategory.ENUM, TypeCategory.JSON):
            max_length = _int(char_len)
            if dtype in _BYTE_LIMITED and octet_len is not None:
                max_length = int(octet_len) // maxlen.get(_str(charset or ""), 4)
        out[table].append(Column(
            name=name,
            type_sql=ctype,
            category=category,
            nullable=_str(nullable) == "YES",
            default=_default(default, category, extra_u, mariadb, generated),
            max_length=max_length,
            numeric_precision=_int(precision),
            numeric_scale=_int(scale),
            identity="by default" if "AUTO_INCREMENT" in extra_u else None,
            generated=generated,
            enum_values=enum_members(ctype) if dtype in ("enum", "set") else (),
        ))
    return out


def _default(raw: Any, category: TypeCategory, extra_u: str, mariadb: bool,
             generated: str | None) -> str | None:
    """COLUMN_DEFAULT as an SQL expression. MariaDB 10.2.7+ already gives an expression
    ('abc' quoted, NULL as the word NULL); MySQL gives the bare value and marks expressions
    with DEFAULT_GENERATED."""
    if raw is None or generated is not None:
        return None
    text = _str(raw)
    if mariadb:
        return None if text.upper() == "NULL" else text
    if "DEFAULT_GENERATED" in extra_u or category in (
            TypeCategory.INTEGER, TypeCategory.NUMERIC, TypeCategory.BIT):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _keys(fetch: Fetch, db: str
          ) -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """Primary key and unique keys (constraints and unique indexes alike) from STATISTICS.

    Indexes with an expression part (MySQL 8 functional indexes) have no column to name and
    are left out; a unique prefix index (``UNIQUE (name(10))``) counts as unique on the column,
    which is the cautious reading for a masker.
    """
    parts: dict[tuple[str, str], list[tuple[int, str | None]]] = defaultdict(list)
    for table, index, seq, column in fetch(
            "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME "
            "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND NON_UNIQUE = 0 "
            "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", (db,)):
        parts[(_str(table), _str(index))].append(
            (int(seq), None if column is None else _str(column)))
    out: dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]] = {}
    for (table, index), cols in sorted(parts.items()):
        if any(c is None for _, c in cols):
            continue
        names = tuple(str(c) for _, c in sorted(cols))
        pk, uniques = out.get(table, ((), []))
        if index == "PRIMARY":
            pk = names
        elif names not in uniques:
            uniques.append(names)
        out[table] = (pk, uniques)
    return {t: (pk, tuple(u)) for t, (pk, u) in out.items()}


def _foreign_keys(fetch: Fetch, db: str,
                  columns: dict[str, list[Column]]) -> dict[str, list[ForeignKey]]:
    rows: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for (table, name, column, ref_schema, ref_table, ref_column, pos) in fetch(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, "
            "k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, "
            "k.ORDINAL_POSITION "
            "FROM information_schema.KEY_COLUMN_USAGE k "
            "JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
            "  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
            " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME "
            "WHERE k.TABLE_SCHEMA = %s AND k.REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION", (db,)):
        rows[(_str(table), _str(name))].append(
            (int(pos), _str(column), _str(ref_schema), _str(ref_table), _str(ref_column)))
    out: dict[str, list[ForeignKey]] = defaultdict(list)
    for (table, name), parts in rows.items():
        parts.sort()
        nullable_cols = {c.name for c in columns.get(table, ()) if c.nullable}
        child = tuple(p[1] for p in parts)
        out[table].append(ForeignKey(
            name=name,
            table=TableRef(db, table),
            columns=child,
            ref_table=TableRef(parts[0][2], parts[0][3]),
            ref_columns=tuple(p[4] for p in parts),
            nullable=all(c in nullable_cols for c in child),
        ))
    return out


def _checks(fetch: Fetch, db: str, mariadb: bool
            ) -> tuple[set[tuple[str, str]], dict[str, list[CheckConstraint]]]:
    """CHECK constraints per table, and the MariaDB JSON columns they reveal."""
    if mariadb:
        # MariaDB check names are unique per table, so CHECK_CONSTRAINTS carries TABLE_NAME.
        sql = ("SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE "
               "FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s "
               "ORDER BY TABLE_NAME, CONSTRAINT_NAME")
    else:
        sql = ("SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE "
               "FROM information_schema.TABLE_CONSTRAINTS tc "
               "JOIN information_schema.CHECK_CONSTRAINTS cc "
               "  ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA "
               " AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME "
               "WHERE tc.TABLE_SCHEMA = %s AND tc.CONSTRAINT_TYPE = 'CHECK' "
               "ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_NAME")
    try:
        rows = fetch(sql, (db,))
    except CatalogMissing:  # servers before CHECK_CONSTRAINTS existed
        rows = []
    json_cols: set[tuple[str, str]] = set()
    out: dict[str, list[CheckConstraint]] = defaultdict(list)
    for table, name, clause in rows:
        table, name, clause = _str(table), _str(name), _str(clause)
        m = _JSON_CHECK.match(clause)
        if m:
            json_cols.add((table, m.group(1).replace("``", "`")))
        out[table].append(parse_check(name, clause))
    return json_cols, out


# -- CHECK expressions: MySQL/MariaDB's spelling -> the snapshot's tokens --------------------

_CHECK_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<string>'(?:[^'\\]|''|\\.)*')
    | (?P<dstring>"(?:[^"\\]|""|\\.)*")
    | (?P<ident>`(?:[^`]|``)*`)
    | (?P<hex>[xX]'[0-9a-fA-F]*'|[bB]'[01]*'|0[xX][0-9a-fA-F]+|0[bB][01]+)
    | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<name>[A-Za-z_$\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
    | (?P<op><=>|<=|>=|<>|!=|&&|\|\||[()\[\],.;]|[-+*/<>=~!%^&|]|.)
    """, re.VERBOSE | re.DOTALL)
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def _unquote(raw: str) -> str:
    quote = raw[0]
    body = raw[1:-1].replace(quote * 2, quote)
    # \% and \_ keep their backslash (they only mean something to LIKE)
    return re.sub(r"\\([^%_])", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse_check(name: str, clause: str) -> CheckConstraint:
    """A CHECK_CLAUSE as information_schema gives it (MySQL: _utf8mb4'a', MariaDB: 'a')."""
    rules, complete, names = check_rules(check_tokens(clause))
    return CheckConstraint(name, clause, rules=rules, complete=complete, columns=names)


def check_tokens(text: str) -> list[SqlToken]:
    toks: list[SqlToken] = []
    for m in _CHECK_TOKEN.finditer(text):
        kind, raw = m.lastgroup, m.group()
        if kind == "space":
            continue
        if kind in ("string", "dstring"):
            if toks and toks[-1].kind == "name" and not toks[-1].quoted \
                    and toks[-1].text.startswith("_"):
                toks.pop()  # a charset introducer: _utf8mb4'a' is the string 'a'
            toks.append(SqlToken("string", _unquote(raw)))
        elif kind == "ident":
            toks.append(SqlToken("name", raw[1:-1].replace("``", "`"), quoted=True))
        elif kind == "name":
            toks.append(SqlToken("name", raw))
        elif kind == "number":
            toks.append(SqlToken("number", raw))
        elif kind == "op" and raw in ("&&", "||"):  # || is OR unless PIPES_AS_CONCAT: refuse
            toks.append(SqlToken("name", "AND") if raw == "&&" else SqlToken("op", "?||"))
        else:  # hex and bit literals, anything odd: left for the parser to refuse
            toks.append(SqlToken("op", raw if kind == "op" else "?" + raw))
    return toks


def _triggers(fetch: Fetch, db: str) -> dict[str, list[Trigger]]:
    out: dict[str, list[Trigger]] = defaultdict(list)
    for name, table, timing, event, body in fetch(
            "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, "
            "ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
            "ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
            (db,)):
        t = _str(table)
        out[t].append(Trigger(
            name=_str(name), table=TableRef(db, t),
            definition=f"{_str(timing)} {_str(event)} FOR EACH ROW {_str(body)}"))
    return out


def _views(fetch: Fetch, db: str, objects: set[str]) -> dict[TableRef, View]:
    out: dict[TableRef, View] = {}
    for name, definition in fetch(
            "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
            "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (db,)):
        name = _str(name)
        text = _str(definition or "")
        ref = TableRef(db, name)
        out[ref] = View(ref=ref, definition=text,
                        depends_on=view_dependencies(text, db, objects - {name}))
    return out


def view_dependencies(definition: str, db: str, objects: set[str]) -> tuple[TableRef, ...]:
    """Tables and views of ``db`` that a view definition names.

    information_schema.VIEWS holds the server's normalised text, where every object is written
    `db`.`name`; a pair of quoted names ``db`` . ``x`` with x a known object is a dependency.
    """
    found: list[TableRef] = []
    pattern = re.compile(r"`((?:[^`]|``)+)`\s*\.\s*`((?:[^`]|``)+)`")
    for m in pattern.finditer(definition):
        schema, name = (g.replace("``", "`") for g in m.groups())
        ref = TableRef(schema, name)
        if schema == db and name in objects and ref not in found:
            found.append(ref)
    return tuple(found)


__all__ = ["CatalogMissing", "check_tokens", "enum_members", "introspect_database",
           "is_mariadb", "parse_check", "view_dependencies"]
