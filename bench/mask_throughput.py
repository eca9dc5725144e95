"""Masking throughput (issue 4): a 1,000,000-row PostgreSQL table with four masked columns
(name, email, phone, date_shift) against the raw COPY of the same table, in the same run.

    python -m bench.mask_throughput [--rows 1000000] [--repeat 3]

Three measurements, each the median of --repeat runs, all copying the same table between two
databases on the local server:
- raw COPY: psycopg streaming ``COPY TO STDOUT`` into ``COPY FROM STDIN`` (no parsing);
- dbclone unmasked: the table's copy step of ``dbclone clone`` with no rules;
- dbclone masked: the same with the four columns masked.
Target: masked >= 50% of raw throughput.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml

from bench.common import (
    cli_env,
    dropped_after,
    fresh_db,
    median_of,
    pg,
    positive,
    save,
    table,
    workspace_url,
)
from dbclone import pipeline
from dbclone.config import load_workspace

SRC, DST = "dbclone_bench_mask_src", "dbclone_bench_mask_dst"

SETUP = """
CREATE TABLE people (
  id bigint PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,
  email text NOT NULL, phone text, birth_date date, city text, notes text);
INSERT INTO people
SELECT g, 'First' || g, 'Last' || (g % 5000), 'user' || g || '@corp.example',
       '+1 503 ' || lpad((g % 10000000)::text, 7, '0'), date '1940-01-01' + (g % 25000),
       'City' || (g % 300), repeat('note ', 10)
FROM generate_series(1, %(n)s) g;
"""


def build(n: int) -> None:
    fresh_db(SRC)
    with pg(SRC) as c:
        c.execute(SETUP.replace("%(n)s", str(n)))
        c.execute("ANALYZE people")


def raw_copy() -> None:
    fresh_db(DST)
    with pg(DST) as d:
        d.execute("CREATE TABLE people (id bigint, first_name text, last_name text, email text,"
                  " phone text, birth_date date, city text, notes text)")
    with pg(SRC) as s, pg(DST) as d, s.cursor().copy("COPY people TO STDOUT") as out, \
            d.cursor().copy("COPY people FROM STDIN") as into:
        for block in out:
            into.write(block)


def dbclone_copy(rules: dict[str, object], work: Path) -> float:
    ws = work / "ws.yaml"
    ws.write_text(yaml.safe_dump({
        "workspace": "bench", "source": {"url": workspace_url(SRC)},
        "destination": {"url": workspace_url(DST)}, "generators": rules,
        # the unmasked columns are on purpose: the privacy gate must not stop a benchmark
        "on_unconfigured": "keep"}))
    report = pipeline.run(load_workspace(ws))
    return next(t.seconds for t in report.tables if t.table.name == "people")


MASKED = {
    "people.first_name": "fake_first_name",
    "people.email": "fake_email",
    "people.phone": "fake_phone",
    "people.birth_date": {"type": "date_shift", "key": "id"},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("--rows", type=positive, default=1_000_000)
    ap.add_argument("--repeat", type=positive, default=3)
    args = ap.parse_args()
    os.environ.update(cli_env())  # the workspace's ${DBCLONE_BENCH_PASSWORD}, if any
    with dropped_after(DST, SRC):
        build(args.rows)
        raw, raw_runs = median_of(args.repeat, raw_copy)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            plain_runs = [dbclone_copy({}, work) for _ in range(args.repeat)]
            masked_runs = [dbclone_copy(MASKED, work) for _ in range(args.repeat)]
    import statistics

    plain, masked = statistics.median(plain_runs), statistics.median(masked_runs)
    n = args.rows
    rows = [("raw COPY -> COPY", f"{raw:.2f}", f"{n / raw:,.0f}", "1.00"),
            ("dbclone unmasked", f"{plain:.2f}", f"{n / plain:,.0f}", f"{raw / plain:.2f}"),
            ("dbclone 4 masked", f"{masked:.2f}", f"{n / masked:,.0f}", f"{raw / masked:.2f}")]
    print(table(rows, ("copy of people", "seconds", "rows/s", "x raw throughput")))
    print(f"target: masked >= 0.50 x raw throughput -> {raw / masked:.2f}")
    path = save("mask_throughput", {"rows": n, "raw": raw_runs, "dbclone_unmasked":
                                    plain_runs, "dbclone_masked": masked_runs,
                                    "masked_vs_raw_throughput": raw / masked})
    print(f"results: {path}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: the benchmark's databases are dropped", file=sys.stderr)
        raise SystemExit(130) from None
