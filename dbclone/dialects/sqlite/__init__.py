"""SQLite: a file read through a read-only URI, cloned into a temp file that is moved onto the
destination at the end. The only schema is ``main``."""

from __future__ import annotations

from typing import ClassVar

from dbclone.dialects.base import DatabaseURL, Dialect, register_dialect
from dbclone.dialects.sqlite.connect import SCHEMA, file_path
from dbclone.dialects.sqlite.reader import SQLiteSourceReader
from dbclone.dialects.sqlite.writer import SQLiteWriter


class SQLiteDialect(Dialect):
    name: ClassVar[str] = "sqlite"
    default_schema: ClassVar[str] = SCHEMA
    # Rows load with foreign_keys off and triggers not yet created, so cycles need no
    # NULL-then-UPDATE, and PRAGMA foreign_key_check verifies the result.
    constraints_after_data: ClassVar[bool] = True

    def open_source(self, url: DatabaseURL) -> SQLiteSourceReader:
        return SQLiteSourceReader(file_path(url, what="source.url"))

    def writer(self, url: DatabaseURL, source_url: DatabaseURL) -> SQLiteWriter:
        return SQLiteWriter(file_path(url, what="destination.url"), url)


register_dialect("sqlite", SQLiteDialect)

__all__ = ["SQLiteDialect", "SQLiteSourceReader", "SQLiteWriter"]
