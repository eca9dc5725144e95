"""Read a PostgreSQL database into a dialect-free :class:`SchemaSnapshot`, from the catalogs.

Everything is keyed by (schema, name) as stored in the catalogs, so mixed-case, reserved and
non-ASCII names come back exactly as created, and every reference is fully qualified (an FK
into ``public`` never loses its schema because of search_path). Key columns come from
``conkey``/``confkey``/``indkey`` in declared order, never from parsing definitions.

Objects that belong to an extension are left out: CREATE EXTENSION makes them, with their rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import psycopg

from dbclone.errors import ConfigError, did_you_mean
from dbclone.introspect.snapshot import (
    CheckConstraint,
    Column,
    ColumnRef,
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
from dbclone.introspect.snapshot import Sequence as SequenceInfo

SYSTEM_SCHEMAS_SQL = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""

_NOT_EXTENSION_MEMBER = """
    NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid
                  AND e.deptype = 'e')
"""

_TRIGGER_STATE = {"O": "enabled", "D": "disabled", "R": "replica", "A": "always"}


def user_schemas(conn: psycopg.Connection) -> list[str]:
    """Every non-system schema, by name."""
    rows = conn.execute(f"SELECT n.nspname FROM pg_catalog.pg_namespace n "
                        f"WHERE {SYSTEM_SCHEMAS_SQL} ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def choose_schemas(conn: psycopg.Connection, schemas: Sequence[str] | None,
                   exclude: Sequence[str] = ()) -> list[str]:
    """The schemas to clone; a named schema that does not exist is an error (never a silent
    empty clone: case 16)."""
    available = user_schemas(conn)
    for name in [*(schemas or ()), *exclude]:
        if name not in available:
            key = "source.schemas" if schemas and name in schemas else "source.exclude_schemas"
            raise ConfigError(f"{key}: schema '{name}' does not exist in the source",
                              hint=did_you_mean(name, available)
                              or f"schemas in the source: {', '.join(available) or 'none'}")
    chosen = list(schemas) if schemas else available
    return [s for s in chosen if s not in set(exclude)]


def read_snapshot(conn: psycopg.Connection, database: str, schemas: list[str]) -> SchemaSnapshot:
    snap = SchemaSnapshot(dialect="postgresql", database=database, default_schema="public",
                          schemas=tuple(schemas))
    snap.server_version = str(conn.execute("SHOW server_version").fetchone()[0])
    rels = _relations(conn, schemas)
    columns = _columns(conn, schemas)
    refs = {oid: ref for oid, (ref, kind, _p, _t) in rels.items() if kind in ("r", "p")}
    keys = _constraints(conn, schemas, refs)
    unique_idx = _unique_indexes(conn, schemas)
    triggers = _triggers(conn, schemas)
    leaf_rows = _leaf_row_estimates(conn, schemas)
    for oid, (ref, kind, parent, reltuples) in rels.items():
        if kind in ("r", "p"):
            k = keys.get(oid, {})
            uniques = list(k.get("u", []))
            for cols in unique_idx.get(oid, []):
                if cols not in uniques and cols != k.get("pk", ()):
                    uniques.append(cols)
            estimate = leaf_rows.get(oid) if kind == "p" else reltuples
            snap.tables[ref] = Table(
                ref=ref,
                columns=tuple(columns.get(oid, ())),
                primary_key=k.get("pk", ()),
                unique_constraints=tuple(uniques),
                foreign_keys=tuple(k.get("fk", ())),
                checks=tuple(k.get("c", ())),
                kind="partitioned" if kind == "p" else "table",
                partition_of=parent,
                row_estimate=None if estimate is None or estimate < 0 else int(estimate),
                triggers=tuple(triggers.get(oid, ())),
            )
    _fix_fk_nullability(snap)
    deps = _view_dependencies(conn, schemas)
    for oid, (ref, kind, _parent, _rt) in rels.items():
        if kind in ("v", "m"):
            snap.views[ref] = View(ref=ref, materialized=kind == "m",
                                   definition=_viewdef(conn, oid),
                                   depends_on=tuple(deps.get(oid, ())))
    for seq in _sequences(conn, schemas):
        snap.sequences[seq.ref] = seq
    return snap


def _relations(conn: psycopg.Connection, schemas: list[str]
               ) -> dict[int, tuple[TableRef, str, TableRef | None, float]]:
    rows = conn.execute(f"""
        SELECT c.oid, n.nspname, c.relname, c.relkind, pn.nspname, p.relname, c.reltuples
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
        LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
        LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname = ANY(%s)
          AND {_NOT_EXTENSION_MEMBER}
        ORDER BY n.nspname, c.relname""", (schemas,)).fetchall()
    return {oid: (TableRef(ns, name), kind,
                  TableRef(pns, pname) if pname is not None else None, reltuples)
            for oid, ns, name, kind, pns, pname, reltuples in rows}


def _category(typcategory: str, typname: str) -> TypeCategory:
    if typname in ("int2", "int4", "int8"):
        return TypeCategory.INTEGER
    if typname in ("numeric", "float4", "float8", "money"):
        return TypeCategory.NUMERIC
    if typname in ("date",):
        return TypeCategory.DATE
    if typname in ("timestamp", "timestamptz"):
        return TypeCategory.TIMESTAMP
    if typname in ("time", "timetz"):
        return TypeCategory.TIME
    if typname == "uuid":
        return TypeCategory.UUID
    if typname in ("json", "jsonb"):
        return TypeCategory.JSON
    if typname == "bytea":
        return TypeCategory.BINARY
    if typname in ("bit", "varbit"):
        return TypeCategory.BIT
    if typname == "bool":
        return TypeCategory.BOOLEAN
    return {"S": TypeCategory.TEXT, "E": TypeCategory.ENUM}.get(typcategory, TypeCategory.OTHER)


def _columns(conn: psycopg.Connection, schemas: list[str]) -> dict[int, list[Column]]:
    # Domains are classified by their base type, but type_sql keeps the domain's name.
    rows = conn.execute("""
        SELECT a.attrelid, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
               bt.typcategory, bt.typname,
               CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
               NOT a.attnotnull,
               CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid)
               END,
               a.attidentity, a.attgenerated,
               (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                  FROM pg_catalog.pg_enum e WHERE e.enumtypid = bt.oid),
               CASE WHEN t.typtype = 'd' THEN t.oid END
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
        JOIN pg_catalog.pg_type bt
          ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)
          AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum""", (schemas,)).fetchall()
    domains = _domain_checks(conn) if any(r[-1] is not None for r in rows) else {}
    out: dict[int, list[Column]] = defaultdict(list)
    for (relid, name, type_sql, typcat, typname, typmod, nullable, default, identity,
         generated, labels, domain) in rows:
        max_length = precision = scale = None
        if typname in ("varchar", "bpchar") and typmod is not None and typmod > 4:
            max_length = typmod - 4
        elif typname == "numeric" and typmod is not None and typmod > 4:
            precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        out[relid].append(Column(
            name=name, type_sql=type_sql, category=_category(typcat, typname),
            nullable=nullable, default=default, max_length=max_length,
            numeric_precision=precision, numeric_scale=scale,
            identity={"a": "always", "d": "by default"}.get(identity),
            generated="stored" if generated == "s" else None,
            enum_values=tuple(labels or ()),
            checks=tuple(parse_check(cname, cdef, value_column=name)
                         for cname, cdef in domains.get(domain, ()))))
    return out


def _domain_checks(conn: psycopg.Connection) -> dict[int, list[tuple[str, str]]]:
    """Per domain: its CHECKs and those of the domains it is built on (any schema)."""
    rows = conn.execute("""
        SELECT t.oid, t.typbasetype, c.conname, pg_catalog.pg_get_constraintdef(c.oid)
        FROM pg_catalog.pg_type t
        LEFT JOIN pg_catalog.pg_constraint c ON c.contypid = t.oid AND c.contype = 'c'
        WHERE t.typtype = 'd'
        ORDER BY t.oid, c.conname""").fetchall()
    base: dict[int, int] = {}
    own: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for oid, basetype, cname, cdef in rows:
        base[oid] = basetype
        if cname is not None:
            own[oid].append((cname, cdef))
    out: dict[int, list[tuple[str, str]]] = {}
    for oid in base:
        checks, seen, cur = [], set(), oid
        while cur in base and cur not in seen:  # a domain over a domain has both's checks
            seen.add(cur)
            checks.extend(own.get(cur, ()))
            cur = base[cur]
        out[oid] = checks
    return out


# -- CHECK expressions: PostgreSQL's spelling -> the snapshot's tokens -----------------------

_CHECK_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<estring>[eE]'(?:[^'\\]|''|\\.)*')
    | (?P<string>'(?:[^']|'')*')
    | (?P<ident>"(?:[^"]|"")*")
    | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<name>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
    | (?P<op>::|<=|>=|<>|!=|[()\[\],.;]|[-+*/<>=~!@#%^&|`?]+)
    | (?P<other>.)
    """, re.VERBOSE | re.DOTALL)
# words that continue a type name after "::": character varying, timestamp with time zone
_TYPE_WORDS = {"varying", "precision", "with", "without", "time", "zone"}


def parse_check(name: str, definition: str, value_column: str | None = None
                ) -> CheckConstraint:
    """A CHECK as ``pg_get_constraintdef`` gives it; a domain's with VALUE as the column."""
    text = definition.strip()
    inner = re.sub(r"\s+(NOT VALID|NO INHERIT)\s*$", "", text)
    if inner.upper().startswith("CHECK"):
        inner = inner[5:]
    rules, complete, names = check_rules(check_tokens(inner, value_column))
    return CheckConstraint(name, definition, rules=rules, complete=complete, columns=names)


def check_tokens(text: str, value_column: str | None = None) -> list[SqlToken]:
    toks: list[SqlToken] = []
    for m in _CHECK_TOKEN.finditer(text):
        kind, raw = m.lastgroup, m.group()
        if kind == "space":
            continue
        if kind == "string":
            toks.append(SqlToken("string", raw[1:-1].replace("''", "'")))
        elif kind == "ident":
            toks.append(SqlToken("name", raw[1:-1].replace('""', '"'), quoted=True))
        elif kind == "name":
            if value_column is not None and raw.upper() == "VALUE":
                toks.append(SqlToken("name", value_column, quoted=True))
            else:
                toks.append(SqlToken("name", raw.lower()))  # unquoted names fold to lower
        elif kind == "number":
            toks.append(SqlToken("number", raw))
        else:  # operators; an E'' string or anything else is left for the parser to refuse
            toks.append(SqlToken("op", raw if kind == "op" else "?" + raw))
    return _any_array(_drop_casts(toks))


def _drop_casts(toks: list[SqlToken]) -> list[SqlToken]:
    """'a'::text, (x)::character varying(10), (ARRAY[...])::text[]: the value stays."""
    out: list[SqlToken] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if not (t.kind == "op" and t.text == "::"):
            out.append(t)
            i += 1
            continue
        i += 1
        while i < len(toks) and toks[i].kind == "name":  # schema.type, multi-word names
            i += 1
            if i < len(toks) and toks[i].kind == "op" and toks[i].text == ".":
                i += 1
            elif not (i < len(toks) and toks[i].kind == "name"
                      and toks[i].text.lower() in _TYPE_WORDS):
                break
        if i < len(toks) and toks[i].kind == "op" and toks[i].text == "(":
            while i < len(toks) and not (toks[i].kind == "op" and toks[i].text == ")"):
                i += 1
            i += 1
        while (i + 1 < len(toks) and toks[i].kind == "op" and toks[i].text == "["
               and toks[i + 1].kind == "op" and toks[i + 1].text == "]"):
            i += 2
    return out


def _any_array(toks: list[SqlToken]) -> list[SqlToken]:
    """x = ANY (ARRAY['a', 'b']) -> x IN ('a', 'b'); x <> ALL (ARRAY[...]) -> x NOT IN (...)."""
    out: list[SqlToken] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        quant = toks[i + 1] if i + 1 < len(toks) else None
        if (t.kind == "op" and t.text in ("=", "<>") and quant is not None
                and quant.kind == "name" and not quant.quoted
                and quant.text.upper() == ("ANY" if t.text == "=" else "ALL")):
            items, end = _array_items(toks, i + 2)
            if items is not None:
                if t.text == "<>":
                    out.append(SqlToken("name", "not"))
                out.extend([SqlToken("name", "in"), SqlToken("op", "("), *items,
                            SqlToken("op", ")")])
                i = end
                continue
        out.append(t)
        i += 1
    return out


def _array_items(toks: list[SqlToken], i: int) -> tuple[list[SqlToken] | None, int]:
    """The items of ``((ARRAY[...]))`` starting at ``i``, and the index after it."""
    opened = 0
    while i < len(toks) and toks[i].kind == "op" and toks[i].text == "(":
        opened += 1
        i += 1
    if not (opened and i + 1 < len(toks) and toks[i].kind == "name"
            and toks[i].text.upper() == "ARRAY" and toks[i + 1].text == "["):
        return None, i
    i += 2
    items: list[SqlToken] = []
    while i < len(toks) and not (toks[i].kind == "op" and toks[i].text == "]"):
        if toks[i].kind == "op" and toks[i].text in ("[", "("):
            return None, i  # nested arrays, expressions: not a plain list
        items.append(toks[i])
        i += 1
    i += 1
    for _ in range(opened):
        if not (i < len(toks) and toks[i].kind == "op" and toks[i].text == ")"):
            return None, i
        i += 1
    return items, i


def _constraints(conn: psycopg.Connection, schemas: list[str],
                 refs: dict[int, TableRef]) -> dict[int, dict]:
    # conparentid = 0: a constraint on a partitioned table is cloned onto every partition
    # (and an FK to a partitioned table onto every referenced partition); keep the original.
    rows = conn.execute("""
        SELECT con.conrelid, con.contype, con.conname,
               ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                     JOIN pg_catalog.pg_attribute a
                       ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
               rn.nspname, r.relname,
               ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                     JOIN pg_catalog.pg_attribute a
                       ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o),
               con.condeferrable, con.condeferred,
               CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_constraintdef(con.oid) END
        FROM pg_catalog.pg_constraint con
        JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_class r ON r.oid = con.confrelid
        LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
        WHERE n.nspname = ANY(%s) AND con.contype IN ('p', 'u', 'f', 'c')
          AND con.conparentid = 0
        ORDER BY con.conrelid, con.contype, con.conname""", (schemas,)).fetchall()
    out: dict[int, dict] = defaultdict(lambda: defaultdict(list))
    for relid, contype, name, cols, rns, rname, rcols, deferrable, deferred, checkdef in rows:
        if contype == "p":
            out[relid]["pk"] = tuple(cols)
        elif contype == "u":
            out[relid]["u"].append(tuple(cols))
        elif contype == "c":
            out[relid]["c"].append(parse_check(name, checkdef))
        elif relid in refs:
            out[relid]["fk"].append(ForeignKey(
                name=name, table=refs[relid], columns=tuple(cols),
                ref_table=TableRef(rns, rname), ref_columns=tuple(rcols),
                deferrable=deferrable, initially_deferred=deferred))
    return out


def _fix_fk_nullability(snap: SchemaSnapshot) -> None:
    """An FK is 'nullable' when every child column is: NULL then breaks a load cycle."""
    for ref, table in list(snap.tables.items()):
        if not table.foreign_keys:
            continue
        fks = []
        for fk in table.foreign_keys:
            cols = [table.column(c) for c in fk.columns]
            nullable = all(c is not None and c.nullable for c in cols)
            fks.append(replace(fk, nullable=nullable))
        snap.tables[ref] = replace(table, foreign_keys=tuple(fks))


def _unique_indexes(conn: psycopg.Connection, schemas: list[str]
                    ) -> dict[int, list[tuple[str, ...]]]:
    """Unique indexes that are not constraints, on plain columns, without a WHERE clause
    (a partial or expression index does not make a column unique)."""
    rows = conn.execute("""
        SELECT i.indrelid,
               ARRAY(SELECT a.attname::text
                     FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY k(n, o)
                     JOIN pg_catalog.pg_attribute a
                       ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
        FROM pg_catalog.pg_index i
        JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%s) AND i.indisunique AND NOT i.indisprimary
          AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indisvalid
          AND NOT (0 = ANY(i.indkey[0:i.indnkeyatts - 1]))
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid
                          AND k.contype IN ('p', 'u', 'x'))
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid = i.indexrelid)
        ORDER BY i.indrelid, i.indexrelid""", (schemas,)).fetchall()
    out: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for relid, cols in rows:
        out[relid].append(tuple(cols))
    return out


def _triggers(conn: psycopg.Connection, schemas: list[str]) -> dict[int, list[Trigger]]:
    rows = conn.execute("""
        SELECT t.tgrelid, n.nspname, c.relname, t.tgname, t.tgenabled,
               pg_catalog.pg_get_triggerdef(t.oid)
        FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%s) AND NOT t.tgisinternal
        ORDER BY t.tgrelid, t.tgname""", (schemas,)).fetchall()
    out: dict[int, list[Trigger]] = defaultdict(list)
    for relid, ns, rel, name, enabled, definition in rows:
        out[relid].append(Trigger(name=name, table=TableRef(ns, rel),
                                  enabled=_TRIGGER_STATE.get(enabled, "enabled"),
                                  definition=definition))
    return out


def _leaf_row_estimates(conn: psycopg.Connection, schemas: list[str]) -> dict[int, float]:
    """A partitioned table holds no rows itself: estimate it as the sum of its leaves."""
    rows = conn.execute("""
        SELECT c.oid, sum(GREATEST(l.reltuples, 0))
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL pg_catalog.pg_partition_tree(c.oid) pt
        JOIN pg_catalog.pg_class l ON l.oid = pt.relid
        WHERE c.relkind = 'p' AND n.nspname = ANY(%s) AND pt.isleaf
        GROUP BY c.oid""", (schemas,)).fetchall()
    return {oid: float(total) for oid, total in rows}


def _view_dependencies(conn: psycopg.Connection, schemas: list[str]
                       ) -> dict[int, list[TableRef]]:
    """Relations each view or materialized view reads, through its rewrite rule."""
    rows = conn.execute("""
        SELECT DISTINCT r.ev_class, dn.nspname, dc.relname
        FROM pg_catalog.pg_rewrite r
        JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass
             AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
             AND d.refobjid <> r.ev_class
        JOIN pg_catalog.pg_class dc ON dc.oid = d.refobjid
        JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
        WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY(%s)
          AND dn.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2, 3""", (schemas,)).fetchall()
    out: dict[int, list[TableRef]] = defaultdict(list)
    for oid, ns, name in rows:
        out[oid].append(TableRef(ns, name))
    return out


def _viewdef(conn: psycopg.Connection, oid: int) -> str | None:
    row = conn.execute("SELECT pg_catalog.pg_get_viewdef(%s::oid)", (oid,)).fetchone()
    return row[0] if row else None


def _sequences(conn: psycopg.Connection, schemas: list[str]) -> list[SequenceInfo]:
    # Owned-by: 'a' for serial / OWNED BY, 'i' for identity columns.
    rows = conn.execute(f"""
        SELECT n.nspname, c.relname, tn.nspname, tc.relname, a.attname
        FROM pg_catalog.pg_class c
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass
             AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
             AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
        LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
        LEFT JOIN pg_catalog.pg_attribute a
               ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE c.relkind = 'S' AND n.nspname = ANY(%s) AND {_NOT_EXTENSION_MEMBER}
        ORDER BY 1, 2""", (schemas,)).fetchall()
    return [SequenceInfo(ref=TableRef(ns, name),
                         owned_by=ColumnRef(TableRef(tns, tname), col) if col else None)
            for ns, name, tns, tname, col in rows]
