"""CLI behaviour: exit codes, one-line errors without tracebacks, and docs coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dbclone import native
from dbclone.cli import cli, main
from dbclone.transform import REGISTRY

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_generators_json_lists_the_catalogue(capsys) -> None:
    code, out, _ = run(capsys, "generators", "--json")
    assert code == 0
    names = [e["name"] for e in json.loads(out)]
    assert names == sorted(REGISTRY)


def test_unknown_generator_is_exit_2_with_hint(capsys) -> None:
    code, _, err = run(capsys, "generators", "fake_emial")
    assert code == 2
    assert err.splitlines() == ["error: unknown generator 'fake_emial'",
                                "hint: did you mean 'fake_email'?"]


def test_missing_workspace_is_one_line_no_traceback(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "plan", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith(f"error: {tmp_path / 'nope.yaml'}: workspace file not found")


def test_bad_yaml_names_file_and_line(capsys, tmp_path) -> None:
    ws = tmp_path / "ws.yaml"
    ws.write_text("source:\n  url: [\n")
    code, _, err = run(capsys, "clone", str(ws))
    assert code == 2
    assert err.startswith(f"error: {ws}:3: not valid YAML")


def test_password_never_printed_for_unreachable_server(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("APP_DB_PASSWORD", "hunter2")
    ws = tmp_path / "ws.yaml"
    ws.write_text("source:\n  url: postgresql://u:${APP_DB_PASSWORD}@127.0.0.1:1/app\n"
                  "destination:\n  url: postgresql://u:${APP_DB_PASSWORD}@127.0.0.1:1/app_dev\n")
    code, out, err = run(capsys, "plan", str(ws))
    assert code == 3
    assert "hunter2" not in out + err
    assert "127.0.0.1:1" in err


def test_same_source_and_destination_is_refused(capsys, tmp_path) -> None:
    ws = tmp_path / "ws.yaml"
    ws.write_text("source: {url: 'sqlite:///a.db'}\ndestination: {url: 'sqlite:///./a.db'}\n")
    code, _, err = run(capsys, "clone", str(ws))
    assert code == 2
    assert "destination is the source database" in err


def test_traceback_flag_shows_the_traceback_and_keeps_the_exit_code(capsys, tmp_path) -> None:
    from dbclone.errors import ConfigError

    code = main(["--traceback", "plan", str(tmp_path / "nope.yaml")])
    assert code == ConfigError.exit_code == main(["plan", str(tmp_path / "nope.yaml")])
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "dbclone.errors.ConfigError" in err and "\nerror: " in err


def test_every_command_and_generator_is_in_the_readme() -> None:
    for name in cli.commands:
        assert f"`dbclone {name}" in README, f"command {name} is not documented"
    for name in REGISTRY:
        assert re.search(rf"\| `{name}` \|", README), f"generator {name} is not documented"


def test_readme_generator_table_is_current() -> None:
    from dbclone.docs import render

    assert render(README) == README, "run: python -m dbclone.docs"


# -- successful runs on a small SQLite database -----------------------------------------------
# department <-> employee is an FK cycle (broken at the nullable department.head_id), and
# employee.manager_id references employee itself.

STAFF = """
CREATE TABLE department (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                         head_id INTEGER REFERENCES employee (id));
CREATE TABLE employee (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT,
                       manager_id INTEGER REFERENCES employee (id),
                       department_id INTEGER NOT NULL REFERENCES department (id));
CREATE TABLE note (id INTEGER PRIMARY KEY, employee_id INTEGER NOT NULL
                   REFERENCES employee (id), body TEXT);
INSERT INTO department VALUES (1, 'Sales', NULL), (2, 'Ops', NULL);
INSERT INTO employee VALUES (1, 'Ada Lovelace', 'ada@corp.test', NULL, 1),
                            (2, 'Alan Turing', 'alan@corp.test', 1, 1),
                            (3, 'Grace Hopper', NULL, 1, 2),
                            (4, 'Edsger Dijkstra', 'edsger@corp.test', 3, 2);
UPDATE department SET head_id = CASE id WHEN 1 THEN 1 ELSE 3 END;
INSERT INTO note VALUES (1, 1, 'first'), (2, 2, 'second'), (3, 4, NULL);
ANALYZE;
"""
STAFF_TABLES = ["main.department", "main.employee", "main.note"]


@pytest.fixture
def staff(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(workspace, source file, destination file) for the staff database."""
    import sqlite3

    src, dst = tmp_path / "staff.db", tmp_path / "staff_dev.db"
    conn = sqlite3.connect(src)
    conn.executescript(STAFF)
    conn.close()
    ws = tmp_path / "staff.yaml"
    ws.write_text(f"workspace: staff\n"
                  f"source: {{url: 'sqlite:///{src}'}}\n"
                  f"destination: {{url: 'sqlite:///{dst}'}}\n"
                  "generators:\n"
                  "  main.employee.full_name: fake_name\n"
                  "  main.employee.email: fake_email\n"
                  # not a test of the privacy gate: note.body is left unconfigured on purpose
                  "on_unconfigured: keep\n", encoding="utf-8")
    return ws, src, dst


def _rows(path: Path, query: str) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def test_inspect_json_lists_tables_fks_and_cycles(capsys, staff) -> None:
    ws, src, dst = staff
    code, out, _ = run(capsys, "inspect", str(ws), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["source"] == f"sqlite:///{src}"
    assert data["dialect"] == "sqlite" and data["schemas"] == ["main"]
    tables = {t["table"]: t for t in data["tables"]}
    assert sorted(tables) == STAFF_TABLES  # sqlite_stat1 is no table of the user's
    assert {n: t["rows_estimate"] for n, t in tables.items()} == {
        "main.department": 2, "main.employee": 4, "main.note": 3}
    assert {n: t["primary_key"] for n, t in tables.items()} == {n: ["id"] for n in tables}
    assert [(c["name"], c["nullable"]) for c in tables["main.employee"]["columns"]] == [
        ("id", False), ("full_name", False), ("email", True), ("manager_id", True),
        ("department_id", False)]
    assert sorted((fk["from"], fk["columns"], fk["to"], fk["ref_columns"], fk["nullable"],
                   fk["deferrable"]) for fk in data["foreign_keys"]) == [
        ("main.department", ["head_id"], "main.employee", ["id"], True, False),
        ("main.employee", ["department_id"], "main.department", ["id"], False, False),
        ("main.employee", ["manager_id"], "main.employee", ["id"], True, False),
        ("main.note", ["employee_id"], "main.employee", ["id"], False, False)]
    assert [sorted(c) for c in data["cycles"]] == [["main.department", "main.employee"]]
    assert len(data["self_references"]) == 1
    assert data["self_references"][0].startswith("main.employee(manager_id) -> "
                                                 "main.employee(id)")
    assert len(data["cycle_breaks"]) == 1
    assert data["cycle_breaks"][0].startswith("main.department(head_id) -> main.employee(id)")
    assert data["load_order"] == STAFF_TABLES
    assert not dst.exists()
    assert sorted(p.name for p in src.parent.iterdir()) == ["staff.db", "staff.yaml"]


def test_plan_says_nothing_is_written_and_writes_nothing(capsys, staff) -> None:
    ws, src, dst = staff
    before = src.read_bytes()
    code, out, _ = run(capsys, "plan", str(ws))
    assert code == 0
    assert out.rstrip().splitlines()[-1] == "nothing written (plan only)"
    # the tables in load order, the masked columns, the cycle break
    positions = [out.index(f" {t} ") for t in STAFF_TABLES]
    assert positions == sorted(positions)
    assert "full_name: fake_name" in out and "fake_email" in out
    assert "cycle broken at: main.department(head_id) -> main.employee(id)" in out
    assert not dst.exists()
    assert sorted(p.name for p in src.parent.iterdir()) == ["staff.db", "staff.yaml"]
    assert src.read_bytes() == before


def test_clone_json_reports_rows_and_masked_columns_per_table(capsys, staff) -> None:
    ws, src, dst = staff
    before = src.read_bytes()
    code, out, _ = run(capsys, "clone", str(ws), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["destination"] == f"sqlite:///{dst}"
    assert data["native"] == native.status()  # the README promises it here too
    assert [(t["table"], t["rows_read"], t["rows_written"], t["columns_masked"])
            for t in data["tables"]] == [("main.department", 2, 2, 0),
                                         ("main.employee", 4, 4, 2),
                                         ("main.note", 3, 3, 0)]
    assert all(t["seconds"] >= 0 for t in data["tables"])
    # SQLite: masked here, in this process (no source SQL, no worker processes)
    assert {(t["columns_pushed_down"], t["workers"]) for t in data["tables"]} == {(0, 0)}
    # the copy says the same: every row, the two columns masked, NULL kept NULL
    for t in ("department", "employee", "note"):
        assert _rows(dst, f"SELECT count(*) FROM {t}") == _rows(src, f"SELECT count(*) FROM {t}")
    query = "SELECT id, full_name, email, manager_id, department_id FROM employee ORDER BY id"
    copied, source = _rows(dst, query), _rows(src, query)
    assert [r[0:1] + r[3:] for r in copied] == [r[0:1] + r[3:] for r in source]
    assert all(c[1] != s[1] for c, s in zip(copied, source, strict=True))
    assert [c[2] is None for c in copied] == [s[2] is None for s in source]
    assert all(c[2] != s[2] for c, s in zip(copied, source, strict=True) if s[2] is not None)
    for t in ("department", "note"):
        assert _rows(dst, f"SELECT * FROM {t} ORDER BY id") == \
            _rows(src, f"SELECT * FROM {t} ORDER BY id")
    assert _rows(dst, "PRAGMA foreign_key_check") == []
    assert src.read_bytes() == before
    assert sorted(p.name for p in src.parent.iterdir()) == ["staff.db", "staff.yaml",
                                                            "staff_dev.db"]


def test_a_password_written_in_the_workspace_is_refused(capsys, tmp_path) -> None:
    ws = tmp_path / "ws.yaml"
    ws.write_text("workspace: app\nsource:\n  url: postgresql://u@127.0.0.1:1/app\n"
                  "destination:\n  url: postgresql://u:hunter2@127.0.0.1:1/app_dev\n")
    code, out, err = run(capsys, "plan", str(ws))
    assert code == 2
    assert err.startswith(f"error: {ws}:5: destination.url has a password written in the file")
    assert "hunter2" not in out + err and "${" in err  # the hint shows how


def test_clone_without_a_terminal_logs_each_table_when_it_is_done(capsys, staff) -> None:
    """CI logs: every table gets its line, however quick (the periodic lines alone showed
    only whichever table happened to be copying when the 5 s came round)."""
    ws, _src, _dst = staff
    code, _out, err = run(capsys, "clone", str(ws))
    assert code == 0
    done = [line.split(" rows in ")[0] for line in err.splitlines() if " rows in " in line]
    assert done == ["main.department: 2", "main.employee: 4", "main.note: 3"]
    assert [line for line in err.splitlines() if line.startswith("stage: ")][:2] == [
        "stage: prepare", "stage: schema"]
