"""A real `dbclone clone` process interrupted mid-copy (Ctrl-C or SIGTERM) removes its
temporary database, leaves the previous destination as it was, and says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import pg_connect
from test_pg_support import leftover_temp_databases, rows, workspace


def _temp_for(dst: str) -> list[str]:
    return [d for d in leftover_temp_databases() if d.startswith(dst)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_process_cleans_up(pg_db, tmp_path: Path, sig: signal.Signals) -> None:
    src = pg_db("CREATE TABLE big (id int PRIMARY KEY, name text);"
                "INSERT INTO big SELECT g, 'name ' || g FROM generate_series(1, 3000000) g;")
    dst = pg_db("CREATE TABLE previous (id int); INSERT INTO previous VALUES (42);")
    ws = workspace(tmp_path, src, dst, {"public.big.name": "fake_name"})
    proc = subprocess.Popen([sys.executable, "-m", "dbclone.cli", "clone", str(ws)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    while not _temp_for(dst):  # wait until the temporary database exists
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the clone never started"
        time.sleep(0.05)
    time.sleep(1.0)  # well inside the copy of 3M masked rows
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert _temp_for(dst) == []
    assert rows(dst, "SELECT id FROM previous") == [(42,)]
    with pg_connect(dst) as c:
        assert c.execute("SELECT to_regclass('public.big')").fetchone() == (None,)
