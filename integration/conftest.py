"""Fixtures for tests against the real local servers and the shared datasets.

Every database a test uses is created here under a ``dbclone_it_`` name and dropped at the
end; nothing else on the servers is touched.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pymysql
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DBCLONE_SHARED", ROOT.parent / "shared")).resolve()
DATASETS = SHARED / "datasets"
PG_ADMIN = os.environ.get("DBCLONE_PG_URL", "postgresql://postgres@127.0.0.1:5432")
MY_HOST = os.environ.get("DBCLONE_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("DBCLONE_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("DBCLONE_MYSQL_USER", "root")
MY_ADMIN = f"mysql://{MY_USER}@{MY_HOST}:{MY_PORT}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def unique_name(prefix: str = "dbclone_it") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def pg_connect(db: str = "postgres", **kw) -> psycopg.Connection:
    return psycopg.connect(f"{PG_ADMIN}/{db}", autocommit=True, **kw)


def pg_drop(name: str) -> None:
    with pg_connect() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def my_connect(db: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, database=db,
                           autocommit=True, charset="utf8mb4")


def my_drop(name: str) -> None:
    with my_connect() as c, c.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def pg_db() -> Iterator[Callable[..., str]]:
    """Factory: ``pg_db(sql=None)`` creates a fresh database, optionally runs ``sql`` in it,
    and returns its name. Every database it made (and any ``<name>*`` dbclone made from
    it, e.g. the destination) is dropped afterwards."""
    made: list[str] = []

    def make(sql: str | None = None, name: str | None = None) -> str:
        name = name or unique_name()
        with pg_connect() as c:
            c.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        if sql:
            with pg_connect(name) as c:
                c.execute(sql)
        return name

    yield make
    _pg_cleanup(made)


def _pg_cleanup(prefixes: list[str]) -> None:
    with pg_connect() as c:
        names = [r[0] for r in c.execute("SELECT datname FROM pg_database").fetchall()]
    for n in names:
        if any(n.startswith(p) for p in prefixes):
            pg_drop(n)


@pytest.fixture
def my_db() -> Iterator[Callable[..., str]]:
    """Factory like ``pg_db`` for MariaDB; ``sql`` may hold several ;-separated statements."""
    made: list[str] = []

    def make(sql: str | None = None, name: str | None = None) -> str:
        name = name or unique_name()
        with my_connect() as c, c.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        made.append(name)
        if sql:
            conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, database=name,
                                   autocommit=True, charset="utf8mb4",
                                   client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
            with conn, conn.cursor() as cur:
                cur.execute(sql)
                while cur.nextset():
                    pass
        return name

    yield make
    with my_connect() as c, c.cursor() as cur:
        cur.execute("SHOW DATABASES")
        names = [r[0] for r in cur.fetchall()]
    for n in names:
        if any(n.startswith(p) for p in made):
            my_drop(n)


@contextmanager
def pg_dataset(dataset: str) -> Iterator[str]:
    """A fresh PostgreSQL database holding one of ../shared/datasets; it and every
    ``<name>*`` database made from it (destinations, templates) are dropped afterwards."""
    name = unique_name()
    try:
        load_dataset(dataset, name)
        yield name
    finally:
        _pg_cleanup([name])


def load_dataset(dataset: str, db: str) -> None:
    """Load one of ../shared/datasets into ``db`` (created anew by load.sh)."""
    subprocess.run(["bash", str(DATASETS / "load.sh"), dataset, db], check=True,
                   capture_output=True, timeout=600)


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not DATASETS.is_dir():
        pytest.fail(f"shared datasets not found at {DATASETS} (set DBCLONE_SHARED)")
    return DATASETS


def write_workspace(tmp_path: Path, text: str, name: str = "workspace.yaml") -> Path:
    # Tests that are not about the privacy gate write partial workspaces on purpose: they
    # say so with on_unconfigured: keep (the gate's own tests set the key themselves).
    if not any(line.startswith("on_unconfigured:") for line in text.splitlines()):
        text = text.rstrip("\n") + "\non_unconfigured: keep\n"
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p
