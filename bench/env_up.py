"""Branch databases (issue 6): ``env up`` from a PostgreSQL template against the raw
``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`` of the same template, in the same run.

    python -m bench.env_up [--size-mb 100] [--repeat 5] [--mysql-mb 0] [--keep]

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

With --mysql-mb N, the same on MariaDB/MySQL for a template of about N MB: ``env up`` (a
server-side copy: tables from SHOW CREATE TABLE, INSERT ... SELECT, then views, triggers and
routines) against the least a copy can do on that server, ``CREATE TABLE b.t LIKE tpl.t`` and
``INSERT INTO b.t SELECT * FROM tpl.t`` per table, with foreign key checks off.
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

import pymysql
import yaml

from bench.common import PG, drop_db, fresh_db, pg, save, table
from dbclone import envs
from dbclone.config import load_workspace

SRC = "dbclone_bench_env_src"
DEST = "dbclone_bench_env"
TEMPLATE = f"{DEST}_template"
CONTROL = f"{DEST}_ctl"
MY_SRC, MY_DEST = "dbclone_bench_env_my_src", "dbclone_bench_env_my"
MY_TEMPLATE, MY_CONTROL = f"{MY_DEST}_template", f"{MY_DEST}_ctl"
MY_HOST, MY_USER = os.environ.get("DBCLONE_MYSQL_HOST", "127.0.0.1"), "root"
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
        "on_unconfigured": "keep",  # the bench masks two columns, keeps the rest
    }))
    return path


def cleanup() -> None:
    with pg() as c:
        names = [r[0] for r in c.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (DEST,))]
    for n in names:
        drop_db(n)


def _my() -> pymysql.connections.Connection:
    return pymysql.connect(host=MY_HOST, user=MY_USER, autocommit=True, charset="utf8mb4")


def _my_cleanup() -> None:
    with _my() as c, c.cursor() as cur:
        cur.execute("SHOW DATABASES")
        for (name,) in cur.fetchall():
            if name.startswith((MY_DEST, MY_SRC)):
                cur.execute(f"DROP DATABASE `{name}`")


def mysql_bench(size_mb: int, repeat: int, folder: Path) -> dict[str, object]:
    """env up on MariaDB/MySQL against a bare per-table copy on the same server."""
    rows = size_mb * 1024 * 1024 // ROW_BYTES
    _my_cleanup()
    with _my() as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{MY_SRC}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{MY_SRC}`")
        cur.execute("CREATE TABLE wide (id BIGINT PRIMARY KEY, payload VARCHAR(256) NOT NULL, "
                    "at DATETIME NOT NULL) ENGINE=InnoDB")
        # seq_1_to_N is MariaDB's sequence engine; a recursive CTE would do on MySQL.
        cur.execute(f"INSERT INTO wide SELECT seq, REPEAT(MD5(seq), 8), "
                    f"'2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_{rows}")
        cur.execute("CREATE TABLE customer (id INT PRIMARY KEY, name VARCHAR(80) NOT NULL, "
                    "email VARCHAR(120) NOT NULL) ENGINE=InnoDB")
        cur.execute("INSERT INTO customer SELECT seq, CONCAT('Name ', seq), "
                    "CONCAT('user', seq, '@corp.example') FROM seq_1_to_10000")
    url = f"mysql://{MY_USER}@{MY_HOST}:3306"
    path = folder / "bench_env_my.yaml"
    path.write_text(yaml.safe_dump({
        "workspace": "bench-env-mysql", "source": {"url": f"{url}/{MY_SRC}"},
        "destination": {"url": f"{url}/{MY_DEST}"},
        "generators": {"customer.name": "fake_name", "customer.email": "fake_email"},
        "on_unconfigured": "keep"}))
    config = load_workspace(path)
    t0 = time.perf_counter()
    envs.build_template(config, control=MY_CONTROL)
    build_s = time.perf_counter() - t0
    with _my() as c, c.cursor() as cur:
        # information_schema's sizes are estimates until the tables are analysed
        cur.execute(f"ANALYZE TABLE `{MY_TEMPLATE}`.`wide`, `{MY_TEMPLATE}`.`customer`")
        cur.fetchall()
        cur.execute("SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = %s", (MY_TEMPLATE,))
        size = int(cur.fetchone()[0])
    print(f"mysql template: {size / 2**20:.0f} MB, built in {build_s:.1f}s", file=sys.stderr)

    def raw_copy(name: str) -> None:
        with _my() as c, c.cursor() as cur:
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            for table in ("customer", "wide"):
                cur.execute(f"CREATE TABLE `{name}`.`{table}` LIKE `{MY_TEMPLATE}`.`{table}`")
                cur.execute(f"INSERT INTO `{name}`.`{table}` "
                            f"SELECT * FROM `{MY_TEMPLATE}`.`{table}`")

    raw, lib = [], []
    for i in range(repeat):
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            if which == 0:
                name = f"{MY_DEST}_raw_{i}"
                t = time.perf_counter()
                raw_copy(name)
                raw.append(time.perf_counter() - t)
                with _my() as c, c.cursor() as cur:
                    cur.execute(f"DROP DATABASE `{name}`")
            else:
                t = time.perf_counter()
                envs.up(config, f"bench/lib-{i}", control=MY_CONTROL)
                lib.append(time.perf_counter() - t)
                envs.down(config, f"bench/lib-{i}", control=MY_CONTROL)
    med_raw, med_lib = statistics.median(raw), statistics.median(lib)
    print(table([
        ("raw CREATE TABLE LIKE + INSERT SELECT", f"{med_raw:.3f}", "1.00",
         " ".join(f"{x:.3f}" for x in raw)),
        ("dbclone env up (library)", f"{med_lib:.3f}", f"{med_lib / med_raw:.2f}",
         " ".join(f"{x:.3f}" for x in lib)),
    ], ("mysql: what", "median s", "x raw", "runs")))
    return {"mysql_template_bytes": size, "mysql_raw_seconds": raw,
            "mysql_env_up_seconds": lib, "mysql_ratio": med_lib / med_raw}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mysql-mb", type=int, default=0,
                    help="also time env up on MariaDB/MySQL for a template of about this size")
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
    low = {k: min(v) for k, v in (("raw", raw), ("lib", lib), ("cli", cli))}
    ratio = med["lib"] / med["raw"]
    # On a shared machine one slow copy (another process flushing) skews a mean; the median
    # of the per-round ratios compares each env up with the raw copy measured next to it.
    paired = statistics.median(b / a for a, b in zip(raw, lib, strict=True))
    print(table([
        ("raw CREATE DATABASE ... FILE_COPY", f"{med['raw']:.3f}", f"{low['raw']:.3f}", "1.00",
         " ".join(f"{x:.3f}" for x in raw)),
        ("dbclone env up (library)", f"{med['lib']:.3f}", f"{low['lib']:.3f}", f"{ratio:.2f}",
         " ".join(f"{x:.3f}" for x in lib)),
        ("dbclone env up (command, new process)", f"{med['cli']:.3f}", f"{low['cli']:.3f}",
         f"{med['cli'] / med['raw']:.2f}", " ".join(f"{x:.3f}" for x in cli)),
    ], ("what", "median s", "min s", "x raw", "runs")))
    print(f"per-round env up / raw: median {paired:.2f}; fastest env up / fastest raw: "
          f"{low['lib'] / low['raw']:.2f}")
    # The targets of issue 6: <= 1.2x raw for a large (~1 GB) template, where the copy is
    # what costs; under 1 s for a 100 MB one, where dbclone's fixed ~30 ms (connect, lock,
    # registry) is a visible share of a ~0.1 s copy.
    target_ok = (ratio <= 1.2 or args.size_mb < 512) and (args.size_mb > 100
                                                         or med["lib"] < 1.0)
    print(f"template {size / 2**20:.0f} MB: env up / raw = {ratio:.2f} (target <= 1.2 for "
          f"~1 GB); env up {med['lib']:.3f}s"
          f"{' (target < 1 s at 100 MB)' if args.size_mb <= 100 else ''}"
          f" -> {'OK' if target_ok else 'MISSED'}")
    extra = mysql_bench(args.mysql_mb, args.repeat, folder) if args.mysql_mb else {}
    path = save(f"env_up_{args.size_mb}mb", {**extra,
        "template_bytes": size, "template_build_seconds": round(build_s, 2),
        "repeat": args.repeat, "raw_seconds": raw, "env_up_seconds": lib,
        "env_up_cli_seconds": cli, "median_raw": med["raw"], "median_env_up": med["lib"],
        "median_env_up_cli": med["cli"], "ratio": ratio, "paired_ratio": paired})
    print(f"saved {path}", file=sys.stderr)
    if not args.keep:
        cleanup()
        drop_db(SRC)
        if args.mysql_mb:
            _my_cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
