"""Connections: DatabaseURL -> libpq conninfo, friendly connection errors, session settings.

The password travels in the conninfo given to libpq (psycopg) or in ``PGPASSWORD`` for the
client programs; it never appears in argv, in a message or in a log line.
"""

from __future__ import annotations

import os
import re

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from dbclone.dialects.base import DatabaseURL
from dbclone.errors import ConnectionFailed, did_you_mean

MAINTENANCE_DBS = ("postgres", "template1")

# Every session dbclone opens speaks the same text dialect, so a value read from the source
# as text is parsed back identically by the destination (and masked values are canonical).
SESSION_SETTINGS: tuple[tuple[str, str], ...] = (
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("extra_float_digits", "3"),
    ("bytea_output", "hex"),
    ("client_encoding", "UTF8"),
    ("TimeZone", "UTC"),
)


def conninfo(url: DatabaseURL, *, dbname: str | None = None, password: bool = True,
             application_name: str = "dbclone") -> str:
    """A libpq conninfo string for ``url`` (optionally another database on the same server).

    URL query parameters (sslmode, host=/socket/dir, ...) pass through as libpq keywords.
    """
    params: dict[str, str | int] = {"application_name": application_name}
    params.update(url.query)
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = url.port
    if url.username:
        params["user"] = url.username
    if password and url.password is not None:
        params["password"] = url.password
    params.setdefault("connect_timeout", 10)
    params["dbname"] = dbname or url.database
    return make_conninfo("", **params)


def client_env(url: DatabaseURL) -> dict[str, str]:
    """Environment for pg_dump/psql: the password goes here, never on the command line."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = url.password
    return env


def where(url: DatabaseURL) -> str:
    host = url.host or url.query.get("host") or "localhost"
    return f"{host}:{url.port or url.query.get('port') or 5432}"


def connect(url: DatabaseURL, *, dbname: str | None = None, autocommit: bool = True,
            application_name: str = "dbclone") -> psycopg.Connection:
    """Open a connection, turning libpq failures into :class:`ConnectionFailed`."""
    name = dbname or url.database
    try:
        return psycopg.connect(conninfo(url, dbname=name, application_name=application_name),
                               autocommit=autocommit)
    except psycopg.Error as exc:
        raise connection_error(url, name, exc) from exc


def apply_session_settings(conn: psycopg.Connection) -> None:
    for name, value in SESSION_SETTINGS:
        conn.execute(sql.SQL("SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))


_AUTH = re.compile(r"password authentication failed|no password supplied|"
                   r"role \".*\" does not exist|authentication failed|"
                   r"peer authentication|ident authentication|no pg_hba.conf entry|"
                   r"not permitted to log in", re.IGNORECASE)
_NO_DB = re.compile(r"database \".*\" does not exist", re.IGNORECASE)


def connection_error(url: DatabaseURL, dbname: str, exc: Exception) -> ConnectionFailed:
    """Classify a libpq failure. libpq messages carry host, user and database names but never
    the password; we still rebuild the message from parts we know rather than echo it."""
    text = str(exc)
    at = where(url)
    user = url.username or os.environ.get("PGUSER") or "(default user)"
    if _NO_DB.search(text):
        hint = _database_hint(url, dbname) or "create the database or fix the name in the URL"
        return ConnectionFailed(f"PostgreSQL database '{dbname}' does not exist on {at}",
                                hint=hint)
    if _AUTH.search(text):
        return ConnectionFailed(
            f"PostgreSQL authentication failed for user '{user}' on {at}",
            hint="check the user name and password (in the URL, PGPASSWORD or ~/.pgpass) "
                 "and pg_hba.conf on the server")
    if m := re.search(r'permission denied for database|invalid connection option "[^"]*"|'
                      r"invalid \w+ value", text):
        return ConnectionFailed(f"PostgreSQL at {at} refused the connection for user '{user}' "
                                f"to database '{dbname}': {m.group(0)}",
                                hint="check the URL's options and the user's CONNECT right")
    if re.search(r"too many connections|starting up|shutting down|in recovery", text, re.I):
        return ConnectionFailed(f"PostgreSQL server at {at} refused the connection "
                                f"({_first_line(text)})", hint="try again later")
    return ConnectionFailed(f"cannot reach the PostgreSQL server at {at}",
                            hint="check host and port in the URL, and that the server is "
                                 "running and accepts TCP/IP connections")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line.split("FATAL:", 1)[-1].strip()[:200]


def _database_hint(url: DatabaseURL, dbname: str) -> str | None:
    """'did you mean ...?' from pg_database, when the maintenance database lets us look."""
    for maint in MAINTENANCE_DBS:
        if maint == dbname:
            continue
        try:
            with psycopg.connect(conninfo(url, dbname=maint), autocommit=True) as conn:
                rows = conn.execute("SELECT datname FROM pg_catalog.pg_database "
                                    "WHERE datallowconn AND NOT datistemplate").fetchall()
        except psycopg.Error:
            continue
        return did_you_mean(dbname, [r[0] for r in rows])
    return None
