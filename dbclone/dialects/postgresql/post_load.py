"""After the rows are in and post-data has run: sequences, database settings, materialized
views, and what to tell the user about triggers."""

from __future__ import annotations

from graphlib import TopologicalSorter

import psycopg
from psycopg import sql

from dbclone.dialects.base import Finding
from dbclone.dialects.postgresql.errors import safe_message
from dbclone.dialects.postgresql.reader import PgSourceReader
from dbclone.errors import CloneFailed
from dbclone.introspect.snapshot import SchemaSnapshot, TableRef

# Settings whose value is a list of (possibly quoted) names: each element is its own literal.
_LIST_SETTINGS = {"search_path", "temp_tablespaces", "session_preload_libraries",
                  "local_preload_libraries", "shared_preload_libraries"}


def _ident(ref: TableRef) -> sql.Identifier:
    return sql.Identifier(ref.schema, ref.name)


def set_sequences(conn: psycopg.Connection, reader: PgSourceReader,
                  snapshot: SchemaSnapshot) -> None:
    """Every sequence continues where the source's does (read in the source transaction;
    an unreadable one fails the run: case 10)."""
    for ref in sorted(snapshot.sequences):
        last_value, is_called = reader.sequence_state(ref)
        try:
            conn.execute("SELECT pg_catalog.setval(%s::regclass, %s, %s)",
                         (_ident(ref).as_string(conn), last_value, is_called))
        except psycopg.Error as exc:
            raise CloneFailed(f"cannot set sequence {ref} in the destination: "
                              f"{safe_message(exc)}") from exc


def copy_database_settings(admin: psycopg.Connection, database: str, settings: list[str],
                           where: str) -> list[Finding]:
    """Carry ``ALTER DATABASE ... SET`` over: a search_path there is what lets function
    bodies name tables without a schema, e.g. inside a materialized view. Run after the load,
    so a setting like default_transaction_read_only cannot get in its way."""
    findings: list[Finding] = []
    for entry in settings:
        name, _, raw = entry.partition("=")
        values = (split_guc_list(raw) or [""]) if name.lower() in _LIST_SETTINGS else [raw]
        stmt = sql.SQL("ALTER DATABASE {} SET {} TO {}").format(
            sql.Identifier(database),
            sql.SQL(".").join(sql.Identifier(p) for p in name.split(".")),
            sql.SQL(", ").join(sql.Literal(v) for v in values))
        try:
            admin.execute(stmt)
        except psycopg.Error as exc:
            findings.append(Finding("warning", where, f"database setting {name} not copied: "
                                                      f"{safe_message(exc)}"))
    return findings


def split_guc_list(raw: str) -> list[str]:
    """Split a stored list setting (``"My Schema", public``) into its element names."""
    items: list[str] = []
    cur: list[str] = []
    quoted = False
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            if quoted and raw[i + 1:i + 2] == '"':
                cur.append('"')
                i += 1
            else:
                quoted = not quoted
        elif ch == "," and not quoted:
            items.append("".join(cur).strip())
            cur = []
        elif quoted or not ch.isspace():
            cur.append(ch)
        i += 1
    items.append("".join(cur).strip())
    return [item for item in items if item]


def refresh_matviews(conn: psycopg.Connection, snapshot: SchemaSnapshot) -> list[Finding]:
    """REFRESH each materialized view after every view it reads (through plain views too),
    so it holds only what the destination's masked rows compute (case 12). A failure is a
    finding naming the view; views that read a failed one are skipped, and named too."""
    deps = {ref: {d for d in v.depends_on if d in snapshot.views}
            for ref, v in snapshot.views.items()}
    order = [ref for ref in TopologicalSorter(deps).static_order()
             if ref in snapshot.views and snapshot.views[ref].materialized]
    failed: set[TableRef] = set()
    findings: list[Finding] = []
    for ref in order:
        blocked = sorted(_reaches(ref, deps) & failed)
        if blocked:
            failed.add(ref)
            findings.append(Finding("warning", str(ref),
                                    f"materialized view not refreshed because {blocked[0]} "
                                    "could not be; it is left unpopulated"))
            continue
        try:
            conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(_ident(ref)))
        except psycopg.Error as exc:
            failed.add(ref)
            findings.append(Finding("warning", str(ref),
                                    f"materialized view could not be refreshed: "
                                    f"{safe_message(exc)}; it is left unpopulated"))
    return findings


def _reaches(ref: TableRef, deps: dict[TableRef, set[TableRef]]) -> set[TableRef]:
    seen: set[TableRef] = set()
    stack = list(deps.get(ref, ()))
    while stack:
        d = stack.pop()
        if d not in seen:
            seen.add(d)
            stack.extend(deps.get(d, ()))
    return seen


def trigger_notes(snapshot: SchemaSnapshot) -> list[Finding]:
    """Triggers are created after the data, so none fired during the load; ENABLE ALWAYS and
    ENABLE REPLICA ones are still worth naming (they behave differently under replication)."""
    return [Finding("info", f"{t.table}.{t.name}",
                    f"trigger is ENABLE {t.enabled.upper()}; it was created after the data "
                    "load with the same state, so it did not fire during the copy")
            for table in snapshot.tables.values() for t in table.triggers
            if t.enabled in ("always", "replica")]
