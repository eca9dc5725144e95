"""Shared helpers for the benchmarks: local servers, timing, medians, JSON results."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

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


# A wrapper process whose only child is dbclone samples the memory of dbclone's whole process
# tree (its forked workers and the psql pipes they run included) every 0.1 s; ru_maxrss
# would give only the largest single process. Two sums: PSS (each shared page divided among
# the processes sharing it: what the tree really holds; forked workers share most of their
# pages with the main process) and RSS (each process counted whole: an upper bound).
_MEASURE = r"""
import os, subprocess, sys, tempfile, time

def tree(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    stat = f.read()
                kids.setdefault(int(stat[stat.rindex(b")") + 2:].split()[1]), []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out

def kib(pid):
    # (PSS, RSS) of one process in KiB
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss

err = tempfile.TemporaryFile()  # not a pipe: a long run's log would fill it and block
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=err)
peak_pss = peak_rss = 0
while child.poll() is None:
    sizes = [kib(pid) for pid in tree(child.pid)]
    peak_pss = max(peak_pss, sum(p for p, _ in sizes))
    peak_rss = max(peak_rss, sum(r for _, r in sizes))
    time.sleep(0.1)
err.seek(0)
sys.stderr.write(err.read().decode("utf-8", "replace"))
print(peak_pss, peak_rss)
sys.exit(child.returncode)
"""


def positive(text: str) -> int:
    """An argparse type: a whole number above zero."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {n}")
    return n


def workspace_url(db: str) -> str:
    """``DBCLONE_PG_URL``/db for a workspace file: a password in it becomes
    ``${DBCLONE_BENCH_PASSWORD}`` (dbclone refuses a literal one; run_cli sets the variable)."""
    parts = urlsplit(PG)
    if parts.password is None:
        return f"{PG}/{db}"
    netloc = parts.netloc.replace(f":{parts.password}@", ":${DBCLONE_BENCH_PASSWORD}@", 1)
    return f"{urlunsplit(parts._replace(netloc=netloc))}/{db}"


def libpq_env() -> dict[str, str]:
    """PGHOST, PGPORT, PGUSER (and PGPASSWORD) of ``DBCLONE_PG_URL``, for pg_dump and psql."""
    parts = urlsplit(PG)
    env = {"PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432),
           "PGUSER": unquote(parts.username or "postgres")}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    return env


def cli_env() -> dict[str, str]:
    password = urlsplit(PG).password
    return {"DBCLONE_BENCH_PASSWORD": unquote(password)} if password is not None else {}


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run ``dbclone ARGS`` in a child process; returns (seconds, peak PSS, peak RSS): in MB,
    of dbclone and every process it started, summed. Raises CalledProcessError with its
    stderr."""
    import sys

    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURE, "dbclone", *args], check=True,
                          env={**os.environ, **cli_env(), **(env or {})}, capture_output=True,
                          text=True)
    secs = time.perf_counter() - t0
    pss, rss = (int(v) // 1024 for v in done.stdout.strip().splitlines()[-1].split())
    return secs, pss, rss


@contextlib.contextmanager
def dropped_after(*names: str) -> Iterator[None]:
    """Drop these PostgreSQL databases when the block ends: normally, on an error, on Ctrl-C
    or on SIGTERM (nothing of a benchmark outlives it)."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        for name in names:
            drop_db(name)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # through the finally blocks: the databases are dropped


def save(name: str, data: dict[str, Any]) -> Path:
    """The results, with what they were measured on: a figure means little without it."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2), encoding="utf-8")
    return path


def machine() -> dict[str, Any]:
    from dbclone import native

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    try:
        with pg() as c:
            server = c.execute("SHOW server_version").fetchone()[0]
    except psycopg.Error:
        server = None  # the MariaDB-only parts need no PostgreSQL
    return {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "dbclone_commit": commit,
            "native": native.status(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "postgresql": server, "platform": platform.platform()}


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([line.format(*header), line.format(*("-" * w for w in widths)),
                      *(line.format(*map(str, r)) for r in rows)])
