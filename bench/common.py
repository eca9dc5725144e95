"""Shared helpers for the benchmarks: local servers, timing, medians, JSON results."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

PG = os.environ.get("DBCLONE_PG_URL", "postgresql://postgres@127.0.0.1:5432")
RESULTS = Path(__file__).resolve().parent / "results"


def pg(db: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"{PG}/{db}", autocommit=True)


def drop_db(name: str) -> None:
    with pg() as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_db(name: str) -> None:
    drop_db(name)
    with pg() as c:
        c.execute(f'CREATE DATABASE "{name}"')


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_of(n: int, fn: Callable[[], Any], before: Callable[[], Any] | None = None
              ) -> tuple[float, list[float]]:
    runs = []
    for _ in range(n):
        if before:
            before()
        runs.append(timed(fn))
    return statistics.median(runs), runs


_MEASURE = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(r.returncode)\n"
)


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run ``dbclone ARGS`` in a child process; returns (seconds, peak RSS in MB).

    A small wrapper process whose only child is dbclone reports the peak, so other programs
    the benchmark ran (pg_dump, psql) never count."""
    import sys

    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURE, "dbclone", *args], check=True,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    return secs, int(done.stdout.strip().splitlines()[-1]) // 1024


def save(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([line.format(*header), line.format(*("-" * w for w in widths)),
                      *(line.format(*map(str, r)) for r in rows)])
