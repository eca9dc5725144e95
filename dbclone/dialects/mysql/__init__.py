"""MySQL and MariaDB, through pymysql. Registered as the dialect "mysql".

The snapshot's schema is the database named in the URL: ``TableRef(<database>, <table>)``.
"""

from __future__ import annotations

from typing import ClassVar

from dbclone.dialects.base import DatabaseURL, Dialect, register_dialect
from dbclone.dialects.mysql.reader import MySQLSource
from dbclone.dialects.mysql.writer import MySQLWriter


class MySQLDialect(Dialect):
    name: ClassVar[str] = "mysql"
    # There is no fixed default schema: it is the source database, which the snapshot carries
    # as ``default_schema``.
    default_schema: ClassVar[str] = ""
    # Tables are created with their FKs but loaded with foreign_key_checks=0.
    constraints_after_data: ClassVar[bool] = True

    def open_source(self, url: DatabaseURL) -> MySQLSource:
        return MySQLSource(url)

    def writer(self, url: DatabaseURL, source_url: DatabaseURL) -> MySQLWriter:
        return MySQLWriter(url, source_url)


register_dialect("mysql", MySQLDialect)

__all__ = ["MySQLDialect", "MySQLSource", "MySQLWriter"]
