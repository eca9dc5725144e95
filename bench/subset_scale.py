"""Subset at scale (issue 3): a 1% subset against a full clone of the same database, in the
same run, with dbclone's wall time and peak memory (PSS and RSS of all its processes) for each.

    python -m bench.subset_scale [--parents 5000000] [--children 10000000] [--percent 1]
                                 [--repeat 3]

Builds ``parent`` (--parents rows) and ``child`` (--children rows, each referencing a
parent; indexed on the FK, as any real schema would be) with generate_series in a database
of its own, then runs ``dbclone clone`` of the whole database and ``dbclone clone`` with
``subset: {root_table: parent, target_size: 1%}``; also ``dbclone plan`` of the whole
database, the fixed cost every run pays first (start-up, introspection, the privacy gate's
sampling). Targets: the subset takes <= 10% of the full clone's time, and dbclone's peak
memory stays under 500 MB. The subset's time is the median of --repeat runs (run first,
each after a CHECKPOINT). Every clone writes a destination that does not exist yet:
replacing one adds its DROP DATABASE, which on PostgreSQL 15 forces a checkpoint.
Every database it made is dropped at the end. Results: a table on
stdout, JSON in bench/results/subset_scale.json.
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

from bench.common import (
    drop_db,
    dropped_after,
    fresh_db,
    pg,
    positive,
    run_cli,
    save,
    table,
    workspace_url,
)

SRC = "dbclone_bench_subset_src"
FULL = "dbclone_bench_subset_full"
PART = "dbclone_bench_subset_part"

# the dbclone next to this interpreter, whether or not its virtualenv is activated
PATH_ENV = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

SCHEMA = """
CREATE TABLE parent (id bigint PRIMARY KEY, name text NOT NULL, created date NOT NULL);
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint NOT NULL, amount numeric(12, 2),
                    note text);
"""
FILL = """
INSERT INTO parent SELECT g, 'name ' || g, date '2000-01-01' + (g % 9000)
FROM generate_series(1, {parents}) g;
INSERT INTO child SELECT g, (g::bigint * 7919) % {parents} + 1, (g % 100000) / 100.0,
                         md5(g::text)
FROM generate_series(1, {children}) g;
ALTER TABLE child ADD FOREIGN KEY (parent_id) REFERENCES parent (id);
CREATE INDEX child_parent_id ON child (parent_id);
VACUUM ANALYZE parent;
VACUUM ANALYZE child;
"""


def build(parents: int, children: int) -> float:
    t0 = time.perf_counter()
    fresh_db(SRC)
    with pg(SRC) as c:
        c.execute(SCHEMA)
        for stmt in FILL.format(parents=parents, children=children).split(";"):
            if stmt.strip():
                c.execute(stmt)
    return time.perf_counter() - t0


def workspace(directory: Path, dst: str, subset: dict | None) -> Path:
    doc: dict = {"workspace": "bench-subset", "source": {"url": workspace_url(SRC)},
                 "destination": {"url": workspace_url(dst)}, "on_unconfigured": "keep"}
    if subset is not None:
        doc["subset"] = subset
    path = directory / f"{dst}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def settle() -> None:
    """Flush what earlier steps wrote, so no run pays for another's write-back."""
    with pg() as c:
        c.execute("CHECKPOINT")


def counts(db: str) -> tuple[int, int]:
    with pg(db) as c:
        return (c.execute("SELECT count(*) FROM parent").fetchone()[0],
                c.execute("SELECT count(*) FROM child").fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--parents", type=positive, default=5_000_000, help="rows of parent")
    ap.add_argument("--children", type=positive, default=10_000_000,
                    help="rows of child (each references one parent)")
    ap.add_argument("--percent", type=float, default=1.0, help="subset size: %% of parent")
    ap.add_argument("--repeat", type=positive, default=3, help="subset runs (the median counts)")
    args = ap.parse_args()
    if not 0 < args.percent <= 100:
        ap.error(f"argument --percent: must be above 0 and at most 100, got {args.percent:g}")
    try:
        with dropped_after(PART, FULL, SRC):
            for db in (PART, FULL):  # left over from a run that was killed hard
                drop_db(db)
            print(f"building {args.parents:,} parents and {args.children:,} children ...",
                  flush=True)
            build_s = build(args.parents, args.children)
            print(f"built in {build_s:.1f}s", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                full_ws = workspace(Path(tmp), FULL, None)
                part_ws = workspace(Path(tmp), PART, {"root_table": "public.parent",
                                                      "target_size": f"{args.percent:g}%",
                                                      "seed": 1})
                # What every run pays before copying anything (start-up, introspection, the
                # privacy gate's sampling): the part of either clone no subset can shorten.
                settle()
                plan_s, *_ = run_cli(["plan", str(full_ws)], PATH_ENV)
                print(f"plan (fixed cost): {plan_s:.1f}s", flush=True)
                # The subsets first, each after a checkpoint: the full clone writes gigabytes,
                # and its write-back would otherwise land on whatever runs next.
                part_runs = []
                for _ in range(args.repeat):
                    drop_db(PART)  # every run creates its destination, as the full clone does
                    settle()
                    part_runs.append(run_cli(["clone", str(part_ws)], PATH_ENV))
                    print(f"subset clone: {part_runs[-1][0]:.1f}s, PSS {part_runs[-1][1]} MB, "
                          f"RSS {part_runs[-1][2]} MB", flush=True)
                part_s = statistics.median(s for s, _, _ in part_runs)
                part_pss = max(p for _, p, _ in part_runs)
                part_mb = max(r for _, _, r in part_runs)
                settle()
                full_s, full_pss, full_mb = run_cli(["clone", str(full_ws)], PATH_ENV)
                print(f"full clone: {full_s:.1f}s, PSS {full_pss} MB, RSS {full_mb} MB",
                      flush=True)
            full_rows, part_rows = counts(FULL), counts(PART)
            wanted = round(args.parents * args.percent / 100)
            assert full_rows == (args.parents, args.children), full_rows
            assert abs(part_rows[0] - wanted) <= wanted / 100, (part_rows, wanted)  # within 1%
    except subprocess.CalledProcessError as exc:
        print(f"dbclone {' '.join(exc.cmd[4:])} failed (exit {exc.returncode}):\n"
              f"{exc.stderr}", file=sys.stderr)
        raise SystemExit(1) from None
    ratio = part_s / full_s
    beyond = (part_s - plan_s) / (full_s - plan_s)
    rows = [("full clone", f"{sum(full_rows):,}", f"{full_s:.1f}", "1.00",
             f"{full_pss} / {full_mb}"),
            (f"{args.percent:g}% subset", f"{sum(part_rows):,}", f"{part_s:.1f}",
             f"{ratio:.3f}", f"{part_pss} / {part_mb}")]
    rows.append(("plan only (fixed cost)", "0", f"{plan_s:.1f}", f"{plan_s / full_s:.3f}", "-"))
    print(table(rows, ("run", "rows written", "seconds", "vs full", "peak PSS / RSS MB")))
    print(f"beyond the fixed cost: the subset takes {100 * beyond:.1f}% of the full clone's time")
    print(f"targets: subset <= 10% of the full clone's time: {'met' if ratio <= 0.10 else 'MISSED'}"
          f" ({100 * ratio:.1f}%); peak RSS (every process counted whole) < 500 MB: "
          f"{'met' if max(full_mb, part_mb) < 500 else 'MISSED'}")
    path = save("subset_scale", {
        "parents": args.parents, "children": args.children, "percent": args.percent,
        "build_seconds": round(build_s, 1),
        "full": {"seconds": round(full_s, 2), "peak_rss_mb": full_mb, "peak_pss_mb": full_pss,
                 "rows": {"parent": full_rows[0], "child": full_rows[1]}},
        "subset": {"seconds": round(part_s, 2), "peak_rss_mb": part_mb, "peak_pss_mb": part_pss,
                   "runs_seconds": [round(s, 2) for s, _, _ in part_runs],
                   "rows": {"parent": part_rows[0], "child": part_rows[1]}},
        "plan_seconds": round(plan_s, 2),
        "subset_vs_full": round(ratio, 4), "subset_vs_full_beyond_plan": round(beyond, 4)})
    print(f"results: {path}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: the benchmark's databases are dropped", file=sys.stderr)
        raise SystemExit(130) from None
