"""A run that is killed (SIGKILL, the OOM killer) cannot drop its half-built copy of the
destination. The next run to that destination names each such copy nobody is connected to,
with the statement that drops it, and leaves it alone: a copy someone is connected to may
belong to a run in progress, and a copy of another destination is not its business."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import MY_ADMIN, my_connect, pg_connect, write_workspace
from test_mysql_support import databases as my_databases
from test_mysql_support import query
from test_pg_support import TMP_MARK, clone, databases, value

from dbclone import pipeline
from dbclone.config import load_workspace

pytestmark = pytest.mark.integration

LEFT, BUSY = "0badc0de", "00c0ffee"


def named(report: pipeline.CloneReport) -> list[tuple[str, str]]:
    return [(f.where, f.message.split("Drop it with: ")[1]) for f in report.findings
            if "half-built copy" in f.message]


def test_postgres_names_what_a_killed_run_left_and_drops_nothing(pg_db, tmp_path: Path):
    src = pg_db("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
    dst = f"{src}_dst"
    left, busy = f"{dst}{TMP_MARK}{LEFT}", f"{dst}{TMP_MARK}{BUSY}"
    other = f"{dst}_x{TMP_MARK}deadbeef"  # another destination's copy
    for name in (left, busy, other):
        pg_db(name=name)
    with pg_connect(busy):  # a run in progress, connected to its own copy
        report = clone(tmp_path, src, dst)
    assert named(report) == [(left, f'DROP DATABASE "{left}";')]
    assert {left, busy, other} <= databases()  # warned about, never dropped
    assert value(dst, "SELECT count(*) FROM t") == 2


def test_mariadb_names_what_a_killed_run_left_and_drops_nothing(my_db, tmp_path: Path):
    src = my_db("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
    dst = f"{src}_dst"
    left, busy = f"{dst}{TMP_MARK}{LEFT}", f"{dst}{TMP_MARK}{BUSY}"
    for name in (left, busy):
        my_db(name=name)
    ws = write_workspace(tmp_path, yaml.safe_dump({
        "workspace": "leftovers", "source": {"url": f"{MY_ADMIN}/{src}"},
        "destination": {"url": f"{MY_ADMIN}/{dst}"}, "generators": {}}))
    with my_connect(busy):
        report = pipeline.run(load_workspace(ws))
    assert named(report) == [(left, f"DROP DATABASE `{left}`;")]
    assert {left, busy} <= set(my_databases(dst))
    assert query(dst, "SELECT count(*) FROM t") == [(2,)]
