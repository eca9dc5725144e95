"""The schema ``dbclone init`` classified, recorded beside the workspace (``NAME.lock.json``)
so that the drift gate can tell which tables and columns were added since.

The lock holds table and column names, types and the detected kind: never a value.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbclone.errors import ConfigError
from dbclone.introspect.snapshot import ColumnRef, SchemaSnapshot, Table, TableRef

LOCK_VERSION = 1
# MySQL's schema is the database name and SQLite's is "main": names in the workspace and the
# lock leave it out there, so a workspace survives a renamed database.
_SCHEMALESS = ("mysql", "sqlite")


def lock_path_for(workspace: str | Path) -> Path:
    p = Path(workspace)
    return p.with_name(p.stem + ".lock.json") if p.suffix else p.with_name(p.name + ".lock.json")


def quote_part(part: str) -> str:
    """A name part as the workspace writes it: in double quotes when it holds a dot or a
    quote (see transform.resolve.split_name)."""
    if "." in part or '"' in part:
        return '"' + part.replace('"', '""') + '"'
    return part


def table_name(ref: TableRef, snapshot: SchemaSnapshot) -> str:
    if snapshot.dialect in _SCHEMALESS and ref.schema == snapshot.default_schema:
        return quote_part(ref.name)
    return f"{quote_part(ref.schema)}.{quote_part(ref.name)}"


def column_name(ref: ColumnRef, snapshot: SchemaSnapshot) -> str:
    return f"{table_name(ref.table, snapshot)}.{quote_part(ref.name)}"


@dataclass
class SchemaLock:
    dialect: str
    database: str
    sample: int
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    written_by: str = ""
    written_at: str = ""

    def has_table(self, name: str) -> bool:
        return name in self.tables

    def has_column(self, table: str, column: str) -> bool:
        return column in self.tables.get(table, {})

    def to_json(self) -> dict[str, Any]:
        return {"dbclone_lock": LOCK_VERSION, "written_by": self.written_by,
                "written_at": self.written_at, "dialect": self.dialect,
                "database": self.database, "sample": self.sample,
                "tables": {t: {"columns": cols} for t, cols in sorted(self.tables.items())}}


def build_lock(snapshot: SchemaSnapshot, kinds: dict[ColumnRef, str | None], sample: int,
               *, written_by: str, written_at: str) -> SchemaLock:
    lock = SchemaLock(snapshot.dialect, snapshot.database, sample, written_by=written_by,
                      written_at=written_at)
    for t in data_tables(snapshot):
        cols: dict[str, dict[str, Any]] = {}
        for c in t.columns:
            if c.generated is not None:
                continue
            cols[c.name] = {"type": c.type_sql, "kind": kinds.get(ColumnRef(t.ref, c.name))}
        lock.tables[table_name(t.ref, snapshot)] = cols
    return lock


def data_tables(snapshot: SchemaSnapshot) -> list[Table]:
    """Tables whose rows are copied (partitions go through their root), in name order."""
    return sorted(snapshot.data_tables(), key=lambda t: t.ref)


def load_lock(path: Path) -> SchemaLock | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable schema lock ({exc.__class__.__name__})",
                          hint="rerun 'dbclone init' to write it again, or delete it") from None
    if not isinstance(data, dict) or data.get("dbclone_lock") != LOCK_VERSION:
        raise ConfigError(f"{path}: not a dbclone schema lock (version {LOCK_VERSION})",
                          hint="rerun 'dbclone init' to write it again, or delete it")
    tables = {str(t): dict(v.get("columns", {})) for t, v in data.get("tables", {}).items()}
    return SchemaLock(str(data.get("dialect", "")), str(data.get("database", "")),
                      int(data.get("sample", 0)), tables, str(data.get("written_by", "")),
                      str(data.get("written_at", "")))


def write_atomically(files: Iterable[tuple[Path, str]]) -> None:
    """Write every file to a temporary name first, then move them all into place: an error
    while writing leaves nothing behind."""
    staged: list[tuple[Path, str]] = []
    try:
        for path, text in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            staged.append((path, tmp))
        for path, tmp in staged:
            os.replace(tmp, path)
    except BaseException:
        for _, tmp in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
