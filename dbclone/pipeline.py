"""The whole flow on one screen: ``plan()`` works out what will happen, ``run()`` does it.

config -> introspect -> graph -> (subset) -> transform -> write
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from dbclone.config import WorkspaceConfig
from dbclone.dialects import get_dialect, parse_url
from dbclone.dialects.base import (
    CopyJob,
    DatabaseURL,
    DestinationWriter,
    Finding,
    SourceReader,
    TableCopyResult,
)
from dbclone.errors import (
    CloneFailed,
    ConfigError,
    DbcloneError,
    Interrupted,
    LeakDetected,
    PlanError,
)
from dbclone.gate.audit import AuditResult, audit_clone, sample_source
from dbclone.gate.drift import GateResult, check_drift, with_gate_rules
from dbclone.graph import LoadPlan, build_graph, load_plan
from dbclone.introspect.snapshot import SchemaSnapshot, Table, TableRef
from dbclone.subset import Selection, SubsetPlan, plan_subset, with_nulls
from dbclone.subset import select as select_subset
from dbclone.transform import ColumnMasker, MaskingPlan, resolve_rules


@dataclass
class ClonePlan:
    """What a clone will do; computed without writing anything."""

    config: WorkspaceConfig
    source_url: DatabaseURL
    destination_url: DatabaseURL
    snapshot: SchemaSnapshot
    load: LoadPlan
    masking: MaskingPlan
    findings: list[Finding] = field(default_factory=list)
    subset: SubsetPlan | None = None  # only with a subset: section
    selection: Selection | None = None  # the subset's rows, once selected (owns a key store)
    gate: GateResult | None = None  # the drift gate's findings (dbclone/gate/drift.py)

    def tables_in_order(self) -> list[Table]:
        return [self.snapshot.tables[ref] for ref in self.load.order]


@dataclass
class TableReport:
    table: TableRef
    rows_read: int
    rows_written: int
    columns_masked: int
    seconds: float
    workers: int = 0  # worker processes that copied it (0: the main process)
    pushed: int = 0  # masked columns the source computed itself (source.pushdown)


@dataclass
class CloneReport:
    plan: ClonePlan
    tables: list[TableReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    audit: AuditResult | None = None  # the leak audit (dbclone/gate/audit.py), when it ran
    stage_seconds: dict[str, float] = field(default_factory=dict)  # plan, copy, audit


class RunObserver:
    """Hooks the CLI uses for progress bars; the library never prints."""

    def table_started(self, table: Table, rows: int | None = None) -> None:
        """``rows``: how many rows the copy will write, when known (a subset's selected
        count, or the planner's estimate of a leaf child its copy counts), else None: the
        table's own estimate is the best guess."""

    def rows_copied(self, table: Table, n: int) -> None: ...

    def table_finished(self, table: Table, report: TableReport) -> None: ...

    def stage(self, name: str) -> None: ...


def urls(config: WorkspaceConfig) -> tuple[DatabaseURL, DatabaseURL]:
    src = parse_url(config.source.url, what=f"{config.path}: source.url")
    dst = parse_url(config.destination.url, what=f"{config.path}: destination.url")
    if src.dialect != dst.dialect:
        raise ConfigError(
            f"{config.path}: source is {src.dialect} but destination is {dst.dialect}",
            hint="clone into a database of the same kind as the source",
        )
    if _same_database(src, dst):
        raise ConfigError(f"{config.path}: destination is the source database ({src})",
                          hint="point destination.url at another database name")
    return src, dst


def _same_database(a: DatabaseURL, b: DatabaseURL) -> bool:
    if a.dialect == "sqlite":
        from pathlib import Path

        return Path(a.database).resolve() == Path(b.database).resolve()
    return (a.host or "localhost", a.port, a.database) == (b.host or "localhost", b.port,
                                                           b.database)


def introspect(config: WorkspaceConfig, source: SourceReader) -> SchemaSnapshot:
    return source.introspect(config.source.schemas, config.source.exclude_schemas)


def make_plan(config: WorkspaceConfig, source: SourceReader, src: DatabaseURL,
              dst: DatabaseURL) -> ClonePlan:
    snapshot = introspect(config, source)
    _check_readable(config, snapshot, source)
    graph = build_graph(snapshot)
    dialect = get_dialect(src.dialect)
    load, graph_findings = load_plan(graph, snapshot,
                                     strict=not dialect.constraints_after_data)
    masking = resolve_rules(config, snapshot)
    # The drift gate, before any data moves: columns the workspace does not cover stop the
    # run (on_unconfigured: fail) or get the policy's rule.
    gate = check_drift(config, snapshot, source, masking)
    if gate.added_rules:
        masking = resolve_rules(with_gate_rules(config, gate), snapshot)
    _column_facts(masking, snapshot, source, dialect.name)
    # Subset last: names, where and cycles are checked on the source; a small database is
    # selected right away (exact counts for the plan), a large one estimated.
    subset, selection = (plan_subset(config.subset, snapshot, source, dialect.name)
                         if config.subset is not None else (None, None))
    return ClonePlan(config, src, dst, snapshot, load, masking,
                     findings=[*graph_findings, *masking.findings,
                               *(subset.findings if subset else []),
                               *(Finding("warning", f.name, f.describe())
                                 for f in gate.findings)],
                     subset=subset, selection=selection, gate=gate)


def _check_readable(config: WorkspaceConfig, snapshot: SchemaSnapshot,
                    source: SourceReader) -> None:
    """Every table the clone reads must be readable by the source user: say which are not,
    all at once, before anything is written (never skip one silently)."""
    from dbclone.gate.lock import data_tables

    denied = source.unreadable_tables(data_tables(snapshot))
    if denied:
        n = len(denied)
        raise PlanError(
            f"{config.path}: the source user may not read {n} table{'s' if n > 1 else ''}",
            hint="grant SELECT on them, or leave their schema out (source.schemas / "
                 "exclude_schemas); nothing was written",
            problems=[f"{ref}: no SELECT privilege on {what}" for ref, what in denied])


def _column_facts(masking: MaskingPlan, snapshot: SchemaSnapshot, source: SourceReader,
                  dialect: str) -> None:
    """Read what some generators need from the source, and check unique columns against
    each generator's value space, before any row moves."""
    problems = []
    for ref, gen, kind in masking.needing_stats():
        table = snapshot.tables[ref.table]
        try:
            stats = source.column_stats(table, ref.name, kind, gen.params.sample)
        except NotImplementedError:
            problems.append(f"{gen.ctx.where}: {ref}: {gen.name} is not available on "
                            f"{dialect} yet")
            continue
        gen.prepare(stats)
    for ref, gen in masking.capacity_checks(snapshot):
        space = gen.value_space() or 0
        estimate = snapshot.tables[ref.table].row_estimate
        if estimate is not None and 0 <= estimate <= space // 2:
            continue  # clearly enough room; no need to count
        try:
            needed = source.column_stats(snapshot.tables[ref.table], ref.name, "distinct",
                                         0)[0][1]
        except NotImplementedError:
            needed = estimate or 0
        if needed > space:
            problems.append(f"{gen.ctx.where}: {ref}: {gen.name} has ≈{space:,} values, "
                            f"column needs {needed:,} distinct (it is unique)")
    if problems:
        raise PlanError("the masking rules cannot be applied to this data",
                        hint="use a generator with a larger value space (hash, "
                             "format_preserving) for these columns", problems=problems)


def plan(config: WorkspaceConfig) -> ClonePlan:
    """Introspect the source and work out the clone, writing nothing."""
    src, dst = urls(config)
    dialect = get_dialect(src.dialect)
    with dialect.open_source(src) as source:
        the_plan = make_plan(config, source, src, dst)
    if the_plan.selection is not None:
        the_plan.selection.close()  # the counts stay in the plan
        the_plan.selection = None
    return the_plan


def run(config: WorkspaceConfig, observer: RunObserver | None = None) -> CloneReport:
    """Clone the source into the destination, masked. All or nothing."""
    observer = observer or RunObserver()
    started = time.monotonic()
    src, dst = urls(config)
    dialect = get_dialect(src.dialect)
    with dialect.open_source(src) as source:
        the_plan = make_plan(config, source, src, dst)
        report = CloneReport(plan=the_plan, findings=list(the_plan.findings))
        report.stage_seconds["plan"] = time.monotonic() - started
        writer = dialect.writer(dst, src)
        observer.stage("prepare")
        writer.prepare()
        try:
            if the_plan.subset is not None and the_plan.selection is None:
                observer.stage("subset")
                the_plan.selection = select_subset(the_plan.subset, source, dialect.name,
                                                   count_leaves=False)
            observer.stage("schema")
            writer.create_schema(source, the_plan.snapshot)
            report.tables = _copy_all(writer, source, the_plan, observer, report.findings)
            # audit the finished copy before it replaces the destination: a leak aborts
            # the writer, so the leaked copy is never swapped in. A writer that says when
            # the copy's keys are built has it audited while it gathers statistics.
            staged = writer.staged_url() if config.audit.enabled else None
            early: list[_EarlyAudit] = []
            if staged is not None:
                writer.keys_built = lambda: early.append(_EarlyAudit(report, source, staged))
            observer.stage("constraints")
            try:
                report.findings.extend(writer.finish(source, the_plan.snapshot))
            finally:
                writer.keys_built = None
                for audit in early:
                    audit.join()  # before an abort drops the database it reads
            report.stage_seconds["copy"] = time.monotonic() - started - \
                report.stage_seconds["plan"]
            if early:
                observer.stage("audit")
                _judge(report, early[0].result(), swapped=False)
            elif staged is not None:
                _audit(report, source, staged, observer, swapped=False)
            observer.stage("swap")
            writer.swap()
        except KeyboardInterrupt:
            writer.abort()
            raise Interrupted("interrupted: the half-built destination was removed",
                              hint="the previous destination, if any, is untouched") from None
        except DbcloneError:
            writer.abort()
            raise
        except Exception as exc:
            writer.abort()
            raise CloneFailed(f"clone failed: {exc.__class__.__name__}: {_safe(exc)}",
                              hint="the half-built destination was removed; "
                                   "rerun with --traceback for details") from exc
        finally:
            if the_plan.selection is not None:
                the_plan.selection.close()  # the key store: nothing of it outlives the run
        if config.audit.enabled and report.audit is None:
            _audit(report, source, dst, observer, swapped=True)
    report.seconds = time.monotonic() - started
    return report


def _audit(report: CloneReport, source: SourceReader, target: DatabaseURL,
           observer: RunObserver, *, swapped: bool) -> None:
    """The leak audit; raises LeakDetected (counts and keys, never values) on a leak."""
    observer.stage("audit")
    p = report.plan
    _judge(report, audit_clone(p.config, p.snapshot, p.masking, p.gate, source, target),
           swapped=swapped)


class _EarlyAudit:
    """The audit of the staged copy while the writer finishes it: the source is sampled
    here, in the caller's thread (the source connection is never shared between threads),
    and the copy is scanned by a thread on a connection of its own."""

    def __init__(self, report: CloneReport, source: SourceReader,
                 target: DatabaseURL) -> None:
        p = report.plan
        self._sample = sample_source(p.config, p.snapshot, p.masking, p.gate, source, target)
        self._result: AuditResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dbclone audit", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._sample.scan()
        except BaseException as exc:  # raised in the caller's thread by result()
            self._error = exc

    def join(self) -> None:
        self._thread.join()

    def result(self) -> AuditResult:
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


def _judge(report: CloneReport, audit: AuditResult, *, swapped: bool) -> None:
    """Record the audit; raises LeakDetected (counts and keys, never values) on a leak."""
    report.audit = audit
    report.stage_seconds["audit"] = report.audit.seconds
    report.findings.extend(report.audit.findings)
    failing = report.audit.failing
    if not failing:
        return
    rows = sum(c.leaked_rows for c in failing)
    where = ("the destination holds them: fix the workspace and clone again" if swapped
             else "the copy was not swapped in; the previous destination is untouched")
    raise LeakDetected(
        f"leak audit: {rows} sampled source value{'s' if rows != 1 else ''} of "
        f"{len(failing)} column{'s' if len(failing) != 1 else ''} found in the copy\n  - "
        + "\n  - ".join(report.audit.problems()),
        hint=f"{where}; mask these columns (or list them under audit.allow if the values "
             "may be copied); values are never shown", audit=report.audit, report=report)


class _Events:
    """The writer's copy events -> table reports and the observer's progress hooks."""

    def __init__(self, observer: RunObserver) -> None:
        self.observer = observer
        self.started_at: dict[TableRef, float] = {}
        self.reports: dict[TableRef, TableReport] = {}
        self.masked: dict[TableRef, int] = {}
        self.expected: dict[TableRef, int] = {}  # a subset's selected rows, per table

    def started(self, table: Table) -> None:
        self.started_at[table.ref] = time.monotonic()
        self.observer.table_started(table, self.expected.get(table.ref))

    def progress(self, table: Table, rows: int) -> None:
        self.observer.rows_copied(table, rows)

    def finished(self, table: Table, result: TableCopyResult) -> None:
        seconds = result.seconds or time.monotonic() - self.started_at[table.ref]
        rep = TableReport(table.ref, result.rows_read, result.rows_written,
                          self.masked.get(table.ref, 0), seconds, result.workers,
                          result.pushed)
        self.reports[table.ref] = rep
        self.observer.table_finished(table, rep)


def _copy_all(writer: DestinationWriter, source: SourceReader, the_plan: ClonePlan,
              observer: RunObserver, findings: list[Finding]) -> list[TableReport]:
    """Every table's rows, masked; the writer may copy isolated tables side by side."""
    jobs, maskers = [], {}
    events = _Events(observer)
    for table in the_plan.tables_in_order():
        masker = the_plan.masking.masker_for(table)
        selection, row_masker = None, masker
        if the_plan.subset is not None and the_plan.selection is not None:
            selection = the_plan.selection.for_table(table.ref)  # None: passthrough
            if selection is not None and (selection.count is not None or selection.estimate):
                # a leaf child counted by its copy shows the planner's estimate meanwhile,
                # not the whole table's rows
                events.expected[table.ref] = round(selection.expected)
            row_masker = with_nulls(masker, table,
                                    the_plan.subset.tables[table.ref].null_columns)
        if masker is not None:
            maskers[table.ref] = masker
            events.masked[table.ref] = len(masker.masked_positions)
        jobs.append(CopyJob(table, row_masker, selection,
                            isolated=the_plan.masking.isolated(table.ref),
                            pushdown=the_plan.config.source.pushdown))
    writer.copy_tables(source, jobs, events)
    out = []
    for table in the_plan.tables_in_order():
        if the_plan.selection is not None:
            the_plan.selection.copied(table.ref, events.reports[table.ref].rows_written)
        if table.ref in maskers:
            findings.extend(_masking_findings(table, maskers[table.ref], the_plan))
        out.append(events.reports[table.ref])
    return out


def _masking_findings(table: Table, masker: ColumnMasker,
                      the_plan: ClonePlan) -> list[Finding]:
    """Post-copy check per masked column: how many values were rewritten and how many left
    equal to the source (only NULL, '' or a generator that may by nature, e.g. constant)."""
    gens = the_plan.masking.for_table(table.ref)
    out = []
    for name, same in masker.unchanged.items():
        gen = gens[name]
        changed = masker.changed[name]
        if same and not gen.may_return_source:
            where = f"{table.ref}.{name}"
            out.append(Finding("info", where,
                               f"{changed} values masked; {same} NULL or empty kept as is"))
    return out


def _safe(exc: Exception) -> str:
    """The first line of a driver message, which never includes row values for the errors
    we wrap here (dialects wrap value-bearing errors themselves)."""
    return str(exc).splitlines()[0][:300] if str(exc) else ""
