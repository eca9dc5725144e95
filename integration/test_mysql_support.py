"""Helpers for the MySQL/MariaDB integration tests (no tests here).

``direct_clone`` drives the dialect exactly as ``dbclone.pipeline.run`` does (prepare ->
create_schema -> copy_tables in load order -> finish -> swap, abort on any failure), with small
stand-in maskers, so the writer is tested apart from the generator catalogue. A full clone
goes through the command-line client unless ``DBCLONE_MYSQL_CLIENT=off`` (the ``copy_path``
fixture runs a test both ways).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import MY_HOST, MY_PORT, MY_USER, my_connect

from dbclone.dialects import get_dialect, parse_url
from dbclone.dialects.base import CopyJob, DatabaseURL, TableCopyResult
from dbclone.graph import build_graph, load_plan
from dbclone.introspect.snapshot import SchemaSnapshot, Table

Mask = Callable[[str | None], str | None]


class _Events:
    def __init__(self, progress: Callable[[str, int], None] | None) -> None:
        self._progress = progress

    def started(self, table: Table) -> None:
        pass

    def progress(self, table: Table, rows: int) -> None:
        if self._progress is not None:
            self._progress(table.ref.name, rows)

    def finished(self, table: Table, result: TableCopyResult) -> None:
        pass


def my_url(db: str) -> DatabaseURL:
    return parse_url(f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{db}")


class StubMasker:
    """A RowMasker that applies plain functions to named columns."""

    def __init__(self, table: Table, funcs: dict[str, Mask]) -> None:
        names = [c.name for c in table.writable_columns]
        self._funcs = [(names.index(n), f) for n, f in funcs.items()]
        self.masked_positions = tuple(p for p, _ in self._funcs)
        self.seen: list[Any] = []  # every value handed to the masker, to check its form

    def mask_row(self, values: list) -> list:
        for pos, f in self._funcs:
            self.seen.append(values[pos])
            values[pos] = f(values[pos])
        return values


def direct_clone(src: str, dst: str, *, masks: dict[str, dict[str, Mask]] | None = None,
                 progress: Callable[[str, int], None] | None = None,
                 maskers: dict[str, StubMasker] | None = None) -> SchemaSnapshot:
    """Clone database ``src`` into ``dst`` on the local server; ``masks`` maps
    table name -> column name -> function. Returns the source snapshot."""
    dialect = get_dialect("mysql")
    source_url, dest_url = my_url(src), my_url(dst)
    maskers = {} if maskers is None else maskers
    with dialect.open_source(source_url) as source:
        snapshot = source.introspect(None)
        plan, _ = load_plan(build_graph(snapshot), snapshot, strict=False)
        writer = dialect.writer(dest_url, source_url)
        writer.prepare()
        try:
            writer.create_schema(source, snapshot)
            jobs = []
            for ref in plan.order:
                table = snapshot.tables[ref]
                funcs = (masks or {}).get(ref.name)
                masker = StubMasker(table, funcs) if funcs else None
                if masker is not None:
                    maskers[ref.name] = masker
                jobs.append(CopyJob(table, masker))
            writer.copy_tables(source, jobs, _Events(progress))
            writer.finish(source, snapshot)
            writer.swap()
        except BaseException:
            writer.abort()
            raise
    return snapshot


def query(db: str | None, sql: str, args: tuple = ()) -> list[tuple]:
    with my_connect(db) as c, c.cursor() as cur:
        cur.execute(sql, args or None)
        return [tuple(r) for r in cur.fetchall()]


def databases(prefix: str) -> list[str]:
    return [r[0] for r in query(None, "SHOW DATABASES") if r[0].startswith(prefix)]


def temp_databases() -> list[str]:
    return [r[0] for r in query(None, "SHOW DATABASES") if "__dbclone_tmp_" in r[0]]
