"""``clone --report PATH``: the run as a JSON document and as one self-contained HTML page.

The page is plain HTML with inline CSS and an inline SVG of the FK graph: no script, no
network, it opens from disk (or from a CI artifact). Both are built from the same document
(:func:`document`), which holds names, counts, timings, generator names and the primary keys
of destination rows the leak audit pointed at: never a row value, never a password (URLs
are rendered with the password hidden), never a generator's options (``except:`` may list
source values). Every name is escaped in the HTML. Files are written atomically: a
temporary file beside the target, renamed over it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import os
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Any

from dbclone import __version__, native
from dbclone.errors import ConfigError, DbcloneError, LeakDetected
from dbclone.gate.lock import column_name, table_name
from dbclone.introspect.snapshot import ColumnRef, TableRef
from dbclone.pipeline import CloneReport
from dbclone.subset.report import subset_data

FORMAT = 1  # the JSON document's version ("dbclone_report")
HTML_SUFFIXES = (".html", ".htm")
JSON_SUFFIXES = (".json",)


class ReportError(DbcloneError):
    """A report file could not be written (the clone itself is done)."""


# -- paths -------------------------------------------------------------------------------------

def check_paths(paths: list[str] | tuple[str, ...]) -> list[Path]:
    """The report paths, checked before the clone starts: a known suffix, an existing
    directory, each path once."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.suffix.lower() not in HTML_SUFFIXES + JSON_SUFFIXES:
            raise ConfigError(f"--report {raw}: the name must end in .html or .json",
                              hint="--report report.html, --report report.json, or both")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise ConfigError(f"--report {raw}: directory {parent} does not exist",
                              hint="create it first, or write the report elsewhere")
        if p.is_dir():
            raise ConfigError(f"--report {raw}: is a directory")
        if any(p.resolve() == q.resolve() for q in out):
            continue
        out.append(p)
    return out


def write_reports(report: CloneReport, paths: list[Path], *,
                  started_at: dt.datetime | None = None, seconds: float | None = None,
                  error: DbcloneError | None = None) -> list[Path]:
    """Write the report to each path (.html or .json); returns the paths written."""
    doc = document(report, started_at=started_at, seconds=seconds, error=error)
    page: str | None = None
    for p in paths:
        if p.suffix.lower() in JSON_SUFFIXES:
            text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        else:
            page = page if page is not None else render_html(doc)
            text = page
        write_atomic(p, text)
    return paths


def write_atomic(path: Path, text: str) -> None:
    """Write beside the target under a temporary name, then rename over it: a reader (or a
    CI artifact upload) sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.dbclone-tmp-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ReportError(f"could not write the report {path}: {exc.strerror or exc}",
                          hint="check the path and its permissions") from None


# -- the document ------------------------------------------------------------------------------

def document(report: CloneReport, *, started_at: dt.datetime | None = None,
             seconds: float | None = None,
             error: DbcloneError | None = None) -> dict[str, Any]:
    """The run as plain data (what ``--report x.json`` writes and the HTML page shows)."""
    p = report.plan
    snap = p.snapshot
    total = seconds if seconds is not None else (report.seconds
                                                 or sum(report.stage_seconds.values()))
    subset = subset_data(p.subset) if p.subset is not None else None
    sub_tables = {t.ref: t for t in p.subset.tables.values()} if p.subset is not None else {}
    layers = _layers(report)
    rows: list[dict[str, Any]] = []
    for t in report.tables:
        tp = sub_tables.get(t.table)
        source_rows, exact = t.rows_read, True
        if tp is not None and tp.source_rows is not None:
            source_rows, exact = tp.source_rows, tp.source_rows_exact
        rows.append({
            "table": table_name(t.table, snap), "schema": t.table.schema, "name": t.table.name,
            "layer": layers.get(t.table, 0),
            "source_rows": source_rows, "source_rows_exact": exact,
            "rows_read": t.rows_read, "destination_rows": t.rows_written,
            "columns_masked": t.columns_masked, "seconds": round(t.seconds, 3),
            "workers": t.workers, "columns_pushed_down": t.pushed,
            "subset_role": tp.role.value if tp is not None else None,
            "subset_why": tp.why() if tp is not None else None,
        })
    outcome = "leaks" if report.audit is not None and report.audit.failing else "ok"
    if error is not None:
        outcome = "leaks" if isinstance(error, LeakDetected) else "failed"
    return {
        "dbclone_report": FORMAT,
        "dbclone_version": __version__,
        "workspace": {"name": p.config.name, "path": p.config.path},
        "source": str(p.source_url),
        "destination": str(p.destination_url),
        "dialect": snap.dialect,
        # "on": masked rows went through the C code (dbclone/_native.c); else why not
        "native": native.status(),
        "started_at": (started_at or dt.datetime.now().astimezone()
                       - dt.timedelta(seconds=total)).isoformat(timespec="seconds"),
        "seconds": round(total, 3),
        "stage_seconds": {k: round(v, 3) for k, v in report.stage_seconds.items()},
        "outcome": {"status": outcome,
                    "message": error.message if error is not None else None,
                    "hint": error.hint if error is not None else None},
        "totals": {
            "tables": len(report.tables),
            "source_rows": sum(r["source_rows"] or 0 for r in rows),
            "destination_rows": sum(t.rows_written for t in report.tables),
            "columns_masked": sum(t.columns_masked for t in report.tables),
        },
        "tables": rows,
        "generators": _generators(report),
        "gate": p.gate.to_json(snap) if p.gate is not None else None,
        "audit": report.audit.to_json() if report.audit is not None else None,
        "findings": [{"level": f.level, "where": f.where, "message": f.message}
                     for f in report.findings],
        "subset": subset,
        "graph": _graph(report, layers),
    }


def _generators(report: CloneReport) -> list[dict[str, Any]]:
    """One entry per column with a rule, tables in load order and columns in table order:
    its generator's name and where the rule comes from (never the options: ``except:`` may
    hold source values)."""
    p = report.plan
    snap = p.snapshot
    kept = p.gate.kept_by_policy if p.gate is not None else set()
    out = []
    for table in p.tables_in_order():
        for col in table.columns:
            ref = ColumnRef(table.ref, col.name)
            gen = p.masking.rules.get(ref)
            if gen is None and ref not in kept:
                continue
            parent = p.masking.propagated.get(ref)
            out.append({
                "table": table_name(ref.table, snap), "column": ref.name,
                "name": column_name(ref, snap),
                "generator": gen.name if gen is not None else "keep",
                "masks": gen is not None and gen.masks,
                "follows": column_name(parent, snap) if parent is not None else None,
                "rule": gen.ctx.where if gen is not None else "on_unconfigured: keep",
            })
    return out


def _layers(report: CloneReport) -> dict[TableRef, int]:
    """Load-order layers: a table with no parent is layer 0, any other one below its deepest
    parent. FKs broken to load a cycle and self-references do not count."""
    p = report.plan
    snap = p.snapshot
    broken = {(fk.table, fk.name) for fk in p.load.broken}
    parents: dict[TableRef, set[TableRef]] = defaultdict(set)
    for fk in snap.foreign_keys:
        child, parent = snap.partition_root(fk.table), snap.partition_root(fk.ref_table)
        if child != parent and (fk.table, fk.name) not in broken:
            parents[child].add(parent)
    layer: dict[TableRef, int] = {}
    for ref in p.load.order:
        known = [layer[q] for q in parents.get(ref, ()) if q in layer]
        layer[ref] = 1 + max(known) if known else 0
    return layer


def _graph(report: CloneReport, layers: dict[TableRef, int]) -> dict[str, Any]:
    p = report.plan
    snap = p.snapshot
    nodes = set(p.load.order)
    roles = ({ref: tp.role.value for ref, tp in p.subset.tables.items()}
             if p.subset is not None else {})
    masked = {t.table: t.columns_masked for t in report.tables}
    rows = {t.table: t.rows_written for t in report.tables}
    broken = {(fk.table, fk.name) for fk in p.load.broken}
    # the edges the subset follows between the tables it selects rows of (roots, reached)
    on_path: set[tuple[TableRef, str]] = set()
    virtual = []
    if p.subset is not None:
        for edge in (x for es in p.subset.up.values() for x in es):
            on_path.add((edge.child, edge.name))
        virtual = [x for x in p.subset.edges if x.virtual]
    edges = []
    for fk in snap.foreign_keys:
        child, parent = snap.partition_root(fk.table), snap.partition_root(fk.ref_table)
        if child not in nodes or parent not in nodes:
            continue
        edges.append({
            "name": fk.name, "from": table_name(child, snap), "to": table_name(parent, snap),
            "columns": list(fk.columns), "ref_columns": list(fk.ref_columns),
            # declared on a partition of "from" (drawn once for all partitions)
            "partition": table_name(fk.table, snap) if fk.table != child else None,
            "virtual": False, "self": child == parent,
            "broken": (fk.table, fk.name) in broken,
            "subset_path": (child, fk.name) in on_path,
        })
    for v in virtual:
        if v.child in nodes and v.parent in nodes:
            edges.append({
                "name": v.name, "from": table_name(v.child, snap),
                "to": table_name(v.parent, snap), "columns": list(v.child_columns),
                "ref_columns": list(v.parent_columns), "partition": None, "virtual": True,
                "self": v.child == v.parent, "broken": False,
                "subset_path": (v.child, v.name) in on_path})
    return {
        "nodes": [{"table": table_name(ref, snap), "layer": layers.get(ref, 0),
                   "subset_role": roles.get(ref), "columns_masked": masked.get(ref, 0),
                   "destination_rows": rows.get(ref)} for ref in p.load.order],
        "edges": edges,
        "cycles": [[table_name(r, snap) for r in c] for c in p.load.cycles],
    }


# -- HTML --------------------------------------------------------------------------------------

def e(value: object) -> str:
    """Escaped for HTML text and attribute values (names can hold < & " ')."""
    return html.escape(str(value), quote=True)


def _n(v: object) -> str:
    if v is None:
        return "?"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def _s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa; --ok:#1a7f37;
  --okbg:#dafbe1; --bad:#cf222e; --badbg:#ffebe9; --warn:#9a6700; --warnbg:#fff8c5;
  --blue:#0969da; --bluebg:#ddf4ff; --purple:#8250df; }
* { box-sizing: border-box; }
body { margin:0; background:#eef1f4; color:var(--ink);
  font:14px/1.45 "Liberation Sans", "Helvetica Neue", Arial, system-ui, sans-serif; }
code, .mono { font-family:"DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace;
  font-size:12.5px; }
header { background:#1f2937; color:#fff; padding:22px 36px 20px; }
header h1 { margin:0 0 4px; font-size:22px; font-weight:600; letter-spacing:.2px; }
header h1 .ws { color:#93c5fd; }
header .sub { color:#cbd5e1; font-size:13px; }
.meta { display:grid; grid-template-columns:max-content 1fr; gap:3px 14px; margin-top:14px;
  font-size:13px; }
.meta dt { color:#94a3b8; } .meta dd { margin:0; color:#f1f5f9; word-break:break-all; }
main { max-width:1340px; margin:0 auto; padding:22px 28px 40px; }
.banner { border-radius:8px; padding:12px 18px; margin-bottom:18px; font-weight:600;
  border:1px solid; }
.banner.ok { background:var(--okbg); color:var(--ok); border-color:#aceebb; }
.banner.bad { background:var(--badbg); color:var(--bad); border-color:#ffcecb; }
.banner .detail { display:block; font-weight:400; color:var(--ink); margin-top:4px;
  white-space:pre-wrap; font-size:13px; }
.cards { display:grid; grid-template-columns:repeat(6, 1fr); gap:12px; margin-bottom:18px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.card .v { font-size:24px; font-weight:600; font-variant-numeric:tabular-nums; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.card.bad .v { color:var(--bad); } .card.ok .v { color:var(--ok); }
section { background:#fff; border:1px solid var(--line); border-radius:8px;
  padding:16px 20px 18px; margin-bottom:18px; }
h2 { margin:0 0 10px; font-size:17px; font-weight:600; }
h2 .count { color:var(--muted); font-weight:400; font-size:14px; margin-left:6px; }
p.note { color:var(--muted); margin:0 0 10px; font-size:13px; }
table.grid { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
table.grid th { text-align:left; font-weight:600; font-size:12.5px; color:var(--muted);
  border-bottom:2px solid var(--line); padding:6px 10px; background:var(--soft); }
table.grid td { border-bottom:1px solid #eaeef2; padding:5px 10px; vertical-align:top; }
table.grid tr:nth-child(even) td { background:#fbfcfd; }
table.grid tr.leak td { background:#fff1f0; }
table.grid .n { text-align:right; white-space:nowrap; }
.pill { display:inline-block; border-radius:10px; padding:0 8px; font-size:12px;
  line-height:18px; border:1px solid var(--line); background:var(--soft); white-space:nowrap; }
.pill.mask { background:#fbefff; border-color:#e0c8ff; color:#6639ba; }
.pill.keep { color:var(--muted); }
.pill.ok { background:var(--okbg); border-color:#aceebb; color:var(--ok); }
.pill.bad { background:var(--badbg); border-color:#ffcecb; color:var(--bad); }
.pill.warn { background:var(--warnbg); border-color:#f5e08a; color:var(--warn); }
.pill.root { background:var(--warnbg); border-color:#d4a72c; color:#7d4e00; }
.pill.reached { background:var(--bluebg); border-color:#8cc8ff; color:#0550ae; }
.muted { color:var(--muted); }
.bar { display:flex; height:14px; border-radius:7px; overflow:hidden; background:#334155;
  margin:8px 0 4px; max-width:640px; }
.bar span { display:block; height:100%; }
.stages { font-size:12.5px; color:#cbd5e1; }
.stages i { display:inline-block; width:10px; height:10px; border-radius:2px;
  margin:0 4px 0 12px; vertical-align:-1px; }
.stages i:first-child { margin-left:0; }
.graph { width:100%; overflow-x:auto; }
.graph svg { display:block; width:100%; min-width:960px; height:auto; }
.legend { font-size:12.5px; color:var(--muted); margin-top:8px; }
.legend span { margin-right:16px; white-space:nowrap; }
.legend svg { vertical-align:-3px; margin-right:4px; }
.two { display:grid; grid-template-columns:1fr 1fr; gap:18px; margin-bottom:18px;
  align-items:start; }
.two section { margin-bottom:0; }
ul.plain { margin:0; padding-left:18px; }
footer { color:var(--muted); font-size:12px; text-align:center; margin-top:8px; }
"""

_STAGE_COLOURS = {"plan": "#60a5fa", "copy": "#34d399", "audit": "#f59e0b"}


def render_html(doc: dict[str, Any]) -> str:
    """The self-contained page: HTML + inline CSS + inline SVG; no script, no network."""
    ws = doc["workspace"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # nothing may be fetched: the page must open from disk, offline, as it is
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>dbclone report: {e(ws['name'] or ws['path'])}</title>",
        f"<style>{CSS}</style></head><body>",
        _header(doc),
        "<main>",
        _banner(doc),
        _cards(doc),
        _graph_section(doc),
        _tables_section(doc),
        _generators_section(doc),
        '<div class="two">', _gate_section(doc), _findings_section(doc), "</div>",
        _audit_section(doc),
        f"<footer>dbclone {e(doc['dbclone_version'])} · report format "
        f"{e(doc['dbclone_report'])} · values are never shown: names, counts and primary "
        "keys only</footer>",
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _header(doc: dict[str, Any]) -> str:
    ws = doc["workspace"]
    stages = doc["stage_seconds"]
    total = doc["seconds"] or 0.0
    other = max(0.0, total - sum(stages.values()))
    bar, legend = [], []
    for name, sec in [*stages.items(), *([("other", other)] if other > 0.0005 else [])]:
        colour = _STAGE_COLOURS.get(name, "#94a3b8")
        width = 100 * sec / total if total else 0
        bar.append(f'<span style="width:{width:.2f}%;background:{colour}" '
                   f'title="{e(name)}: {e(_s(sec))}"></span>')
        legend.append(f'<i style="background:{colour}"></i>{e(name)} {e(_s(sec))}')
    meta = [("source", doc["source"], "mono"), ("destination", doc["destination"], "mono"),
            ("workspace", ws["path"], "mono"), ("when", doc["started_at"], ""),
            ("total", _s(total), "")]
    return (
        '<header><h1>dbclone clone report: <span class="ws">'
        f"{e(ws['name'] or ws['path'])}</span></h1>"
        f'<div class="sub">{e(doc["dialect"])} · {e(doc["totals"]["tables"])} tables · '
        f"{e(_n(doc['totals']['destination_rows']))} rows written in {e(_s(total))}</div>"
        '<dl class="meta">'
        + "".join(f'<dt>{e(k)}</dt><dd class="{cls}">{e(v)}</dd>' for k, v, cls in meta)
        + "</dl>"
        + (f'<div class="bar">{"".join(bar)}</div><div class="stages">{"".join(legend)}'
           "</div>" if bar else "")
        + "</header>")


def _banner(doc: dict[str, Any]) -> str:
    o = doc["outcome"]
    audit = doc["audit"]
    if o["status"] == "ok":
        if audit is None:
            text = "Cloned. The leak audit did not run (--no-audit or audit.enabled: false)."
        else:
            sampled = sum(c["sampled"] for c in audit["columns"])
            text = (f"Cloned and audited: {len(audit['columns'])} columns, {sampled:,} "
                    "sampled source values, no leak found in the copy.")
        return f'<div class="banner ok">{e(text)}</div>'
    title = ("The leak audit found source values in the copy: the run failed."
             if o["status"] == "leaks" else "The clone failed.")
    detail = "\n".join(x for x in (o["message"], o["hint"]) if x)
    return (f'<div class="banner bad">{e(title)}'
            + (f'<span class="detail">{e(detail)}</span>' if detail else "") + "</div>")


def _cards(doc: dict[str, Any]) -> str:
    t = doc["totals"]
    audit = doc["audit"]
    gate = doc["gate"]
    leaks = (sum(c["leaked_rows"] for c in audit["columns"] if not c["allowed"])
             if audit is not None else None)
    drift = len(gate["findings"]) if gate is not None else 0
    cards = [
        ("tables", _n(t["tables"]), ""),
        ("source rows", _n(t["source_rows"]), ""),
        ("destination rows", _n(t["destination_rows"]), ""),
        ("columns masked", _n(t["columns_masked"]), ""),
        ("drift findings", _n(drift), "bad" if drift and any(
            f["policy"] == "fail" for f in gate["findings"]) else ""),
        ("leaks", "off" if leaks is None else _n(leaks),
         "" if leaks is None else ("bad" if leaks else "ok")),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card {cls}"><div class="v">{e(v)}</div><div class="k">{e(k)}</div>'
        "</div>" for k, v, cls in cards) + "</div>"


def _tables_section(doc: dict[str, Any]) -> str:
    subset = doc["subset"] is not None
    head = ["#", "table (load order)", "source rows", "destination rows"]
    if subset:
        head += ["share", "subset"]
    head += ["columns masked", "seconds"]
    numeric = {"#", "source rows", "destination rows", "share", "columns masked", "seconds"}
    out = [f'<section id="tables"><h2>Tables<span class="count">{len(doc["tables"])}</span>'
           "</h2>"]
    if subset:
        out.append(f'<p class="note">subset: {e(doc["subset"]["summary"])}</p>')
    out.append('<table class="grid tables"><thead><tr>'
               + "".join(f'<th class="{"n" if h in numeric else ""}">{e(h)}</th>' for h in head)
               + "</tr></thead><tbody>")
    for i, r in enumerate(doc["tables"], 1):
        src = _n(r["source_rows"]) if r["source_rows_exact"] else f"≈{_n(r['source_rows'])}"
        cells = [f'<td class="n">{i}</td>', f'<td><code>{e(r["table"])}</code></td>',
                 f'<td class="n">{e(src)}</td>',
                 f'<td class="n">{e(_n(r["destination_rows"]))}</td>']
        if subset:
            share = (f"{100 * r['destination_rows'] / r['source_rows']:.1f}%"
                     if r["source_rows"] else "-")
            role = r["subset_role"] or "-"
            cells += [f'<td class="n">{e(share)}</td>',
                      f'<td><span class="pill {e(role)}">{e(role)}</span> '
                      f'<span class="muted">{e(r["subset_why"] or "")}</span></td>']
        masked = r["columns_masked"]
        masked_cell = f'<span class="pill mask">{e(masked)}</span>' if masked else "0"
        cells += [f'<td class="n">{masked_cell}</td>',
                  f'<td class="n">{e(_s(r["seconds"]))}</td>']
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def _generators_section(doc: dict[str, Any]) -> str:
    gens = doc["generators"]
    ws_path = doc["workspace"]["path"]
    short = Path(ws_path).name  # "app.yaml:12", not the whole path on every line
    masked = [g for g in gens if g["masks"]]
    kept: dict[str, list[str]] = {}
    for g in gens:
        if not g["masks"]:
            kept.setdefault(g["table"], []).append(g["column"])
    out = [f'<section id="generators"><h2>Generators per column<span class="count">'
           f"{len(masked)} masked, {len(gens) - len(masked)} kept by a rule</span></h2>"]
    if not gens:
        out.append('<p class="note">No rules: every column was copied as it is.</p>'
                   "</section>")
        return "".join(out)
    out.append('<p class="note">Tables in load order. Generator options are not shown (an '
               "<code>except:</code> list may hold real values).</p>")
    if masked:
        out.append('<table class="grid generators"><thead><tr><th>table</th><th>column</th>'
                   "<th>generator</th><th>rule</th></tr></thead><tbody>")
        for g in masked:
            where = (f'follows <code>{e(g["follows"])}</code> '
                     f'<span class="muted">(a foreign key to a masked key)</span>'
                     if g["follows"] else
                     f'<span class="muted">{e(g["rule"].replace(ws_path, short, 1))}</span>')
            out.append(f'<tr><td><code>{e(g["table"])}</code></td>'
                       f'<td><code>{e(g["column"])}</code></td>'
                       f'<td><span class="pill mask">{e(g["generator"])}</span></td>'
                       f"<td>{where}</td></tr>")
        out.append("</tbody></table>")
    if kept:
        out.append('<p class="note" style="margin:12px 0 4px">Copied as they are (a '
                   "<code>keep</code> rule or <code>on_unconfigured: keep</code>):</p>"
                   '<table class="grid kept"><tbody>'
                   + "".join(f'<tr><td style="width:22%"><code>{e(t)}</code></td><td>'
                             + ", ".join(f"<code>{e(c)}</code>" for c in cols)
                             + "</td></tr>" for t, cols in kept.items())
                   + "</tbody></table>")
    out.append("</section>")
    return "".join(out)


def _gate_section(doc: dict[str, Any]) -> str:
    gate = doc["gate"]
    out = ['<section id="gate"><h2>Drift gate</h2>']
    if gate is None:
        out.append('<p class="note">The drift gate did not run.</p></section>')
        return "".join(out)
    lock = (f"schema lock <code>{e(gate['lock'])}</code>" if gate["lock"]
            else "no schema lock")
    out.append(f'<p class="note">{e(_n(gate["columns_checked"]))} columns checked '
               f"before any data moved; {lock}.</p>")
    if not gate["findings"]:
        out.append('<p><span class="pill ok">no unconfigured column</span></p>')
    else:
        out.append('<table class="grid gate"><thead><tr><th>column</th><th>why</th>'
                   "<th>suggested</th><th>action</th></tr></thead><tbody>")
        for f in gate["findings"]:
            sug = f["suggested"]
            sug_name = sug if isinstance(sug, str) else sug.get("type", "?")
            cls = "bad" if f["policy"] == "fail" else "warn"
            why = f["why"] + (f" ({f['reason']})" if f["reason"] else "")
            out.append(f'<tr><td><code>{e(f["column"])}</code></td><td>{e(why)}</td>'
                       f'<td><span class="pill">{e(sug_name)}</span></td>'
                       f'<td><span class="pill {cls}">{e(f["policy"])}</span> '
                       f'{e(f["action"])}</td></tr>')
        out.append("</tbody></table>")
    if gate["kept_sensitive"]:
        out.append('<p class="note" style="margin-top:10px">Kept by a <code>keep</code> rule '
                   "although they look sensitive (the audit checks them):</p><ul class=plain>"
                   + "".join(f"<li><code>{e(c)}</code></li>" for c in gate["kept_sensitive"])
                   + "</ul>")
    out.append("</section>")
    return "".join(out)


def _findings_section(doc: dict[str, Any]) -> str:
    fs = doc["findings"]
    out = [f'<section id="findings"><h2>Notes and warnings<span class="count">{len(fs)}'
           "</span></h2>"]
    if not fs:
        out.append('<p class="note">None.</p>')
    else:
        out.append('<table class="grid findings"><thead><tr><th>level</th><th>where</th>'
                   "<th>message</th></tr></thead><tbody>")
        for f in fs:
            cls = {"warning": "warn", "error": "bad"}.get(f["level"], "")
            out.append(f'<tr><td><span class="pill {cls}">{e(f["level"])}</span></td>'
                       f'<td><code>{e(f["where"])}</code></td><td>{e(f["message"])}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return "".join(out)


def _audit_section(doc: dict[str, Any]) -> str:
    audit = doc["audit"]
    out = ['<section id="audit"><h2>Leak audit</h2>']
    if audit is None:
        out.append('<p class="note">Not run for this clone (<code>--no-audit</code> or '
                   "<code>audit.enabled: false</code>).</p></section>")
        return "".join(out)
    sampled = sum(c["sampled"] for c in audit["columns"])
    out.append(f'<p class="note">{len(audit["columns"])} columns audited in '
               f'<code>{e(audit["target"])}</code>: {sampled:,} sampled source values looked '
               f'for in the same column and in every text and JSON column of '
               f'{audit["tables_scanned"]} tables ({e(_s(audit["seconds"]))}). Where a value '
               "was found is given by table.column and the primary keys of those rows; "
               "values are never shown.</p>")
    out.append('<table class="grid audit"><thead><tr><th>column</th><th>generator</th>'
               '<th class="n">sampled</th><th class="n">leaks</th><th>found in</th>'
               "</tr></thead><tbody>")
    for c in audit["columns"]:
        n = c["leaked_rows"]
        if not n:
            state = '<span class="pill ok">0</span>'
        elif c["allowed"]:
            state = f'<span class="pill warn" title="allowed by {e(c["allowed"])}">{n}</span>'
        else:
            state = f'<span class="pill bad">{n}</span>'
        where = []
        for leak in c["leaks"]:
            keys = ", ".join(leak["keys"])
            more = ", …" if leak["rows"] > len(leak["keys"]) else ""
            where.append(f'<code>{e(leak["found_in"])}</code>: {leak["rows"]:,} '
                         f"row{'s' if leak['rows'] != 1 else ''}"
                         + (f' <span class="muted">(<code>{e(keys)}</code>{more})</span>'
                            if keys else ""))
        allowed = (f' <span class="muted">allowed: {e(c["allowed"])}</span>'
                   if c["allowed"] else "")
        row_cls = ' class="leak"' if n and not c["allowed"] else ""
        out.append(f'<tr{row_cls}><td><code>{e(c["column"])}</code></td>'
                   f'<td><span class="pill {"keep" if c["generator"] == "keep" else "mask"}">'
                   f'{e(c["generator"])}</span></td><td class="n">{c["sampled"]:,}</td>'
                   f'<td class="n">{state}</td><td>{"<br>".join(where) or "-"}{allowed}</td>'
                   "</tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


# -- the FK graph as inline SVG ----------------------------------------------------------------

_W = 1280  # the drawing's width in SVG units (it scales to the page)
_PAD = 24
_BOX_H = 44
_GAP_X = 18
_ROW_GAP = 64
_CHAR = 7.3  # width of one character of the 12px monospace used for names
_MAX_LABEL = 30


def _graph_section(doc: dict[str, Any]) -> str:
    g = doc["graph"]
    subset = doc["subset"] is not None
    n_fk = sum(1 for x in g["edges"] if not x["virtual"])
    folded = n_fk - sum(1 for x in drawn_edges(doc) if not x["virtual"])
    out = [f'<section id="graph"><h2>Foreign-key graph<span class="count">{len(g["nodes"])} '
           f"tables, {n_fk} foreign keys</span></h2>"]
    if not g["nodes"]:
        out.append('<p class="note">No tables.</p></section>')
        return "".join(out)
    out.append('<p class="note">Tables in load order, parents on top: each row is a layer '
               "loaded after the ones above it. Arrows point from the referencing table to "
               "the table it references"
               + (f"; the same FK declared on every partition of a table is one arrow "
                  f"({folded} folded)" if folded else "") + ".</p>")
    out.append(f'<div class="graph">{_svg(doc)}</div>')
    legend = [
        _swatch("#ffffff", "#8c959f") + "table",
        _swatch("#ffffff", "#8c959f", strip=True) + "has masked columns",
        _line("#8c959f") + "foreign key",
    ]
    if any(x["broken"] for x in g["edges"]):
        legend.append(_line("#cf222e", dash="6 4") + "cycle broken here (loaded as NULL, "
                      "set afterwards)")
    if subset:
        legend = [_swatch("#fff8c5", "#bf8700", width=2.5) + "subset root",
                  _swatch("#ddf4ff", "#0969da") + "on the subset path",
                  _swatch("#f6f8fa", "#57606a") + "copied whole",
                  _swatch("#ffffff", "#afb8c1", dash=True) + "copied empty / excluded",
                  *legend[1:], _line("#0969da", width=2.2) + "followed by the subset"]
        if any(x["virtual"] for x in g["edges"]):
            legend.append(_line("#0969da", dash="2 3") + "virtual foreign key")
    if g["cycles"]:
        legend.append("cycles: " + "; ".join(" ↔ ".join(e(t) for t in c) for c in g["cycles"]))
    out.append('<div class="legend">' + "".join(f"<span>{x}</span>" for x in legend)
               + "</div></section>")
    return "".join(out)


def _swatch(fill: str, stroke: str, *, width: float = 1.2, strip: bool = False,
            dash: bool = False) -> str:
    d = ' stroke-dasharray="3 2"' if dash else ""
    s = '<rect x="1" y="1" width="4" height="12" fill="#8250df"/>' if strip else ""
    return (f'<svg width="22" height="14" aria-hidden="true"><rect x="1" y="1" width="20" '
            f'height="12" rx="3" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{d}/>'
            f"{s}</svg>")


def _line(colour: str, *, width: float = 1.4, dash: str | None = None) -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg width="26" height="14" aria-hidden="true"><line x1="1" y1="7" x2="20" '
            f'y2="7" stroke="{colour}" stroke-width="{width}"{d}/><path d="M19,3 L25,7 L19,11 '
            f'z" fill="{colour}"/></svg>')


def _label(name: str) -> str:
    return name if len(name) <= _MAX_LABEL else name[:_MAX_LABEL - 1] + "…"


def _layout(doc: dict[str, Any]) -> tuple[dict[str, tuple[float, float]], float, float]:
    """Box positions (x, y of the top-left corner) by table, the box width and the height.
    One band per load-order layer; a wide layer wraps onto more rows. Within a layer,
    tables sit under the mean position of their parents (fewer crossing arrows)."""
    nodes = doc["graph"]["nodes"]
    parents: dict[str, list[str]] = defaultdict(list)
    for x in doc["graph"]["edges"]:
        if not x["self"] and not x["broken"]:
            parents[x["from"]].append(x["to"])
    longest = max(len(_label(n["table"])) for n in nodes)
    box_w = min(max(longest * _CHAR + 26, 150.0), 250.0)
    per_row = max(1, int((_W - 2 * _PAD + _GAP_X) // (box_w + _GAP_X)))
    by_layer: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        by_layer[n["layer"]].append(n["table"])
    pos: dict[str, tuple[float, float]] = {}
    order: dict[str, float] = {}
    y = _PAD
    for layer in sorted(by_layer):
        names = by_layer[layer]

        def key(t: str) -> tuple[float, str]:
            ps = [order[p] for p in parents.get(t, []) if p in order]
            return (sum(ps) / len(ps) if ps else -1.0, t)
        names.sort(key=key)
        per = -(-len(names) // -(-len(names) // per_row))  # wrapped rows of even length
        for start in range(0, len(names), per):
            row = names[start:start + per]
            width = len(row) * box_w + (len(row) - 1) * _GAP_X
            x0 = (_W - width) / 2
            for i, t in enumerate(row):
                x = x0 + i * (box_w + _GAP_X)
                pos[t] = (x, y)
                order[t] = x + box_w / 2
            y += _BOX_H + _ROW_GAP
    return pos, box_w, y - _ROW_GAP + _PAD


def drawn_edges(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The arrows of the picture: one per foreign key, except that the same FK declared on
    each partition of a table (Pagila's payment_p2022_01..06) is one arrow of the root."""
    out: list[dict[str, Any]] = []
    folded: dict[tuple, dict[str, Any]] = {}
    for x in doc["graph"]["edges"]:
        if x.get("partition") is None:
            out.append({**x, "names": [x["name"]]})
            continue
        key = (x["from"], x["to"], tuple(x["columns"]), tuple(x["ref_columns"]))
        if key in folded:
            folded[key]["names"].append(x["name"])
            for flag in ("broken", "subset_path"):
                folded[key][flag] = folded[key][flag] or x[flag]
            continue
        folded[key] = {**x, "names": [x["name"]]}
        out.append(folded[key])
    return out


def _svg(doc: dict[str, Any]) -> str:
    g = doc["graph"]
    pos, box_w, height = _layout(doc)
    nodes = {n["table"]: n for n in g["nodes"]}
    subset = doc["subset"] is not None
    edges = drawn_edges(doc)
    ports = _ports(edges, pos, box_w)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fkgraph" viewBox="0 0 {_W} '
             f'{height:.0f}" width="{_W}" height="{height:.0f}" role="img" '
             'aria-label="foreign-key graph">',
             "<defs>"
             + "".join(f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" '
                       'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                       f'<path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
                       for k, c in (("fk", "#8c959f"), ("path", "#0969da"),
                                    ("broken", "#cf222e")))
             + "</defs>", '<g class="edges" fill="none">']
    # grey arrows first, the highlighted ones over them
    for i in sorted(range(len(edges)),
                    key=lambda i: (edges[i]["broken"] or edges[i]["subset_path"], i)):
        parts.append(_edge(edges[i], ports[i], pos, box_w, subset))
    parts.append("</g><g class=\"tables\">")
    for name, (x, y) in pos.items():
        parts.append(_box(nodes[name], x, y, box_w, subset))
    parts.append("</g></svg>")
    return "".join(parts)


def _sides(x: dict[str, Any], pos: dict[str, tuple[float, float]]) -> tuple[str, str]:
    """Where an arrow leaves the referencing table and enters the referenced one."""
    cy, py = pos[x["from"]][1], pos[x["to"]][1]
    if cy > py:
        return "top", "bottom"  # the usual case: the child is below its parent
    if cy < py:
        return "bottom", "top"  # a cycle's back edge
    return "top", "top"  # same row: an arc over the top


def _ports(edges: list[dict[str, Any]], pos: dict[str, tuple[float, float]],
           box_w: float) -> list[tuple[float, float]]:
    """The x of each arrow's two ends: the arrows meeting one side of a box are spread along
    it, ordered by where their other end is (fewer crossings, no pile-up at the centre)."""
    at: dict[tuple[str, str], list[tuple[float, int, int]]] = defaultdict(list)
    for i, x in enumerate(edges):
        if x["self"]:
            continue
        child_side, parent_side = _sides(x, pos)
        at[(x["from"], child_side)].append((pos[x["to"]][0], i, 0))
        at[(x["to"], parent_side)].append((pos[x["from"]][0], i, 1))
    out = [[0.0, 0.0] for _ in edges]
    for (table, _side), ends in at.items():
        ends.sort()
        left = pos[table][0]
        n = len(ends)
        for k, (_, i, which) in enumerate(ends):
            frac = 0.5 if n == 1 else 0.18 + 0.64 * k / (n - 1)
            out[i][which] = left + box_w * frac
    return [(a, b) for a, b in out]


def _edge(x: dict[str, Any], port: tuple[float, float], pos: dict[str, tuple[float, float]],
          box_w: float, subset: bool) -> str:
    (cx, cy), py = pos[x["from"]], pos[x["to"]][1]
    if x["broken"]:
        colour, marker, width, dash = "#cf222e", "broken", 1.5, ' stroke-dasharray="6 4"'
    elif subset and x["subset_path"]:
        colour, marker, width = "#0969da", "path", 2.2
        dash = ' stroke-dasharray="2 3"' if x["virtual"] else ""
    else:
        colour, marker, width, dash = "#8c959f", "fk", 1.3, ""
    if x["self"]:
        sx = cx + box_w - 30
        d = (f"M{sx:.1f},{cy:.1f} C{sx:.1f},{cy - 28:.1f} {cx + box_w + 34:.1f},{cy - 6:.1f} "
             f"{cx + box_w:.1f},{cy + 14:.1f}")
    else:
        ax, bx = port
        child_side, parent_side = _sides(x, pos)
        ay = cy if child_side == "top" else cy + _BOX_H
        by = py + _BOX_H if parent_side == "bottom" else py
        if ay == by:
            lift = 28 + abs(ax - bx) / 10
            d = (f"M{ax:.1f},{ay:.1f} C{ax:.1f},{ay - lift:.1f} {bx:.1f},{by - lift:.1f} "
                 f"{bx:.1f},{by:.1f}")
        else:
            mid = (ay + by) / 2
            d = (f"M{ax:.1f},{ay:.1f} C{ax:.1f},{mid:.1f} {bx:.1f},{mid:.1f} "
                 f"{bx:.1f},{by:.1f}")
    kind = "vfk" if x["virtual"] else "fk"
    names = x["names"]
    what = (f"{len(names)} FKs, one per partition: {', '.join(names)}" if len(names) > 1
            else ("virtual FK " if x["virtual"] else "") + names[0])
    title = (f"{x['from']}({', '.join(x['columns'])}) → {x['to']}"
             f"({', '.join(x['ref_columns'])}) [{what}]"
             + (" (cycle broken here)" if x["broken"] else ""))
    return (f'<path class="{kind}" d="{d}" stroke="{colour}" stroke-width="{width}"{dash} '
            f'stroke-opacity="0.85" marker-end="url(#arrow-{marker})">'
            f"<title>{e(title)}</title></path>")


def _box(n: dict[str, Any], x: float, y: float, box_w: float, subset: bool) -> str:
    role = n["subset_role"]
    fill, stroke, width, dash, opacity = "#ffffff", "#8c959f", 1.2, "", 1.0
    if subset:
        if role == "root":
            fill, stroke, width = "#fff8c5", "#bf8700", 2.5
        elif role == "reached":
            fill, stroke, width = "#ddf4ff", "#0969da", 1.6
        elif role == "passthrough":
            fill, stroke = "#f6f8fa", "#57606a"
        else:
            stroke, dash, opacity = "#afb8c1", ' stroke-dasharray="4 3"', 0.75
    rows = n["destination_rows"]
    info = f"{_n(rows)} rows" if rows is not None else "not copied"
    if n["columns_masked"]:
        info += f" · {n['columns_masked']} masked"
    if subset and role == "root":
        info = "ROOT · " + info
    label = _label(n["table"])
    strip = (f'<rect x="{x:.1f}" y="{y:.1f}" width="5" height="{_BOX_H}" rx="2" '
             'fill="#8250df"/>' if n["columns_masked"] else "")
    role_cls = f" {e(role)}" if role else ""
    return (f'<g class="table{role_cls}" opacity="{opacity}"><title>{e(n["table"])}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_w:.1f}" height="{_BOX_H}" rx="6" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>{strip}'
            f'<text x="{x + box_w / 2:.1f}" y="{y + 19:.1f}" text-anchor="middle" '
            'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12" '
            f'font-weight="bold" fill="#1f2328">{e(label)}</text>'
            f'<text x="{x + box_w / 2:.1f}" y="{y + 35:.1f}" text-anchor="middle" '
            'font-family="Liberation Sans, Arial, sans-serif" font-size="11" '
            f'fill="#59636e">{e(info)}</text></g>')
