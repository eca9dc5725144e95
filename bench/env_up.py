"""Branch databases (issue 6): ``env up`` from a PostgreSQL template against the raw
``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`` of the same template, in the same run.

    python -m bench.env_up [--size-mb 100] [--repeat 5] [--keep]

Builds a source database of about --size-mb (a wide table plus a small one with masked
columns), builds the template from it with dbclone itself (the normal pipeline, as
``dbclone template refresh`` does), then alternates, --repeat times:
- raw: ``CREATE DATABASE x TEMPLATE tpl STRATEGY FILE_COPY`` on one open connection;
- env up: ``dbclone.envs.up()`` in this process (connect to the control database, lock the
  branch, check the registry and the template, copy, record);
and, once per round, the ``dbclone env up`` command line in a child process (which adds the
interpreter's start-up). Each created database is dropped again, and before each measurement
the OS and the server flush what earlier copies and drops left dirty (neither is timed), so
no measurement pays for the one before it.
Targets: env up <= 1.2x raw, and under 1 s for a 100 MB template.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import PG, drop_db, fresh_db, pg, save, table
from dbclone import envs
from dbclone.config import load_workspace

SRC = "dbclone_bench_env_src"
DEST = "dbclone_bench_env"
TEMPLATE = f"{DEST}_template"
CONTROL = f"{DEST}_ctl"
ROW_BYTES = 330  # heap bytes per row of `wide` (tuple header, id, 256-character text, ts)

SETUP = """
CREATE TABLE wide (id bigint PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL);
INSERT INTO wide SELECT g, repeat(md5(g::text), 8), timestamptz '2024-01-01' + g * interval '1s'
FROM generate_series(1, {rows}) g;
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL);
INSERT INTO customer SELECT g, 'Name ' || g, 'user' || g || '@corp.example'
FROM generate_series(1, 10000) g;
ANALYZE;
"""


def build_source(size_mb: int) -> int:
    rows = size_mb * 1024 * 1024 // ROW_BYTES
    fresh_db(SRC)
    with pg(SRC) as c:
        c.execute(SETUP.format(rows=rows))
    return rows


def workspace(folder: Path) -> Path:
    path = folder / "bench_env.yaml"
    path.write_text(yaml.safe_dump({
        "workspace": "bench-env",
        "source": {"url": f"{PG}/{SRC}"},
        "destination": {"url": f"{PG}/{DEST}"},
        "generators": {"public.customer.name": "fake_name",
                       "public.customer.email": "fake_email"},
    }))
    return path


def cleanup() -> None:
    with pg() as c:
        names = [r[0] for r in c.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (DEST,))]
    for n in names:
        drop_db(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = ap.parse_args()
    os.environ["DBCLONE_CONTROL_DB"] = CONTROL

    cleanup()
    t0 = time.perf_counter()
    rows = build_source(args.size_mb)
    print(f"source: {rows:,} rows in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    folder = Path(tempfile.mkdtemp(prefix="dbclone-bench-env-"))
    ws_path = workspace(folder)
    config = load_workspace(ws_path)
    t0 = time.perf_counter()
    envs.build_template(config)
    build_s = time.perf_counter() - t0
    with pg() as c:
        size = c.execute("SELECT pg_database_size(%s)", (TEMPLATE,)).fetchone()[0]
    print(f"template: {size / 2**20:.0f} MB, built in {build_s:.1f}s", file=sys.stderr)

    raw, lib, cli = [], [], []
    admin = pg()
    stmt = f'CREATE DATABASE "{{}}" TEMPLATE "{TEMPLATE}" STRATEGY FILE_COPY'

    def settle() -> None:
        # A copy fsyncs what it wrote; dirty pages left by the previous copy or drop would
        # be paid by whichever measurement comes next. Start each one from a clean state.
        os.sync()
        admin.execute("CHECKPOINT")
        os.sync()

    def time_raw(i: int) -> None:
        name = f"{DEST}_raw_{i}"
        settle()
        t = time.perf_counter()
        admin.execute(stmt.format(name))
        raw.append(time.perf_counter() - t)
        admin.execute(f'DROP DATABASE "{name}"')

    def time_lib(i: int) -> None:
        settle()
        t = time.perf_counter()
        envs.up(config, f"bench/lib-{i}")
        lib.append(time.perf_counter() - t)
        envs.down(config, f"bench/lib-{i}")

    envs.up(config, "bench/warm-up")  # creates the control database and its tables once
    envs.down(config, "bench/warm-up")
    for i in range(args.repeat):
        order = (time_raw, time_lib) if i % 2 == 0 else (time_lib, time_raw)
        for fn in order:
            fn(i)
        settle()
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "dbclone.cli", "env", "up", "--branch",
                        f"bench/cli-{i}", "--workspace", str(ws_path)], check=True,
                       capture_output=True)
        cli.append(time.perf_counter() - t)
        envs.down(config, f"bench/cli-{i}")
    admin.close()

    med = {k: statistics.median(v) for k, v in (("raw", raw), ("lib", lib), ("cli", cli))}
    ratio = med["lib"] / med["raw"]
    print(table([
        ("raw CREATE DATABASE ... FILE_COPY", f"{med['raw']:.3f}", "1.00",
         " ".join(f"{x:.3f}" for x in raw)),
        ("dbclone env up (library)", f"{med['lib']:.3f}", f"{ratio:.2f}",
         " ".join(f"{x:.3f}" for x in lib)),
        ("dbclone env up (command, new process)", f"{med['cli']:.3f}",
         f"{med['cli'] / med['raw']:.2f}", " ".join(f"{x:.3f}" for x in cli)),
    ], ("what", "median s", "x raw", "runs")))
    target_ok = ratio <= 1.2 and (args.size_mb > 100 or med["lib"] < 1.0)
    print(f"template {size / 2**20:.0f} MB: env up / raw = {ratio:.2f} (target <= 1.2); "
          f"env up {med['lib']:.3f}s{' (target < 1 s at 100 MB)' if args.size_mb <= 100 else ''}"
          f" -> {'OK' if target_ok else 'MISSED'}")
    path = save(f"env_up_{args.size_mb}mb", {
        "template_bytes": size, "template_build_seconds": round(build_s, 2),
        "repeat": args.repeat, "raw_seconds": raw, "env_up_seconds": lib,
        "env_up_cli_seconds": cli, "median_raw": med["raw"], "median_env_up": med["lib"],
        "median_env_up_cli": med["cli"], "ratio": ratio})
    print(f"saved {path}", file=sys.stderr)
    if not args.keep:
        cleanup()
        drop_db(SRC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
