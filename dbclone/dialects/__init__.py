"""Everything that differs between PostgreSQL, MySQL/MariaDB and SQLite."""

from dbclone.dialects.base import DatabaseURL, Dialect, get_dialect, parse_url

__all__ = ["DatabaseURL", "Dialect", "get_dialect", "parse_url"]
