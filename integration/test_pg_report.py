"""The HTML report of a Pagila clone in a real browser: headless Chromium (Debian package
``chromium``; .ci/run installs it) opens ``report.html`` from disk without errors, takes a
screenshot that is not blank and shows the graph, and its rendered DOM holds the per-table
table and the FK graph's SVG. The password of the workspace's URLs is nowhere in the report,
and neither is a source value of a masked column."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import PG_ADMIN, pg_dataset
from sqlalchemy.engine import make_url
from test_pg_support import rows

from dbclone.cli import main
from dbclone.report import drawn_edges

PASSWORD = "Pw-Hunter2-report"  # trust auth on the test server: accepted and ignored
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  # the page's console (script errors, blocked loads) on stderr too
                  "--enable-logging=stderr"]
PAGILA_TABLES = ["actor", "address", "category", "city", "country", "customer", "film",
                 "film_actor", "film_category", "inventory", "language", "payment", "rental",
                 "staff", "store"]
SVG_NS = "{http://www.w3.org/2000/svg}"
# colours the page paints (exactly, inside shapes): the header band and the purple strip of a
# graph box whose table has masked columns
HEADER_RGB = (0x1F, 0x29, 0x37)
MASKED_STRIP_RGB = (0x82, 0x50, 0xDF)


def url_with_password(db: str) -> str:
    return make_url(PG_ADMIN).set(password=PASSWORD, database=db).render_as_string(
        hide_password=False)


@pytest.fixture(scope="module")
def pagila(datasets_dir) -> Iterator[str]:
    with pg_dataset("pagila") as name:
        yield name


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium; .ci/run does)")
    return path


def browse(chromium: str, tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
                           page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=180, check=False)


def errors_that_matter(stderr: str) -> list[str]:
    """What of Chromium's stderr is about the page: its console (a script error, a load the
    Content-Security-Policy blocked), a failed or refused load, a crash. Chromium's own
    complaints on a machine with no display, D-Bus or GPU (ERROR lines from dbus/, viz frame
    timing, vaapi; the Debian launcher's sh warning) are not."""
    return [line for line in stderr.splitlines()
            if re.search(r":CONSOLE|:FATAL:|net::ERR_|violates the following|Refused to|"
                         r"Uncaught|Failed to load|Not allowed to load|crash", line, re.I)]


def read_png(path: Path) -> tuple[int, int, list[bytes], int]:
    """(width, height, decoded rows, bytes per pixel) of an 8-bit RGB(A) PNG, with zlib."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(height):
        start = y * (stride + 1)
        kind_ = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        if kind_ == 1:  # sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind_ == 2:  # up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind_ == 3:  # average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind_ == 4:  # paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
                           ) & 255
        out.append(bytes(line))
        prev = line
    return width, height, out, bpp


def test_pagila_html_report_renders_in_headless_chromium(
        capsys, monkeypatch, pagila, chromium, tmp_path) -> None:
    dst = f"{pagila}_report"
    ws = tmp_path / "pagila.yaml"
    code = main(["init", "--source", url_with_password(pagila), "--destination",
                 url_with_password(dst), "-o", str(ws)])
    assert code == 0, capsys.readouterr().err
    assert PASSWORD not in ws.read_text(encoding="utf-8")
    monkeypatch.setenv("DBCLONE_SOURCE_PASSWORD", PASSWORD)  # what init asks for
    page, doc_path = tmp_path / "out" / "report.html", tmp_path / "out" / "report.json"
    page.parent.mkdir()
    capsys.readouterr()
    code = main(["clone", str(ws), "--report", str(page), "--report", str(doc_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"report written to {page}" in out.splitlines()
    html_text, json_text = page.read_text(encoding="utf-8"), doc_path.read_text(
        encoding="utf-8")
    doc = json.loads(json_text)
    assert PASSWORD not in html_text + json_text
    assert doc["destination"].endswith(f"@127.0.0.1:5432/{dst}")
    assert [t["table"] for t in doc["tables"]][:1] == ["public.actor"]
    assert sorted(t["name"] for t in doc["tables"]) == PAGILA_TABLES
    assert doc["audit"]["passed"] is True
    for (email,) in rows(pagila, "SELECT email FROM customer ORDER BY customer_id"):
        assert email not in html_text + json_text

    # the screenshot: exit 0, nothing on stderr that matters, a PNG with a picture in it
    shot = tmp_path / "report.png"
    r = browse(chromium, tmp_path, page, f"--screenshot={shot}", "--window-size=1400,2400")
    assert r.returncode == 0, r.stderr[-2000:]
    assert errors_that_matter(r.stderr) == []
    assert shot.is_file()
    width, height, pixels, bpp = read_png(shot)
    assert (width, height) == (1400, 2400)
    colours: Counter[bytes] = Counter()
    for row in pixels[::3]:
        for i in range(0, len(row), bpp * 3):
            colours[row[i:i + 3]] += 1
    assert len(colours) > 200, "the screenshot is (nearly) blank"
    assert colours.most_common(1)[0][1] < 0.8 * sum(colours.values())
    assert bytes(HEADER_RGB) in colours
    assert bytes(MASKED_STRIP_RGB) in colours  # the graph was drawn (tables with masks)

    # the rendered DOM: the per-table table and the graph's svg, as the browser built them
    r = browse(chromium, tmp_path, page, "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert errors_that_matter(r.stderr) == []
    dom = r.stdout
    table = re.search(r'<table class="grid tables">(.*?)</table>', dom, re.S)
    assert table, "no per-table table in the DOM"
    listed = re.findall(r"<tr><td class=\"n\">\d+</td><td><code>public\.(\w+)</code>",
                        table.group(1))
    assert sorted(listed) == PAGILA_TABLES
    for t in doc["tables"]:  # source and destination rows as counted
        assert f"<code>{t['table']}</code></td><td class=\"n\">{t['source_rows']:,}" in dom
    svg_text = re.search(r'<svg xmlns="http://www\.w3\.org/2000/svg" class="fkgraph".*?'
                         r"</svg>", dom, re.S)
    assert svg_text, "no FK graph svg in the DOM"
    svg = ET.fromstring(svg_text.group(0))
    box_titles = sorted("".join(g.find(f"{SVG_NS}title").itertext())
                        for g in svg.iter(f"{SVG_NS}g")
                        if g.get("class", "").split()[:1] == ["table"])
    assert box_titles == [f"public.{t}" for t in PAGILA_TABLES]
    # one arrow per FK; the FK each partition of payment declares is one arrow of payment
    fks = rows(pagila, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")[0][0]
    assert len(doc["graph"]["edges"]) == fks == 36
    arrows = [p for p in svg.iter(f"{SVG_NS}path") if p.get("class") == "fk"]
    assert len(arrows) == len(drawn_edges(doc)) == 21
    payment = sorted("".join(p.find(f"{SVG_NS}title").itertext()) for p in arrows
                     if "".join(p.find(f"{SVG_NS}title").itertext()).startswith(
                         "public.payment("))
    assert len(payment) == 3 and all("6 FKs, one per partition" in t for t in payment)
