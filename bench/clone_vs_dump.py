"""Whole-database clone speed (issue 8): dbclone against pg_dump/pg_restore and
pg_dump | psql on the same database, in the same run; and MariaDB against
mariadb-dump | mariadb.

    python -m bench.clone_vs_dump [--scale 100] [--people 1000000] [--repeat 3]
                                  [--mysql-rows 1000000] [--skip-mysql]

The PostgreSQL dataset is pgbench at --scale plus a `people` table of --people rows with
names, emails, phones, SSNs, birth dates and ~300-character notes. Every measurement is the
median of --repeat runs; dbclone's peak memory (its workers and psql pipes included:
PSS, and RSS counting shared pages in every process) is measured per run. Every method
writes into a destination that is not there yet (the dumps into one made empty before the
clock starts; dbclone creates its own within its time): replacing an existing destination
adds a DROP DATABASE, which on PostgreSQL 15 forces a checkpoint. Results: a table on
stdout, JSON in bench/results/clone_vs_dump.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pymysql
import yaml

from bench.common import (
    drop_db,
    dropped_after,
    fresh_db,
    libpq_env,
    pg,
    positive,
    run_cli,
    save,
    table,
    timed,
    workspace_url,
)

SRC, DST = "dbclone_bench_src", "dbclone_bench_dst"
NO_PUSH = "dbclone masked, pushdown off"
MY_SRC, MY_DST = "dbclone_bench_my_src", "dbclone_bench_my_dst"

PEOPLE = """
CREATE TABLE people (
  id bigint PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,
  email text NOT NULL UNIQUE, phone text, ssn text, birth_date date, notes text);
INSERT INTO people
SELECT g, 'First' || (g % 7919), 'Last' || (g % 104729), 'user' || g || '@corp.example',
       '+1 503 555 ' || lpad((g % 10000)::text, 4, '0'),
       lpad((g % 1000)::text, 3, '0') || '-' || lpad((g % 100)::text, 2, '0') || '-' ||
       lpad((g % 10000)::text, 4, '0'),
       date '1940-01-01' + (g % 25000), repeat(md5(g::text), 9)
FROM generate_series(1, {n}) g;
"""

MASKED = {
    "public.people.first_name": "fake_first_name",
    "public.people.last_name": "fake_last_name",
    "public.people.email": "fake_email",
    "public.people.phone": "fake_phone",
    "public.people.ssn": "fake_ssn",
    "public.people.birth_date": {"type": "date_shift", "key": "id"},
}


def sh(cmd: str) -> None:
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True,
                   env={**os.environ, **libpq_env()}, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, text=True)


def build_pg(scale: int, people: int) -> None:
    print(f"building pgbench scale {scale} and {people:,} people ...", flush=True)
    fresh_db(SRC)
    sh(f"pgbench -i -q -s {scale} {SRC}")
    with pg(SRC) as c:
        c.execute(PEOPLE.format(n=people))
        c.execute("VACUUM ANALYZE")


def ws_file(work: Path, src: str, dst: str, rules: dict, kind: str = "pg",
            pushdown: bool = True) -> Path:
    def url(db: str) -> str:
        return workspace_url(db) if kind == "pg" else f"mysql://root@127.0.0.1:3306/{db}"

    p = work / f"{kind}-{len(rules)}-{pushdown}.yaml"
    source = {"url": url(src)} if pushdown else {"url": url(src), "pushdown": False}
    p.write_text(yaml.safe_dump({"workspace": "bench", "source": source,
                                 "destination": {"url": url(dst)},
                                 "generators": rules, "on_unconfigured": "keep"}))
    return p


def record(runs: dict[str, list[float]], name: str, secs: float) -> None:
    """One run's time, kept and shown as it comes: a full benchmark takes minutes."""
    runs[name].append(secs)
    print(f"{name}: {secs:.1f} s", flush=True)


def median(runs: list[float]) -> float:
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--scale", type=positive, default=100)
    ap.add_argument("--people", type=positive, default=1_000_000)
    ap.add_argument("--repeat", type=positive, default=3)
    ap.add_argument("--mysql-rows", type=positive, default=1_000_000)
    ap.add_argument("--skip-mysql", action="store_true")
    ap.add_argument("--no-pushdown-too", action="store_true",
                    help="also time the masked clone with source.pushdown: false")
    args = ap.parse_args()
    try:
        with dropped_after(DST, SRC):
            measure(args)
    except subprocess.CalledProcessError as exc:
        what = exc.cmd if isinstance(exc.cmd, str) else " ".join(exc.cmd[4:])
        print(f"{what} failed (exit {exc.returncode}):\n{exc.stderr or ''}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("interrupted: the benchmark's databases are dropped", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        drop_mysql()


def measure(args: argparse.Namespace) -> None:
    build_pg(args.scale, args.people)
    results: dict[str, list[float]] = {k: [] for k in (
        "pg_dump -Fc + pg_restore -j2", "pg_dump | psql", "dbclone unmasked",
        "dbclone masked (6 columns)")}
    rss: dict[str, list[list[int]]] = {"dbclone unmasked": [], "dbclone masked (6 columns)": []}
    if args.no_pushdown_too:
        results[NO_PUSH] = []
        rss[NO_PUSH] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain, masked = ws_file(work, SRC, DST, {}), ws_file(work, SRC, DST, MASKED)
        unpushed = ws_file(work, SRC, DST, MASKED, pushdown=False)
        dump = work / "dump.fc"

        def dumped(name: str, cmd: str) -> None:
            fresh_db(DST)
            record(results, name, timed(lambda: sh(cmd)))

        def cloned(name: str, ws: Path) -> None:
            drop_db(DST)  # like the dumps: into a database that is not there yet
            secs, *peak = run_cli(["clone", str(ws)])
            record(results, name, secs)
            rss[name].append(peak)

        for _ in range(args.repeat):
            dumped("pg_dump -Fc + pg_restore -j2",
                   f"pg_dump -Fc -f {dump} {SRC} && pg_restore -j2 -d {DST} {dump}")
            dumped("pg_dump | psql", f"pg_dump {SRC} | psql -X -q -v ON_ERROR_STOP=1 -d {DST}")
            cloned("dbclone unmasked", plain)
            cloned("dbclone masked (6 columns)", masked)
            if args.no_pushdown_too:
                cloned(NO_PUSH, unpushed)
        if not args.skip_mysql:
            results.update(mysql_runs(args, work, rss))
    pg_base = median(results["pg_dump | psql"])
    restore = median(results["pg_dump -Fc + pg_restore -j2"])
    my_base = median(results["mariadb-dump | mariadb"]) if "mariadb-dump | mariadb" in \
        results else None
    rows = []
    for name, runs in results.items():
        m = median(runs)
        mariadb = "mariadb" in name.lower()
        base = my_base if mariadb else pg_base
        vs_restore = "-" if mariadb else f"{m / restore:.2f}"
        peak = "-"
        if name in rss:
            peak = f"{max(p for p, _ in rss[name])} / {max(r for _, r in rss[name])} MB"
        rows.append((name, f"{m:.1f}", f"{m / base:.2f}" if base else "-", vs_restore, peak))
    print(table(rows, ("method", "median s", "x baseline", "x dump+restore",
                       "peak PSS / RSS")))
    print("baseline: pg_dump | psql for PostgreSQL rows, mariadb-dump | mariadb for MariaDB")
    path = save("clone_vs_dump", {"args": vars(args), "seconds": results,
                                  "peak_pss_rss_mb": rss})
    print(f"results: {path}")


def mysql_runs(args: argparse.Namespace, work: Path,
               rss: dict[str, list[list[int]]]) -> dict[str, list[float]]:
    conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{MY_SRC}`")
        cur.execute(f"CREATE DATABASE `{MY_SRC}`")
        cur.execute(f"USE `{MY_SRC}`")
        cur.execute("CREATE TABLE people (id bigint PRIMARY KEY, first_name varchar(40), "
                    "last_name varchar(40), email varchar(80) UNIQUE, phone varchar(20), "
                    "ssn varchar(11), birth_date date, notes text)")
        batch = 10000
        for start in range(0, args.mysql_rows, batch):
            values = ",".join(
                f"({i},'First{i % 7919}','Last{i % 104729}','user{i}@corp.example',"
                f"'+1 503 555 {i % 10000:04d}','{i % 1000:03d}-{i % 100:02d}-{i % 10000:04d}',"
                f"DATE_ADD('1940-01-01', INTERVAL {i % 25000} DAY),REPEAT(MD5({i}),9))"
                for i in range(start + 1, min(start + batch, args.mysql_rows) + 1))
            cur.execute(f"INSERT INTO people VALUES {values}")
    masked = {k.replace("public.", ""): v for k, v in MASKED.items()}
    ws = ws_file(work, MY_SRC, MY_DST, masked, "mysql")
    out: dict[str, list[float]] = {"mariadb-dump | mariadb": [], "dbclone MariaDB masked": []}
    rss["dbclone MariaDB masked"] = []
    for _ in range(args.repeat):
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{MY_DST}`")
            cur.execute(f"CREATE DATABASE `{MY_DST}`")
        record(out, "mariadb-dump | mariadb", timed(lambda: sh(
            f"mariadb-dump -h127.0.0.1 -uroot --single-transaction {MY_SRC} | "
            f"mariadb -h127.0.0.1 -uroot {MY_DST}")))
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{MY_DST}`")
        secs, *peak = run_cli(["clone", str(ws)])
        record(out, "dbclone MariaDB masked", secs)
        rss["dbclone MariaDB masked"].append(peak)
    conn.close()
    return out


def drop_mysql() -> None:
    """The MariaDB databases, if this run made them (also after an error or Ctrl-C)."""
    try:
        conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    except pymysql.Error:
        return  # never reached the server: nothing was made there
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{MY_DST}`")
        cur.execute(f"DROP DATABASE IF EXISTS `{MY_SRC}`")
    conn.close()


if __name__ == "__main__":
    main()
