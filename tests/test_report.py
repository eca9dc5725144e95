"""``dbclone clone --report``: the JSON document and the self-contained HTML page, on a small
SQLite clone (no server). Counts, generators and audit numbers in the JSON; every name escaped
in the HTML; one box per table and one arrow per foreign key in the SVG; no source value of a
masked column and no password in either file; the report of a failed audit; atomic writes."""

from __future__ import annotations

import dataclasses
import html
import json
import random
import re
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from faker import Faker

from dbclone import native
from dbclone import report as run_report
from dbclone.cli import main
from dbclone.config import load_workspace
from dbclone.dialects import parse_url
from dbclone.pipeline import run

ODD = "<x>&y"  # a table name that must be escaped
ODD_COLUMN = 'tag"<i>'  # and a column name
SVG_NS = "{http://www.w3.org/2000/svg}"

SCHEMA = f"""
CREATE TABLE customer (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT,
                       referred_by INTEGER REFERENCES customer (id));
CREATE TABLE product (id INTEGER PRIMARY KEY, title TEXT NOT NULL, price NUMERIC(6,2));
CREATE TABLE orders (id INTEGER PRIMARY KEY,
                     customer_id INTEGER NOT NULL REFERENCES customer (id),
                     product_id INTEGER NOT NULL REFERENCES product (id),
                     amount NUMERIC(6,2), note TEXT, contact_email TEXT);
CREATE TABLE "{ODD}" (id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders (id),
                     "{ODD_COLUMN.replace('"', '""')}" TEXT);
"""
COUNTS = {"customer": 30, "product": 10, "orders": 80, ODD: 20}
FOREIGN_KEYS = 4  # customer.referred_by (a self-reference), orders x2, <x>&y.order_id
LEAK_ROWS = (7, 9)  # orders whose note holds customer 5's full name (with leak=True)


def build(path: Path, *, leak: bool = False) -> list[str]:
    """The shop; returns the source values of its masked columns (names and e-mails)."""
    fake = Faker("en_US")
    fake.seed_instance(7)
    rnd = random.Random(7)
    customers = []
    for i in range(1, COUNTS["customer"] + 1):
        first, last = fake.first_name(), fake.last_name()
        customers.append((i, f"{first} {last}", f"{first.lower()}.{last.lower()}{i}@example.org",
                          None if i < 4 else rnd.randint(1, i - 1)))
    orders = []
    for i in range(1, COUNTS["orders"] + 1):
        c = rnd.randint(1, COUNTS["customer"])
        note = rnd.choice([None, "gift wrap", "late delivery"])
        if leak and i in LEAK_ROWS:
            note = f"called by {customers[4][1]} twice"
        orders.append((i, c, rnd.randint(1, COUNTS["product"]), round(rnd.uniform(1, 90), 2),
                       note, f"buyer{i}.{c}@shop.example"))
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO customer VALUES (?,?,?,?)", customers)
        conn.executemany("INSERT INTO product VALUES (?,?,?)",
                         [(i, f"Widget {i}", 1.5 * i) for i in range(1, COUNTS["product"] + 1)])
        conn.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?)", orders)
        conn.executemany(f'INSERT INTO "{ODD}" VALUES (?,?,?)',
                         [(i, i, f"tag {i}") for i in range(1, COUNTS[ODD] + 1)])
    conn.close()
    return ([c[1] for c in customers] + [c[2] for c in customers]
            + [o[5] for o in orders])


def workspace(tmp_path: Path, src: Path, dst: Path, extra: str = "") -> Path:
    """Every column has a rule except orders.contact_email, which on_unconfigured: mask
    masks (a drift-gate finding in the report)."""
    odd_col = ODD_COLUMN.replace('"', '""')
    ws = tmp_path / "shop.yaml"
    ws.write_text(f"""\
workspace: shop
source: {{url: "sqlite:///{src}"}}
destination: {{url: "sqlite:///{dst}"}}
on_unconfigured: mask
generators:
  customer.id: keep
  customer.full_name: fake_name
  customer.email: fake_email
  customer.referred_by: keep
  product.id: keep
  product.title: keep
  product.price: keep
  orders.id: keep
  orders.customer_id: keep
  orders.product_id: keep
  orders.amount: keep
  orders.note: keep
  '{ODD}.id': keep
  '{ODD}.order_id': keep
  '{ODD}."{odd_col}"': keep
{extra}""", encoding="utf-8")
    return ws


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    finally:
        conn.close()


def svg_of(page: str) -> ET.Element:
    """The FK graph's <svg> element, parsed as XML (so it is well formed)."""
    m = re.search(r'<svg xmlns="http://www\.w3\.org/2000/svg" class="fkgraph".*?</svg>', page,
                  re.S)
    assert m, "no FK graph in the page"
    return ET.fromstring(m.group(0))


def boxes(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG_NS}g") if g.get("class", "").split()[:1] == ["table"]]


def arrows(svg: ET.Element) -> list[ET.Element]:
    return [p for p in svg.iter(f"{SVG_NS}path") if p.get("class") == "fk"]


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    src, dst = tmp_path / "shop.db", tmp_path / "dev.db"
    values = build(src)
    return src, dst, workspace(tmp_path, src, dst), values


# -- the JSON document ---------------------------------------------------------------------


def test_json_report_has_the_counts_generators_gate_and_audit(capsys, tmp_path, shop) -> None:
    src, dst, ws, _ = shop
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code, out, err = run_cli(capsys, "clone", str(ws), "--report", str(out_json),
                             "--report", str(out_html))
    assert code == 0, err
    assert f"report written to {out_json}" in out.splitlines()
    assert f"report written to {out_html}" in out.splitlines()
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["dbclone_report"] == 1
    assert doc["workspace"] == {"name": "shop", "path": str(ws)}
    assert (doc["source"], doc["destination"]) == (f"sqlite:///{src}", f"sqlite:///{dst}")
    assert doc["outcome"] == {"status": "ok", "message": None, "hint": None}
    assert doc["native"] == native.status() and doc["native"].startswith(("on", "off ("))
    assert set(doc["stage_seconds"]) == {"plan", "copy", "audit"}
    assert doc["seconds"] >= sum(doc["stage_seconds"].values()) - 0.01
    # per table, in load order: source rows, destination rows, masked columns
    assert [(t["table"], t["source_rows"], t["destination_rows"], t["columns_masked"])
            for t in doc["tables"]] == [
        ("customer", 30, 30, 2), ("product", 10, 10, 0), ("orders", 80, 80, 1),
        (ODD, 20, 20, 0)]
    for t in doc["tables"]:
        assert t["destination_rows"] == count(dst, t["name"]) == count(src, t["name"])
    assert doc["totals"] == {"tables": 4, "source_rows": 140, "destination_rows": 140,
                             "columns_masked": 3}
    # generators per column: the masked ones, with where the rule comes from
    gens = {g["name"]: g for g in doc["generators"]}
    assert {n: g["generator"] for n, g in gens.items() if g["masks"]} == {
        "customer.full_name": "fake_name", "customer.email": "fake_email",
        "orders.contact_email": "fake_email"}
    assert gens["customer.full_name"]["rule"] == f"{ws}:7"
    assert gens["orders.contact_email"]["rule"] == f"{ws}: on_unconfigured: mask"
    assert gens["product.title"] == {**gens["product.title"], "generator": "keep",
                                     "masks": False}
    assert len(gens) == 16
    # the drift gate: the unconfigured e-mail column, masked by the policy
    [finding] = doc["gate"]["findings"]
    assert (finding["column"], finding["kind"], finding["policy"], finding["action"]) == (
        "orders.contact_email", "email", "mask", "masked with fake_email")
    # the leak audit: sampled per column, zero leaks
    audit = doc["audit"]
    assert audit["passed"] is True
    assert {c["column"]: (c["generator"], c["sampled"], c["leaked_rows"])
            for c in audit["columns"]} == {
        "customer.full_name": ("fake_name", 30, 0), "customer.email": ("fake_email", 30, 0),
        "orders.contact_email": ("fake_email", 80, 0)}
    # the FK graph: every table in load-order layers, every FK
    graph = doc["graph"]
    assert [(n["table"], n["layer"]) for n in graph["nodes"]] == [
        ("customer", 0), ("product", 0), ("orders", 1), (ODD, 2)]
    assert sorted((x["from"], x["to"], x["self"]) for x in graph["edges"]) == [
        (ODD, "orders", False), ("customer", "customer", True),
        ("orders", "customer", False), ("orders", "product", False)]
    assert doc["subset"] is None


# -- the HTML page --------------------------------------------------------------------------


def test_html_report_escapes_names_and_draws_every_table_and_fk(capsys, tmp_path, shop) -> None:
    _, _, ws, _ = shop
    page_path = tmp_path / "report.html"
    code, _, err = run_cli(capsys, "clone", str(ws), "--report", str(page_path))
    assert code == 0, err
    page = page_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # self-contained: no script, nothing to fetch
    assert not re.search(r"<script|<link|<img|<iframe|@import|\b(?:src|href)\s*=", page, re.I)
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]
    # every name escaped: the odd table and column appear only in escaped form
    assert "&lt;x&gt;&amp;y" in page
    assert ODD not in page
    assert html.escape(ODD_COLUMN) in page and ODD_COLUMN not in page
    # the per-table table: one row per table, in load order
    m = re.search(r'<table class="grid tables">(.*?)</table>', page, re.S)
    assert m
    names = re.findall(r"<tr><td class=\"n\">\d+</td><td><code>(.*?)</code>", m.group(1))
    assert names == ["customer", "product", "orders", "&lt;x&gt;&amp;y"]
    for section in ("graph", "tables", "generators", "gate", "findings", "audit"):
        assert f'<section id="{section}">' in page
    # the graph: one box per table, one arrow per FK (the self-reference too)
    svg = svg_of(page)
    labels = sorted("".join(b.find(f"{SVG_NS}title").itertext()) for b in boxes(svg))
    assert labels == sorted(COUNTS)
    assert len(arrows(svg)) == FOREIGN_KEYS
    titles = sorted("".join(p.find(f"{SVG_NS}title").itertext()) for p in arrows(svg))
    assert titles[0].startswith(f"{ODD}(order_id) → orders(id)")
    # the audit table shows counts, and the header the timings
    assert "no leak found in the copy" in page
    assert re.search(r"plan \d", page) and re.search(r"copy \d", page)


def test_reports_hold_no_masked_source_value_and_no_password(capsys, tmp_path, shop) -> None:
    _, _, ws, values = shop
    config = load_workspace(ws)
    result = run(config)
    # the same run as if its URLs held passwords (SQLite URLs cannot): str() hides them
    secret = "S3cr3t-Pw0rd"
    plan = dataclasses.replace(
        result.plan,
        source_url=parse_url(f"postgresql://app:{secret}@db.example:5432/shop"),
        destination_url=parse_url(f"postgresql://dev:{secret}x@db.example:5432/shop_dev"))
    result = dataclasses.replace(result, plan=plan)
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    run_report.write_reports(result, [out_json, out_html])
    text = out_json.read_text(encoding="utf-8") + out_html.read_text(encoding="utf-8")
    assert "db.example:5432/shop_dev" in text
    assert secret not in text
    # no source value of a masked column: names and e-mails, as they are or escaped
    assert len(values) == 140
    for v in values:
        assert v not in text and html.escape(v) not in text, v


def test_report_of_a_failed_audit_is_written_and_named_in_the_error(capsys, tmp_path) -> None:
    src, dst = tmp_path / "shop.db", tmp_path / "dev.db"
    values = build(src, leak=True)
    ws = workspace(tmp_path, src, dst)
    out_json, out_html = tmp_path / "ci" / "leaks.json", tmp_path / "ci" / "leaks.html"
    out_json.parent.mkdir()
    code, _, err = run_cli(capsys, "clone", str(ws), "--report", str(out_json),
                           "--report", str(out_html))
    assert code == 8
    assert not dst.exists()  # the leaked copy was not swapped in
    lines = err.splitlines()
    assert f"report written to {out_json} (the leak audit's findings, no values)" in lines
    assert f"report written to {out_html} (the leak audit's findings, no values)" in lines
    assert any(line.startswith("error: leak audit:") for line in lines)
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["outcome"]["status"] == "leaks"
    assert "main.orders.note" in doc["outcome"]["message"]
    assert doc["audit"]["passed"] is False
    leaks = {c["column"]: c["leaks"] for c in doc["audit"]["columns"] if c["leaks"]}
    assert leaks == {"customer.full_name": [
        {"found_in": "main.orders.note", "rows": 2, "keys": [f"id={i}" for i in LEAK_ROWS]}]}
    page = out_html.read_text(encoding="utf-8")
    assert "The leak audit found source values in the copy" in page
    assert "<code>main.orders.note</code>: 2 rows" in page
    assert "id=7, id=9" in page
    text = page + out_json.read_text(encoding="utf-8")
    for v in values:  # the leaked name too: where, never what
        assert v not in text and html.escape(v) not in text, v
    assert sorted(p.name for p in out_json.parent.iterdir()) == ["leaks.html", "leaks.json"]


def test_subset_roots_and_path_are_marked_in_the_graph(capsys, tmp_path) -> None:
    src, dst = tmp_path / "shop.db", tmp_path / "dev.db"
    build(src)
    ws = workspace(tmp_path, src, dst, "subset:\n  root_table: orders\n  target_size: 10\n"
                                        f"  exclude: ['{ODD}']\n")
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code, _, err = run_cli(capsys, "clone", str(ws), "--report", str(out_json),
                           "--report", str(out_html))
    assert code == 0, err
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    roles = {n["table"]: n["subset_role"] for n in doc["graph"]["nodes"]}
    assert roles == {"orders": "root", "customer": "reached", "product": "reached",
                     ODD: "excluded"}
    rows = {t["table"]: (t["source_rows"], t["destination_rows"]) for t in doc["tables"]}
    assert rows["orders"] == (80, 10) and rows[ODD] == (20, 0)
    on_path = {(x["from"], x["to"]) for x in doc["graph"]["edges"] if x["subset_path"]}
    assert {("orders", "customer"), ("orders", "product")} <= on_path
    assert (ODD, "orders") not in on_path
    svg = svg_of(out_html.read_text(encoding="utf-8"))
    classes = {"".join(b.find(f"{SVG_NS}title").itertext()): b.get("class")
               for b in boxes(svg)}
    assert classes == {"orders": "table root", "customer": "table reached",
                       "product": "table reached", ODD: "table excluded"}
    highlighted = [p for p in arrows(svg) if p.get("marker-end") == "url(#arrow-path)"]
    assert len(highlighted) >= 2
    assert len(arrows(svg)) == FOREIGN_KEYS


# -- paths and atomic writes ----------------------------------------------------------------


@pytest.mark.parametrize("name, message", [
    ("report.txt", "the name must end in .html or .json"),
    ("missing/report.html", "does not exist"),
])
def test_a_bad_report_path_stops_before_anything_runs(capsys, tmp_path, shop, name,
                                                      message) -> None:
    _, dst, ws, _ = shop
    code, _, err = run_cli(capsys, "clone", str(ws), "--report", str(tmp_path / name))
    assert code == 2
    assert message in err.splitlines()[0]
    assert not dst.exists()


def test_reports_replace_old_ones_atomically(capsys, tmp_path, shop, monkeypatch) -> None:
    _, _, ws, _ = shop
    config = load_workspace(ws)
    result = run(config)
    target = tmp_path / "r.json"
    target.write_text("old", encoding="utf-8")
    run_report.write_reports(result, [target])
    assert json.loads(target.read_text(encoding="utf-8"))["dbclone_report"] == 1

    def fail(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    target.write_text("old", encoding="utf-8")
    monkeypatch.setattr(run_report.os, "replace", fail)
    with pytest.raises(run_report.ReportError, match="No space left on device"):
        run_report.write_reports(result, [target])
    assert target.read_text(encoding="utf-8") == "old"  # untouched, and nothing left over
    assert not [p for p in tmp_path.iterdir() if ".dbclone-tmp-" in p.name]


def test_a_report_that_cannot_be_written_keeps_the_leak_exit_code(capsys, tmp_path,
                                                                   monkeypatch) -> None:
    src, dst = tmp_path / "shop.db", tmp_path / "dev.db"
    build(src, leak=True)
    ws = workspace(tmp_path, src, dst)

    def fail(*_args: object) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(run_report.os, "replace", fail)
    code, _, err = run_cli(capsys, "clone", str(ws), "--report", str(tmp_path / "r.html"))
    assert code == 8
    assert f"warning: could not write the report {tmp_path / 'r.html'}: Permission denied" \
        in err.splitlines()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".html" or ".dbclone-tmp-"
                in p.name]
