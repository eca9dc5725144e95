"""Opening SQLite files, quoting names, and turning driver errors into dbclone errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from dbclone.dialects.base import DatabaseURL
from dbclone.errors import ConfigError, ConnectionFailed

SCHEMA = "main"  # the only schema a SQLite source has: attached databases are never cloned


def q(name: str) -> str:
    """A SQLite identifier, quoted exactly once."""
    return '"' + name.replace('"', '""') + '"'


def file_path(url: DatabaseURL, *, what: str) -> Path:
    db = url.database
    if db == ":memory:" or db.startswith("file:"):
        raise ConfigError(f"{what}: '{db}' is not a file path",
                          hint="use sqlite:///relative/path.db or sqlite:////absolute/path.db")
    return Path(db).expanduser()


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection: ``mode=ro`` means SQLite itself refuses every write."""
    if not path.exists():
        raise ConnectionFailed(f"{path}: SQLite file not found",
                               hint="check source.url: sqlite:///relative or sqlite:////absolute")
    if not path.is_file():
        raise ConnectionFailed(f"{path}: not a file", hint="point source.url at a SQLite file")
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ConnectionFailed(f"{path}: cannot open: {first_line(exc)}",
                               hint="check the file's permissions") from exc
    try:
        # Any read fails here if the file is not a database (wrong header, encrypted...).
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ConnectionFailed(f"{path}: not a SQLite database ({first_line(exc)})",
                               hint="point source.url at a SQLite 3 database file") from exc
    return conn


def first_line(exc: BaseException) -> str:
    """SQLite's messages name constraints and columns, never row values; keep the first line
    and cap it anyway."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    # The one driver message that quotes data: "Could not decode to UTF-8 column 'c' with
    # text '...'": cut the text off.
    cut = text.find(" with text ")
    if cut >= 0:
        text = text[:cut]
    return text[:300]
