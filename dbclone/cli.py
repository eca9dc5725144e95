"""The command line. The only module that prints or exits; everything else raises."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable
from rich.text import Text

from dbclone import __version__, commands, native, pipeline
from dbclone.config.privacy import DEFAULT_SAMPLE
from dbclone.errors import DbcloneError, LeakDetected, SchemaDrift
from dbclone.introspect.snapshot import Table
from dbclone.subset import SubsetPlan
from dbclone.subset.report import rows_text, share_text, subset_data

# markup off: table and column names such as "[x]" must print as they are
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


class _State:
    traceback = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dbclone")
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
def cli(traceback: bool) -> None:
    """dbclone: clone a database into a masked dev/test copy."""
    _State.traceback = traceback
    problem = native.check_setting()
    if problem is not None:
        err.print(f"warning: {problem}", highlight=False, markup=False)


@cli.command("inspect")
@click.argument("workspace", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def inspect_cmd(workspace: str, as_json: bool) -> None:
    """Show the source's tables, row estimates, foreign keys and cycles."""
    data = commands.inspect(commands.load(workspace))
    if as_json:
        out.print_json(json.dumps(data))
        return
    out.print(f"{data['source']} ({data['dialect']}), schemas: {', '.join(data['schemas'])}",
              style="bold")
    t = RichTable("table", "kind", "rows (est.)", "columns", "primary key")
    for row in data["tables"]:
        t.add_row(row["table"], row["kind"], _n(row["rows_estimate"]), str(len(row["columns"])),
                  ", ".join(row["primary_key"]))
    out.print(t)
    if data["foreign_keys"]:
        f = RichTable("foreign key", "from", "to", "nullable", "deferrable")
        for fk in data["foreign_keys"]:
            f.add_row(fk["name"], f"{fk['from']}({', '.join(fk['columns'])})",
                      f"{fk['to']}({', '.join(fk['ref_columns'])})", _yn(fk["nullable"]),
                      _yn(fk["deferrable"]))
        out.print(f)
    for c in data["cycles"]:
        out.print(f"cycle: {' <-> '.join(c)}")
    for s in data["self_references"]:
        out.print(f"self-reference: {s}")
    for b in data["cycle_breaks"]:
        out.print(f"cycle broken at: {b}")
    _print_findings(data["findings"])


@cli.command("plan")
@click.argument("workspace", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def plan_cmd(workspace: str, as_json: bool) -> None:
    """Show what clone would do. Nothing is written."""
    p = commands.plan(commands.load(workspace))
    rows = []
    for t in p.tables_in_order():
        gens = p.masking.for_table(t.ref)
        rows.append({"table": str(t.ref), "rows_estimate": t.row_estimate,
                     "masked": {c: g.name for c, g in gens.items()}})
    if as_json:
        out.print_json(json.dumps({
            "source": str(p.source_url), "destination": str(p.destination_url),
            "tables": rows, "cycle_breaks": [fk.describe() for fk in p.load.broken],
            "subset": subset_data(p.subset) if p.subset is not None else None,
            "findings": [f.__dict__ for f in p.findings]}))
        return
    out.print(f"clone {p.source_url} -> {p.destination_url}", style="bold")
    t = RichTable("#", "table (load order)", "rows (est.)", "masked columns")
    for i, r in enumerate(rows, 1):
        t.add_row(str(i), r["table"], _n(r["rows_estimate"]),
                  ", ".join(f"{c}: {g}" for c, g in r["masked"].items()) or "-")
    out.print(t)
    for fk in p.load.broken:
        out.print(f"cycle broken at: {fk.describe()}")
    if p.subset is not None:
        _print_subset(p.subset)
    _print_findings([f.__dict__ for f in p.findings])
    out.print("nothing written (plan only)")


def _print_subset(plan: SubsetPlan) -> None:
    data = subset_data(plan)
    t = RichTable()
    # names in full, wrapped rather than cut, however narrow the terminal
    t.add_column("table", overflow="fold")
    for header in ("rows in source", "selected", "share"):
        t.add_column(header)
    t.add_column("why", overflow="fold")
    for r in data["tables"]:
        t.add_row(r["table"], rows_text(r["source_rows"], r["source_rows_exact"]),
                  rows_text(r["selected_rows"], r["selected_exact"]),
                  share_text(r["selected_rows"], r["source_rows"]), r["why"])
    out.print(t)
    out.print(f"subset: {data['summary']}")


class _CliObserver(pipeline.RunObserver):
    """Progress bars on a terminal; plain periodic lines otherwise."""

    def __init__(self) -> None:
        self.live = err.is_terminal
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), _RateColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), console=err,
                                 transient=False) if self.live else None
        self.tasks: dict[str, TaskID] = {}
        self._last: dict[str, float] = {}  # per table: one busy table must not mute the rest
        self._counts: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._totals: dict[str, int | None] = {}

    def __enter__(self) -> _CliObserver:
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress:
            self.progress.stop()

    def stage(self, name: str) -> None:
        if self.progress:  # above the bars, which stay where they are
            self.progress.console.print(f"stage: {name}", highlight=False, markup=False)
        else:
            err.print(f"stage: {name}", highlight=False, markup=False)

    def table_started(self, table: Table, rows: int | None = None) -> None:
        key = str(table.ref)
        total = rows if rows is not None else table.row_estimate or None
        self._counts[key] = 0
        self._started[key] = time.monotonic()
        self._totals[key] = total
        if self.progress:
            self.tasks[key] = self.progress.add_task(key, total=total)

    def rows_copied(self, table: Table, n: int) -> None:
        key = str(table.ref)
        self._counts[key] = self._counts.get(key, 0) + n
        if self.progress:
            self.progress.advance(self.tasks[key], n)
        elif time.monotonic() - self._last.get(key, 0.0) > 5:
            self._last[key] = now = time.monotonic()
            err.print(_progress_line(key, self._counts[key], self._totals.get(key),
                                     now - self._started.get(key, now)),
                      highlight=False, markup=False)

    def table_finished(self, table: Table, report: pipeline.TableReport) -> None:
        if self.progress:
            self.progress.update(self.tasks[str(table.ref)], total=report.rows_written,
                                 completed=report.rows_written)
        else:
            err.print(f"{table.ref}: {report.rows_written:,} rows in {report.seconds:.1f} s",
                      highlight=False, markup=False)


class _RateColumn(ProgressColumn):
    """Rows per second of one table."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "")


def _progress_line(table: str, done: int, total: int | None, seconds: float) -> str:
    """The periodic line printed instead of a bar when stderr is not a terminal."""
    rate = done / seconds if seconds > 0 else 0.0
    line = f"{table}: {done:,} rows"
    if total:
        line += f" of ~{total:,}"
    if rate:
        line += f", {rate:,.0f} rows/s"
        if total and total > done:
            line += f", about {int((total - done) / rate)} s left"
    return line


@cli.command("clone")
@click.argument("workspace", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--as-template", is_flag=True,
              help="Build the workspace's template for branch databases instead "
                   "(see 'dbclone env').")
@click.option("--no-audit", is_flag=True,
              help="Skip the leak audit of the copy for this run.")
@click.option("--report", "report_paths", multiple=True, metavar="PATH",
              type=click.Path(dir_okay=False),
              help="Also write a report of the run to PATH: .html (one self-contained page "
                   "with the FK graph) or .json; repeatable. Written when the leak audit "
                   "fails too.")
def clone_cmd(workspace: str, as_json: bool, as_template: bool, no_audit: bool,
              report_paths: tuple[str, ...]) -> None:
    """Clone the source into the destination, masked; then audit the copy for leaks."""
    from dbclone import report as run_report

    paths = run_report.check_paths(report_paths)  # before anything runs
    config = commands.load(workspace)
    if no_audit:
        config = commands.without_audit(config)
    started_at, t0 = datetime.now().astimezone(), time.monotonic()
    try:
        with _CliObserver() as obs:
            if as_template:
                from dbclone.envs import build_template

                report = build_template(config, obs)
            else:
                report = commands.clone(config, obs)
    except LeakDetected as exc:
        if as_json and isinstance(exc.report, pipeline.CloneReport):
            _print_report(exc.report, as_json)  # the audit's counts and keys, for CI
        if paths and isinstance(exc.report, pipeline.CloneReport):
            # CI keeps the report of a failed audit: where the leaks are, never the values
            try:
                run_report.write_reports(exc.report, paths, started_at=started_at,
                                         seconds=time.monotonic() - t0, error=exc)
            except DbcloneError as failed:  # the leak stays the error (and its exit code)
                err.print(f"warning: {failed}", highlight=False, markup=False)
            else:
                for p in paths:
                    err.print(f"report written to {p} (the leak audit's findings, no values)",
                              highlight=False, markup=False)
        raise
    _print_report(report, as_json)
    if paths:
        run_report.write_reports(report, paths, started_at=started_at)
        for p in paths:
            # stdout holds only the JSON summary with --json
            (err if as_json else out).print(f"report written to {p}", highlight=False,
                                            markup=False)


@cli.command("init")
@click.option("--source", "source_url", required=True, metavar="URL",
              help="The database to classify (read only).")
@click.option("-o", "--output", default="workspace.yaml", show_default=True,
              type=click.Path(dir_okay=False),
              help="The workspace to write; the schema lock goes beside it "
                   "(NAME.lock.json).")
@click.option("--destination", "destination_url", metavar="URL",
              help="The masked copy's URL (default: the source's name + _masked).")
@click.option("--sample", type=int, default=DEFAULT_SAMPLE, show_default=True,
              help="Values sampled per column to detect personal data.")
@click.option("--schema", "schemas", multiple=True, metavar="S",
              help="Classify this schema only (repeatable; default: every schema).")
@click.option("--force", is_flag=True, help="Replace an existing workspace and lock.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init_cmd(source_url: str, output: str, destination_url: str | None, sample: int,
             schemas: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Find the source's sensitive columns and write a complete workspace and schema lock."""
    r = commands.init(source_url, output, destination_url=destination_url, sample=sample,
                      schemas=list(schemas) or None, force=force)
    flagged = [{"column": str(c.ref), "kind": c.detection.kind if c.detection else None,
                "matched": c.detection.matched if c.detection else 0,
                "sampled": c.detection.sampled if c.detection else 0,
                "generator": (c.suggestion.generator if c.suggestion is not None
                              else "follows " + str(c.follows) if c.follows is not None
                              else "keep")}
               for c in r.flagged]
    if as_json:
        out.print_json(json.dumps({
            "workspace": str(r.workspace), "lock": str(r.lock), "source": r.source,
            "destination": r.destination, "tables": r.tables, "columns": len(r.choices),
            "flagged": flagged, "password_var": r.password_var,
            "seconds": round(r.seconds, 3)}))
        return
    # names, kinds and counts only: a sampled value is never printed
    t = RichTable("sensitive column", "kind", "matched / sampled", "generator")
    t.columns[0].overflow = "fold"  # names in full, wrapped rather than cut
    for f in flagged:
        t.add_row(f["column"], f["kind"] or "-",
                  f"{f['matched']:,} / {f['sampled']:,}" if f["sampled"] else "by name",
                  f["generator"])
    if flagged:
        out.print(t)
    out.print(f"{len(flagged)} of {len(r.choices):,} columns in {r.tables} tables look "
              f"sensitive; the others are keep")
    out.print(f"wrote {r.workspace} (workspace) and {r.lock} (schema lock)")
    if r.password_var:
        out.print(f"the source password is not in the file: set {r.password_var}")
    out.print(f"review it, then: dbclone validate {r.workspace}")


@cli.command("validate")
@click.argument("workspace", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def validate_cmd(workspace: str, as_json: bool) -> None:
    """Check the workspace against the source's schema (the drift gate), for CI. Exit code 7
    when a column stops the run. Nothing is written."""
    v = commands.validate(commands.load(workspace))
    if as_json:
        out.print_json(json.dumps(v.to_json()))
    else:
        lock = f", schema lock {v.gate.lock}" if v.gate.lock else ", no schema lock"
        out.print(f"validate {v.workspace}: {v.source}, {v.tables} tables, "
                  f"{v.gate.columns_checked} columns checked{lock}", style="bold")
        # one line per column (CI logs are read with grep): names, kinds, counts; no values
        for f in v.findings:
            out.print(f"{'blocks' if f.policy == 'fail' else 'warning'}: {f.describe()}")
        for name, kind, reason in v.kept_sensitive:
            err.print(f"warning: {name}: kept by a keep rule but looks like {kind} "
                      f"({reason}); the leak audit fails the clone on it unless audit.allow "
                      "lists it", highlight=False, markup=False)
        _print_findings([f.__dict__ for f in v.warnings])
        if v.ok:
            handled = len(v.findings)
            out.print("ok: nothing blocks" + (f" ({handled} column{'s' if handled > 1 else ''} "
                                             "handled by on_unconfigured)" if handled else "")
                      + "; nothing written")
    if not v.ok:
        n = len(v.blocking)
        raise SchemaDrift(
            f"{v.workspace}: {n} column{'s' if n > 1 else ''} the workspace does not cover: "
            + ", ".join(f.name for f in v.blocking),
            hint="add a rule for each (the suggested generator, or keep when it holds "
                 "nothing personal), or set on_unconfigured: mask | null | keep",
            gate=v.gate)


@cli.command("generators")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def generators_cmd(name: str | None, as_json: bool) -> None:
    """List the generator catalogue, or show one generator."""
    entries = commands.generators(name)
    if as_json:
        out.print_json(json.dumps(entries))
        return
    if name:
        e = entries[0]
        out.print(e["name"], style="bold")
        out.print(f"\n{e['doc']}\n")
        out.print(f"column types: {', '.join(e['accepts'])}")
        for k, v in e["options"].items():
            out.print(f"  {k}: {v}")
        return
    t = RichTable("generator", "what it does", "types")
    for e in entries:
        t.add_row(e["name"], e["summary"], ", ".join(e["accepts"]))
    out.print(t)


@cli.command("demo")
@click.option("--dir", "workdir", type=click.Path(file_okay=False), default="demo-out",
              show_default=True, help="Where to write clinic.db and its masked copy.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo_cmd(workdir: str, as_json: bool) -> None:
    """Build a sample clinic SQLite database and clone it masked. No server needed."""
    from dbclone import demo

    with _CliObserver() as obs:
        report = demo.run_demo(Path(workdir), observer=obs)
    _print_report(report, as_json)


def _print_report(report: pipeline.CloneReport, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps({
            "destination": str(report.plan.destination_url),
            "seconds": round(report.seconds, 3),
            "native": native.status(),  # masking through the C module, or why not
            "tables": [{"table": str(t.table), "rows_read": t.rows_read,
                        "rows_written": t.rows_written, "columns_masked": t.columns_masked,
                        "columns_pushed_down": t.pushed, "workers": t.workers,
                        "seconds": round(t.seconds, 3)} for t in report.tables],
            "subset": (report.plan.subset.summary() if report.plan.subset is not None
                       else None),
            "findings": [f.__dict__ for f in report.findings],
            "audit": report.audit.to_json() if report.audit is not None else None}))
        return
    t = RichTable("table", "rows read", "rows written", "columns masked", "seconds")
    for r in report.tables:
        t.add_row(str(r.table), str(r.rows_read), str(r.rows_written), str(r.columns_masked),
                  f"{r.seconds:.2f}")
    out.print(t)
    _print_findings([f.__dict__ for f in report.findings])
    if report.plan.subset is not None:
        out.print(f"subset: {report.plan.subset.summary()}")
    out.print(audit_line(report))
    out.print(f"cloned into {report.plan.destination_url} in {report.seconds:.1f}s")


def audit_line(report: pipeline.CloneReport) -> str:
    """The leak audit in one line: counts only, never a value."""
    a = report.audit
    if a is None:
        return ("audit: off (--no-audit or audit.enabled: false)"
                if not report.plan.config.audit.enabled else "audit: not run")
    sampled = sum(c.sampled for c in a.columns)
    failing = sum(c.leaked_rows for c in a.failing)
    allowed = sum(c.leaked_rows for c in a.columns if c.allowed)
    line = (f"audit: {len(a.columns)} column{'s' if len(a.columns) != 1 else ''} audited, "
            f"{sampled:,} values sampled, leaks {failing}")
    if allowed:
        line += f" ({allowed} allowed by audit.allow or on_unconfigured: keep)"
    return line + f" ({a.seconds:.1f}s)"


def _print_findings(findings: list[dict[str, Any]]) -> None:
    for f in findings:
        err.print(f"{f['level']}: {f['where']}: {f['message']}", highlight=False, markup=False)


def _n(v: int | None) -> str:
    return "?" if v is None or v < 0 else f"{v:,}"


def _yn(v: bool) -> str:
    return "yes" if v else "no"


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (CI timeouts, kill) cleans up like Ctrl-C: the pipeline aborts the writer.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal

    with contextlib.suppress(ValueError):  # not the main thread (embedded use): skip
        signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=argv, prog_name="dbclone", standalone_mode=False)
    except DbcloneError as exc:
        if _State.traceback:
            # the traceback, then the same message and exit code as without the flag
            import traceback

            traceback.print_exc()
        err.print(f"error: {exc}", highlight=False, markup=False)
        if exc.hint:
            err.print(f"hint: {exc.hint}", highlight=False, markup=False)
        return exc.exit_code
    except click.exceptions.Abort:
        err.print("error: interrupted", highlight=False, markup=False)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("error: interrupted", highlight=False, markup=False)
        return 130
    return 0


from dbclone.env_cli import env as _env_group  # noqa: E402
from dbclone.env_cli import template as _template_group  # noqa: E402
from dbclone.redact_cli import redact_command as _redact_command  # noqa: E402

cli.add_command(_env_group)
cli.add_command(_template_group)
cli.add_command(_redact_command)

if __name__ == "__main__":
    sys.exit(main())
