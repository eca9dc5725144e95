"""Helpers shared by the PostgreSQL integration tests (this module holds no tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from conftest import PG_ADMIN, pg_connect, write_workspace
from psycopg import sql
from sqlalchemy.engine import make_url

from dbclone.config import load_workspace
from dbclone.dialects import get_dialect, parse_url
from dbclone.introspect.snapshot import SchemaSnapshot

if TYPE_CHECKING:
    from dbclone import pipeline

TMP_MARK = "__dbclone_tmp_"


def url(db: str, user: str | None = None) -> str:
    if user is None:
        return f"{PG_ADMIN}/{db}"
    return make_url(PG_ADMIN).set(username=user, database=db).render_as_string(
        hide_password=False)


def workspace(tmp_path: Path, src: str, dst: str, generators: dict[str, Any] | None = None,
              schemas: list[str] | None = None, name: str = "workspace.yaml",
              source_user: str | None = None) -> Path:
    source: dict[str, Any] = {"url": url(src, source_user)}
    if schemas is not None:
        source["schemas"] = schemas
    doc = {"workspace": "pg-it", "source": source, "destination": {"url": url(dst)},
           "generators": generators or {}}
    return write_workspace(tmp_path, yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                           name)


def clone(tmp_path: Path, src: str, dst: str, generators: dict[str, Any] | None = None,
          schemas: list[str] | None = None,
          observer: pipeline.RunObserver | None = None,
          source_user: str | None = None) -> pipeline.CloneReport:
    """Run the real pipeline on a workspace file, as the CLI does."""
    from dbclone import pipeline

    path = workspace(tmp_path, src, dst, generators, schemas, source_user=source_user)
    return pipeline.run(load_workspace(path), observer)


def snapshot(db: str, schemas: list[str] | None = None) -> SchemaSnapshot:
    with get_dialect("postgresql").open_source(parse_url(url(db))) as reader:
        return reader.introspect(schemas)


def rows(db: str, query: str | sql.Composable, params: tuple | None = None) -> list[tuple]:
    with pg_connect(db) as conn:
        return conn.execute(query, params).fetchall()


def value(db: str, query: str | sql.Composable, params: tuple | None = None) -> Any:
    return rows(db, query, params)[0][0]


def databases() -> set[str]:
    return {r[0] for r in rows("postgres", "SELECT datname FROM pg_database")}


def leftover_temp_databases() -> list[str]:
    return sorted(d for d in databases() if TMP_MARK in d)


def table_fingerprints(db: str) -> dict[str, str]:
    """md5 over the sorted text of every row of every table (partitions each on their own),
    plus every sequence's state: equal fingerprints mean an unchanged database."""
    out: dict[str, str] = {}
    with pg_connect(db) as conn:
        rels = conn.execute("""
            SELECT n.nspname, c.relname, c.relkind FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%'
            ORDER BY 1, 2""").fetchall()
        for ns, name, kind in rels:
            ident = sql.Identifier(ns, name)
            if kind == "S":
                q = sql.SQL("SELECT last_value::text || '/' || is_called::text FROM {}").format(
                    ident)
            else:
                q = sql.SQL("SELECT coalesce(md5(string_agg(h, ',' ORDER BY h)), '') || '/' || "
                            "count(*) FROM (SELECT md5(t::text) AS h FROM ONLY {} t) s"
                            ).format(ident)
            out[f"{ns}.{name}"] = conn.execute(q).fetchone()[0]
    return out


def column_digests(db: str, schema: str, table: str, columns: list[str],
                   order_by: list[str]) -> dict[str, str]:
    """md5 of each column's text in row order (``order_by``, or the column itself when the
    table has no key): equal digests mean byte-identical columns."""
    parts = []
    for col in columns:
        ident = sql.Identifier(col)
        order = [sql.Identifier(c) for c in order_by] or [ident]
        parts.append(sql.SQL("md5(string_agg(coalesce({}::text, '<NULL>'), E'\\n' ORDER BY {}))")
                     .format(ident, sql.SQL(", ").join(order)))
    if not parts:
        return {}
    q = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts),
                                            sql.Identifier(schema, table))
    return dict(zip(columns, rows(db, q)[0], strict=True))


def keyed_values(db: str, schema: str, table: str, key: list[str],
                 columns: list[str]) -> dict[tuple, tuple]:
    q = sql.SQL("SELECT {}, {} FROM {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in key),
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
        sql.Identifier(schema, table))
    return {tuple(r[:len(key)]): tuple(r[len(key):]) for r in rows(db, q)}
