"""Checks shared by the subset integration tests (this module holds no tests): workspaces with
a ``subset:`` section, and the foreign-key integrity of a destination, asked of the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import MY_HOST, MY_PORT, MY_USER, write_workspace
from psycopg import sql
from test_mysql_support import query
from test_pg_support import rows, url

from dbclone import pipeline
from dbclone.config import load_workspace

# The privacy gate is not what these tests are about: unlisted columns are kept as they are.


def pg_subset_workspace(tmp_path: Path, src: str, dst: str, subset: dict[str, Any],
                        generators: dict[str, Any] | None = None,
                        name: str = "workspace.yaml") -> Path:
    doc = {"workspace": "subset-it", "source": {"url": url(src)},
           "destination": {"url": url(dst)}, "generators": generators or {},
           "subset": subset, "on_unconfigured": "keep"}
    return write_workspace(tmp_path, yaml.safe_dump(doc, sort_keys=False), name)


def my_subset_workspace(tmp_path: Path, src: str, dst: str, subset: dict[str, Any],
                        generators: dict[str, Any] | None = None,
                        name: str = "workspace.yaml") -> Path:
    base = f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}"
    doc = {"workspace": "subset-it", "source": {"url": f"{base}/{src}"},
           "destination": {"url": f"{base}/{dst}"}, "generators": generators or {},
           "subset": subset, "on_unconfigured": "keep"}
    return write_workspace(tmp_path, yaml.safe_dump(doc, sort_keys=False), name)


def run(path: Path) -> pipeline.CloneReport:
    return pipeline.run(load_workspace(path))


# -- PostgreSQL ------------------------------------------------------------------------------

_PG_FKS = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text, c.convalidated,
       ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 2, 1
"""


def pg_fks(db: str) -> list[tuple]:
    """(name, child, parent, validated, child columns, parent columns) of every FK."""
    return rows(db, _PG_FKS)


def pg_orphans(db: str) -> dict[str, int]:
    """Per FK: child rows whose non-NULL reference finds no parent row (an anti-join)."""
    out = {}
    for name, child, parent, _, ccols, pcols in pg_fks(db):
        on = sql.SQL(" AND ").join(
            sql.SQL("p.{} = c.{}").format(sql.Identifier(p), sql.Identifier(c))
            for c, p in zip(ccols, pcols, strict=True))
        not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c))
                                         for c in ccols)
        q = sql.SQL("SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS "
                    "(SELECT 1 FROM {} p WHERE {})").format(
            sql.SQL(child), not_null, sql.SQL(parent), on)
        out[f"{child}.{name}"] = rows(db, q)[0][0]
    return out


def pg_counts(db: str) -> dict[str, int]:
    """Rows per table (a partitioned table counted once, through its root)."""
    tables = rows(db, """
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2""")
    return {f"{s}.{t}": rows(db, sql.SQL("SELECT count(*) FROM {}").format(
        sql.Identifier(s, t)))[0][0] for s, t in tables}


def pg_ids(db: str, q: str, params: tuple | None = None) -> set:
    return {r[0] if len(r) == 1 else tuple(r) for r in rows(db, q, params)}


# -- MariaDB -----------------------------------------------------------------------------------

def my_fks(db: str) -> list[tuple[str, str, str, list[str], list[str]]]:
    """(name, child, parent, child columns, parent columns) of every FK, in declared order."""
    got: dict[tuple[str, str], tuple[str, list[str], list[str]]] = {}
    for name, child, parent, col, ref in query(None, """
            SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME, COLUMN_NAME,
                   REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
            WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL
            ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION""", (db,)):
        entry = got.setdefault((child, name), (parent, [], []))
        entry[1].append(col)
        entry[2].append(ref)
    return [(name, child, p, cc, pc) for (child, name), (p, cc, pc) in got.items()]


def my_orphans(db: str) -> dict[str, int]:
    out = {}
    for name, child, parent, ccols, pcols in my_fks(db):
        on = " AND ".join(f"p.`{p}` = c.`{c}`" for c, p in zip(ccols, pcols, strict=True))
        not_null = " AND ".join(f"c.`{c}` IS NOT NULL" for c in ccols)
        out[f"{child}.{name}"] = query(db, f"SELECT COUNT(*) FROM `{child}` c WHERE {not_null} "
                                           f"AND NOT EXISTS (SELECT 1 FROM `{parent}` p "
                                           f"WHERE {on})")[0][0]
    return out


def my_ids(db: str, q: str, args: tuple = ()) -> set:
    return {r[0] if len(r) == 1 else tuple(r) for r in query(db, q, args)}
