"""The benchmarks' shared helpers: argument checks, a password kept out of workspace files,
and peak memory summed over a whole process tree."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from bench import common


@pytest.mark.parametrize("text", ["0", "-5", "abc", "1.5"])
def test_positive_refuses_what_is_not_a_whole_number_above_zero(text) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        common.positive(text)
    assert common.positive("3") == 3


def test_a_password_reaches_dbclone_through_the_environment_only(monkeypatch) -> None:
    monkeypatch.setattr(common, "PG", "postgresql://bench:p%40ss@db.internal:6543")
    assert common.workspace_url("src") == (
        "postgresql://bench:${DBCLONE_BENCH_PASSWORD}@db.internal:6543/src")
    assert common.cli_env() == {"DBCLONE_BENCH_PASSWORD": "p@ss"}
    assert common.libpq_env() == {"PGHOST": "db.internal", "PGPORT": "6543",
                                  "PGUSER": "bench", "PGPASSWORD": "p@ss"}
    monkeypatch.setattr(common, "PG", "postgresql://postgres@127.0.0.1:5432")
    assert common.workspace_url("src") == "postgresql://postgres@127.0.0.1:5432/src"
    assert common.cli_env() == {}


TWO_PROCESSES_EACH_80MB = """
import os, time
block = bytearray(80 * 1024 * 1024)  # touched: resident
for i in range(0, len(block), 4096):
    block[i] = 1
pid = os.fork()
if pid == 0:  # the child writes its copy: its own 80 MB
    for i in range(0, len(block), 4096):
        block[i] = 2
    time.sleep(1.0)
    os._exit(0)
time.sleep(1.0)
os.waitpid(pid, 0)
"""


def test_peak_memory_counts_every_process_of_the_tree() -> None:
    done = subprocess.run([sys.executable, "-c", common._MEASURE, sys.executable, "-c",
                           TWO_PROCESSES_EACH_80MB], capture_output=True, text=True, check=True)
    pss, rss = (int(v) // 1024 for v in done.stdout.split())
    assert 160 <= pss <= rss < 260  # both processes' 80 MB, not the largest one alone
