"""PostgreSQL: same dialect in and out.

The source is read in one REPEATABLE READ READ ONLY transaction whose snapshot pg_dump also
uses; the destination is built by pg_dump's pre-data DDL, COPY, post-data DDL, sequences and
matview refreshes, under a temporary database name that is swapped in at the end.
"""

from __future__ import annotations

from typing import ClassVar

from dbclone.dialects.base import DatabaseURL, Dialect, register_dialect
from dbclone.dialects.postgresql.reader import PgSourceReader
from dbclone.dialects.postgresql.writer import PgDestinationWriter


class PostgresDialect(Dialect):
    name: ClassVar[str] = "postgresql"
    default_schema: ClassVar[str] = "public"
    # Keys, FKs and triggers come with post-data, after every row is in.
    constraints_after_data: ClassVar[bool] = True

    def open_source(self, url: DatabaseURL) -> PgSourceReader:
        return PgSourceReader(url)

    def writer(self, url: DatabaseURL, source_url: DatabaseURL) -> PgDestinationWriter:
        return PgDestinationWriter(url, source_url)


register_dialect("postgresql", PostgresDialect)

__all__ = ["PgDestinationWriter", "PgSourceReader", "PostgresDialect"]
