"""Branch databases (issue 6): ``env up`` from a PostgreSQL template against the raw
``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY`` of the same template, in the same run.

    python -m bench.env_up [--size-mb 100 [1024 ...]] [--repeat 5] [--mysql-mb 0] [--keep]

Builds a source database of about --size-mb (a wide table plus a small one with masked
columns), builds the template from it with dbclone itself (the normal pipeline, as
``dbclone template refresh`` does), then alternates, --repeat times:
- raw: ``CREATE DATABASE x TEMPLATE tpl STRATEGY FILE_COPY`` on one open connection;
- env up: ``dbclone.envs.up()`` in this process (connect to the control database, lock the
  branch, check the registry and the template, copy, record);
and, once per round, the ``dbclone env up`` command line in a child process (which adds the
interpreter's start-up). Each created database is dropped again, and before each measurement
the OS and the server flush what earlier copies and drops left dirty (neither is timed), so
no measurement pays for the one before it. The CREATE DATABASE inside each env up is timed
too: env up minus it is dbclone's own time (connect, locks, registry), which stays steady
when the copies themselves swing with checkpoints and other work on the machine.
Targets: env up <= 1.2x raw for a ~1 GB template, and under 1 s for a 100 MB one; both sizes
in one run with ``--size-mb 1024 100``. Every dbclone_bench_env* database (and, with
--mysql-mb, every dbclone_bench_env_my* one) is dropped at the end, also after an error or
Ctrl-C, unless --keep (which keeps the last size's after a run that finished).

With --mysql-mb N, the same on MariaDB/MySQL for a template of about N MB: ``env up`` (a
server-side copy: tables from SHOW CREATE TABLE, INSERT ... SELECT, then views, triggers and
routines) against the least a copy can do on that server, ``CREATE TABLE b.t LIKE tpl.t`` and
``INSERT INTO b.t SELECT * FROM tpl.t`` per table, with foreign key checks off.
"""

from __future__ import annotations

import argparse
import os
import shutil
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
from dbclone.dialects.postgresql.provision import PgProvisioner

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
    paired = statistics.median(b / a for a, b in zip(raw, lib, strict=True))
    print(table([
        ("raw CREATE TABLE LIKE + INSERT SELECT", f"{med_raw:.3f}", "1.00",
         " ".join(f"{x:.3f}" for x in raw)),
        ("dbclone env up (library)", f"{med_lib:.3f}", f"{med_lib / med_raw:.2f}",
         " ".join(f"{x:.3f}" for x in lib)),
    ], ("mysql: what", "median s", "x raw", "runs")))
    print(f"mysql per-round env up / raw: median {paired:.2f}")
    return {"mysql_template_bytes": size, "mysql_raw_seconds": raw,
            "mysql_env_up_seconds": lib, "mysql_ratio": med_lib / med_raw,
            "mysql_paired_ratio": paired}


def pg_bench(size_mb: int, repeat: int, folder: Path) -> dict[str, object]:
    """One PostgreSQL template of about ``size_mb``: raw FILE_COPY against env up. Starts by
    dropping every dbclone_bench_env* database (the previous size's, or a killed run's)."""
    cleanup()
    t0 = time.perf_counter()
    rows = build_source(size_mb)
    print(f"source: {rows:,} rows in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
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

    # The CREATE DATABASE inside each env up, timed on its own: env up minus it is what
    # dbclone adds (connect, locks, registry), a figure the server's checkpoint and disk
    # noise (other work on a shared machine) hardly moves, unlike the copy itself.
    inner: list[float] = []
    original = PgProvisioner.create_from_template

    def timed_copy(self: PgProvisioner, name: str, template: str) -> None:
        t = time.perf_counter()
        try:
            original(self, name, template)
        finally:
            inner.append(time.perf_counter() - t)

    PgProvisioner.create_from_template = timed_copy  # type: ignore[method-assign]
    try:
        envs.up(config, "bench/warm-up")  # creates the control database and its tables once
        envs.down(config, "bench/warm-up")
        inner.clear()
        for i in range(repeat):
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
    finally:
        PgProvisioner.create_from_template = original  # type: ignore[method-assign]
        admin.close()
    overhead = [up - copy for up, copy in zip(lib, inner, strict=True)]

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
    over = statistics.median(overhead)
    print(f"per-round env up / raw: median {paired:.2f}; fastest env up / fastest raw: "
          f"{low['lib'] / low['raw']:.2f}")
    print(f"dbclone's own time in env up (outside its CREATE DATABASE): median "
          f"{over * 1000:.0f} ms ({' '.join(f'{x * 1000:.0f}' for x in overhead)}); "
          f"raw + that = {(med['raw'] + over) / med['raw']:.2f}x raw")
    verdict = _verdict(size_mb, ratio, med["lib"])
    print(f"template {size / 2**20:.0f} MB: env up / raw = {ratio:.2f}; env up "
          f"{med['lib']:.3f}s -> {verdict}")
    result = {"size_mb": size_mb, "template_bytes": size,
              "template_build_seconds": round(build_s, 2), "repeat": repeat,
              "raw_seconds": raw, "env_up_seconds": lib, "env_up_cli_seconds": cli,
              "median_raw": med["raw"], "median_env_up": med["lib"],
              "median_env_up_cli": med["cli"], "ratio": ratio, "paired_ratio": paired,
              "env_up_copy_seconds": inner, "env_up_overhead_seconds": overhead,
              "median_overhead": over, "target": verdict}
    return result  # the next size's cleanup() (or main's) drops this one's databases


def _verdict(size_mb: int, ratio: float, env_up_s: float) -> str:
    """The targets of issue 6: <= 1.2x raw for a large (~1 GB) template, where the copy is
    what costs; under 1 s for a 100 MB one, where dbclone's fixed ~30 ms (connect, lock,
    registry) is a visible share of a ~0.1 s copy. Sizes in between are reported only."""
    checks = []
    if size_mb >= 512:
        checks.append(("<= 1.2x raw", ratio <= 1.2))
    if size_mb <= 100:
        checks.append(("< 1 s", env_up_s < 1.0))
    if not checks:
        return "no target at this size"
    return ", ".join(f"{what}: {'OK' if ok else 'MISSED'}" for what, ok in checks)


def main() -> int:
    ap = argparse.ArgumentParser(
        description="env up from a PostgreSQL template against the raw CREATE DATABASE ... "
                    "TEMPLATE ... STRATEGY FILE_COPY (see the module's docstring)")
    ap.add_argument("--size-mb", type=int, nargs="+", default=[100], metavar="MB",
                    help="template size(s) in MB; several run one after the other, e.g. "
                         "--size-mb 1024 100 (default 100)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds per size (default 5)")
    ap.add_argument("--mysql-mb", type=int, default=0,
                    help="also time env up on MariaDB/MySQL for a template of about this size")
    ap.add_argument("--keep", action="store_true",
                    help="keep the last size's databases afterwards (otherwise every "
                         "dbclone_bench_env* database is dropped, also on error or Ctrl-C)")
    args = ap.parse_args()
    os.environ["DBCLONE_CONTROL_DB"] = CONTROL

    folder = Path(tempfile.mkdtemp(prefix="dbclone-bench-env-"))
    results: list[dict[str, object]] = []
    ok = False
    try:
        for size_mb in args.size_mb:
            result = pg_bench(size_mb, args.repeat, folder)
            results.append(result)
            path = save(f"env_up_{size_mb}mb", result)
            print(f"saved {path}", file=sys.stderr)
        if args.mysql_mb:
            extra = mysql_bench(args.mysql_mb, args.repeat, folder)
            path = save(f"env_up_mysql_{args.mysql_mb}mb", extra)
            print(f"saved {path}", file=sys.stderr)
        ok = True
    finally:
        if not (args.keep and ok):
            cleanup()
            if args.mysql_mb:
                _my_cleanup()
        shutil.rmtree(folder, ignore_errors=True)
    if len(results) > 1:
        print(table([(f"{r['size_mb']} MB", f"{r['template_bytes'] / 2**20:.0f}",
                      f"{r['median_raw']:.3f}", f"{r['median_env_up']:.3f}",
                      f"{r['ratio']:.2f}", f"{r['paired_ratio']:.2f}",
                      f"{r['median_overhead'] * 1000:.0f}",
                      f"{r['median_env_up_cli']:.3f}", r["target"]) for r in results],
                    ("size", "template MB", "raw s", "env up s", "x raw", "paired x",
                     "own ms", "command s", "target")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
