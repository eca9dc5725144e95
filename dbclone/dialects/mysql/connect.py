"""Connecting to MySQL/MariaDB, quoting names, and turning driver errors into dbclone errors.

Every message built here names the server, user, database, table or column, never a row value
or a password.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

import pymysql
import pymysql.converters

from dbclone.dialects.base import DatabaseURL
from dbclone.errors import ConfigError, ConnectionFailed, did_you_mean
from dbclone.introspect.snapshot import TableRef

DEFAULT_PORT = 3306

# Encoders only, no decoders: pymysql then hands back the server's own text for every value
# (str for text columns, bytes for binary ones). That text is exactly what the loader writes
# back, so nothing is lost to Python's datetime/Decimal/float round trips (zero dates,
# '838:59:59' times and DECIMAL(65,30) all survive).
RAW_CONV: dict[Any, Any] = {
    k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)
}

# URL query options passed through to pymysql; anything else is a config error.
_URL_OPTIONS: dict[str, type] = {
    "unix_socket": str,
    "ssl_ca": str,
    "ssl_cert": str,
    "ssl_key": str,
    "ssl_verify_cert": bool,
    "ssl_verify_identity": bool,
    "connect_timeout": int,
}
_IGNORED_OPTIONS = {"charset"}  # dbclone always talks utf8mb4

# Server error codes we translate.
ER_DBACCESS_DENIED = 1044
ER_ACCESS_DENIED = 1045
ER_ACCESS_DENIED_NO_PASSWORD = 1698  # e.g. a unix_socket account reached over TCP
ER_BAD_DB = 1049
CR_CONNECTION_ERROR = 2002
CR_CONN_HOST_ERROR = 2003
CR_UNKNOWN_HOST = 2005
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013


def q(name: str) -> str:
    """A MySQL identifier, backtick-quoted exactly once."""
    return "`" + name.replace("`", "``") + "`"


def qt(ref: TableRef) -> str:
    """``database.table``, each part quoted."""
    return f"{q(ref.schema)}.{q(ref.name)}"


def where(url: DatabaseURL) -> str:
    """host:port (or the socket) for messages."""
    sock = url.query.get("unix_socket")
    if sock:
        return sock
    return f"{url.host or 'localhost'}:{url.port or DEFAULT_PORT}"


def _options(url: DatabaseURL, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in url.query.items():
        if key in _IGNORED_OPTIONS:
            continue
        kind = _URL_OPTIONS.get(key)
        if kind is None:
            hint = did_you_mean(key, list(_URL_OPTIONS)) or (
                "known options: " + ", ".join(sorted(_URL_OPTIONS)))
            raise ConfigError(f"{what}: unknown MySQL URL option '{key}'", hint=hint)
        if kind is bool:
            out[key] = raw.lower() in ("1", "true", "yes", "on")
        elif kind is int:
            try:
                out[key] = int(raw)
            except ValueError:
                raise ConfigError(f"{what}: URL option '{key}' must be a whole number",
                                  hint=f"e.g. ?{key}=10") from None
        else:
            out[key] = raw
    return out


def password(url: DatabaseURL) -> str | None:
    """The URL's password, else ``MYSQL_PWD`` as the MySQL clients read it (pymysql does
    not): the README and config errors promise it."""
    return url.password if url.password is not None else os.environ.get("MYSQL_PWD")


def connect(url: DatabaseURL, *, database: str | None, what: str) -> pymysql.Connection:
    """Open a utf8mb4 connection in autocommit mode with raw (text) value decoding.

    ``what`` is "source" or "destination", for messages. ``database=None`` connects to the
    server only (the destination database may not exist yet).
    """
    kwargs: dict[str, Any] = {
        "host": url.host or "localhost",
        "port": url.port or DEFAULT_PORT,
        "user": url.username or "",
        "password": password(url) or "",
        "database": database,
        "charset": "utf8mb4",
        "autocommit": True,
        "conv": RAW_CONV,
        "connect_timeout": 10,
        "local_infile": False,
    }
    kwargs.update(_options(url, f"{what}.url"))
    try:
        return pymysql.connect(**kwargs)
    except pymysql.MySQLError as exc:
        raise _connection_error(exc, url, database, what, kwargs) from exc


def _connection_error(exc: pymysql.MySQLError, url: DatabaseURL, database: str | None,
                      what: str, kwargs: dict[str, Any]) -> ConnectionFailed:
    code = error_code(exc)
    at = where(url)
    user = url.username or ""
    if code in (CR_CONN_HOST_ERROR, CR_CONNECTION_ERROR, CR_UNKNOWN_HOST):
        return ConnectionFailed(
            f"{what}: cannot reach the MySQL/MariaDB server at {at}",
            hint="check the host and port in the URL and that the server is running")
    if code in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
        return ConnectionFailed(
            f"{what}: access denied for user '{user}' at {at}",
            hint="check the user name and password in the URL (or its ${VAR})")
    if code == ER_DBACCESS_DENIED:
        return ConnectionFailed(
            f"{what}: user '{user}' may not use database '{database}' at {at}",
            hint=f"GRANT SELECT, SHOW VIEW, TRIGGER ON `{database}`.* to this user")
    if code == ER_BAD_DB:
        hint = "check the database name at the end of the URL"
        names = _list_databases(kwargs)
        if names:
            hint = did_you_mean(database or "", names) or hint
        return ConnectionFailed(f"{what}: unknown database '{database}' at {at}", hint=hint)
    return ConnectionFailed(f"{what}: cannot connect to {at}: {scrub(exc, ())}",
                            hint="check the URL and the server's log")


def _list_databases(kwargs: dict[str, Any]) -> list[str]:
    """SHOW DATABASES without a default database, for did-you-mean; [] when not allowed."""
    try:
        conn = pymysql.connect(**{**kwargs, "database": None})
    except pymysql.MySQLError:
        return []
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return [str(r[0]) for r in cur.fetchall()]
    except pymysql.MySQLError:
        return []
    finally:
        conn.close()


def error_code(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _error_text(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):
        return args[1]
    return str(exc)


# Where a server message goes on after a quoted value: the text from here on names columns,
# keys or functions again, so it is kept.
_AFTER_VALUE = ("' for column ", "' for key ", "' for function ", "' at row ")


def scrub(exc: BaseException, names: Iterable[str]) -> str:
    """The server's message with every quoted value removed (see :func:`scrub_text`)."""
    msg = _error_text(exc).splitlines()[0] if _error_text(exc) else exc.__class__.__name__
    return scrub_text(msg, names, error_code(exc))


def scrub_text(msg: str, names: Iterable[str], code: int | None = None) -> str:
    """A server message with every quoted value removed.

    MySQL puts values in single quotes ("Duplicate entry 'ann@x.org' for key 'email'",
    "Incorrect integer value: 'abc' for column ..."); names are backtick-quoted or single-quoted.
    A single-quoted text is kept only when it is one of ``names`` (columns, keys, tables,
    constraints of the table being written); anything else becomes ``<value>``. A value may hold
    quotes itself, so after an unknown quote we skip to the *last* known continuation
    (" for column ", " for key " ...), which always follows the value, or stop.
    """
    known = sorted({n for n in names if n and "'" not in n}, key=len, reverse=True)
    out: list[str] = []
    i = 0
    while i < len(msg):
        j = msg.find("'", i)
        if j < 0:
            out.append(msg[i:])
            break
        out.append(msg[i:j])
        rest = msg[j + 1:]
        name = next((n for n in known if rest.startswith(n + "'")), None)
        if name is not None:
            out.append(f"'{name}'")
            i = j + len(name) + 2
            continue
        out.append("<value>")
        k = max(rest.rfind(tail) for tail in _AFTER_VALUE)
        if k < 0:
            break
        i = j + 1 + k + 1  # continue just after the closing quote of the value
    text = "".join(out)
    return (f"[{code}] {text}" if code else text)[:400]


_IDENT = re.compile(r"`((?:[^`]|``)*)`")


def quoted_names(sql: str) -> list[str]:
    """Every backtick-quoted name in ``sql``, unescaped, in order."""
    return [m.group(1).replace("``", "`") for m in _IDENT.finditer(sql)]
