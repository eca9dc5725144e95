"""``dbclone demo``: the clinic sample, its masked clone, and the example workspaces."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from dbclone.config import load_workspace
from dbclone.demo import build_sample, run_demo, workspace_text
from dbclone.pipeline import CloneReport

ROOT = Path(__file__).resolve().parent.parent

# Counts follow from the seed and Python's random module alone (Faker only fills in values).
EXPECTED_ROWS = {"providers": 8, "patients": 60, "encounters": 150, "prescriptions": 120,
                 "notes": 90}
MASKED = {
    "providers": ("full_name", "email", "phone"),
    "patients": ("first_name", "last_name", "email", "phone", "ssn", "date_of_birth"),
    "notes": ("body",),
}


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CloneReport]:
    workdir = tmp_path_factory.mktemp("demo")
    return workdir, run_demo(workdir)


def test_demo_writes_the_source_the_copy_and_the_workspace(demo) -> None:
    workdir, report = demo
    assert sorted(p.name for p in workdir.iterdir()) == \
        ["clinic.db", "clinic_demo.yaml", "clinic_dev.db"]
    assert report.plan.destination_url.database == str((workdir / "clinic_dev.db").resolve())


def test_demo_copies_every_table_with_the_expected_row_counts(demo) -> None:
    workdir, report = demo
    src, dst = workdir / "clinic.db", workdir / "clinic_dev.db"
    for table, n in EXPECTED_ROWS.items():
        assert rows(src, f"SELECT count(*) FROM {table}") == [(n,)], table
        assert rows(dst, f"SELECT count(*) FROM {table}") == [(n,)], table
    assert {str(t.table): t.rows_written for t in report.tables} == \
        {f"main.{t}": n for t, n in EXPECTED_ROWS.items()}
    # parents first: providers before patients, patients before encounters
    order = [t.table.name for t in report.tables]
    assert order.index("providers") < order.index("patients") < order.index("encounters")
    assert {t.table.name: t.columns_masked for t in report.tables if t.columns_masked} == \
        {t: len(cols) for t, cols in MASKED.items()}


def test_demo_leaves_no_source_value_in_any_masked_column(demo) -> None:
    workdir, _ = demo
    src, dst = workdir / "clinic.db", workdir / "clinic_dev.db"
    for table, columns in MASKED.items():
        for column in columns:
            before = dict(rows(src, f"SELECT id, {column} FROM {table}"))
            after = dict(rows(dst, f"SELECT id, {column} FROM {table}"))
            assert after.keys() == before.keys()
            for key, value in before.items():
                if value is None:
                    assert after[key] is None, f"{table}.{column} NULL kept"
                else:
                    assert after[key] is not None and after[key] != value, f"{table}.{column}"
    # identifying values do not reappear anywhere in their column, not even on another row
    for table, column in [("patients", "ssn"), ("patients", "email"), ("patients", "phone"),
                          ("providers", "email")]:
        before = {v for (v,) in rows(src, f"SELECT {column} FROM {table}") if v is not None}
        after = {v for (v,) in rows(dst, f"SELECT {column} FROM {table}") if v is not None}
        assert before and before.isdisjoint(after), f"{table}.{column}"


def test_demo_notes_keep_no_name_date_or_phone(demo) -> None:
    workdir, _ = demo
    src, dst = workdir / "clinic.db", workdir / "clinic_dev.db"
    bodies = " ".join(b for (b,) in rows(dst, "SELECT body FROM notes")).lower()
    for first, last, dob in rows(src, "SELECT first_name, last_name, date_of_birth "
                                      "FROM patients"):
        assert first.lower() not in bodies and last.lower() not in bodies
        assert dob not in bodies
    assert not re.search(r"\d", bodies)


def test_demo_keeps_unmasked_data_keys_and_schema(demo) -> None:
    workdir, _ = demo
    src, dst = workdir / "clinic.db", workdir / "clinic_dev.db"
    for sql in ["SELECT * FROM encounters ORDER BY id",
                "SELECT id, drug, dose, label FROM prescriptions ORDER BY id",
                "SELECT id, primary_provider_id, last_encounter_id FROM patients ORDER BY id",
                "SELECT id, supervisor_id, specialty FROM providers ORDER BY id",
                "SELECT name, seq FROM sqlite_sequence ORDER BY name",
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' "
                "ORDER BY type, name"]:
        assert rows(dst, sql) == rows(src, sql), sql
    assert rows(dst, "PRAGMA foreign_key_check") == []
    # the counter ran ahead of max(id) in the source (deleted rows) and still does
    assert rows(dst, "SELECT seq FROM sqlite_sequence WHERE name = 'prescriptions'") == [(123,)]
    # the view reads the copy; the trigger exists but did not fire during the load
    assert rows(dst, "SELECT sum(visits) FROM patient_visits") == [(150,)]


def test_the_sample_is_the_same_every_time(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    build_sample(a)
    build_sample(b)
    dump = "SELECT * FROM patients ORDER BY id"
    assert rows(a, dump) == rows(b, dump)
    notes = "SELECT * FROM notes ORDER BY id"
    assert rows(a, notes) == rows(b, notes)
    # and the notes really do repeat the patients' details, which is what makes them sensitive
    first, last = rows(a, "SELECT p.first_name, p.last_name FROM notes n "
                          "JOIN encounters e ON e.id = n.encounter_id "
                          "JOIN patients p ON p.id = e.patient_id ORDER BY n.id LIMIT 1")[0]
    assert f"{first} {last}" in rows(a, "SELECT body FROM notes ORDER BY id LIMIT 1")[0][0]
    assert rows(a, "SELECT count(*) FROM patients WHERE email IS NULL") == [(8,)]


def test_running_the_demo_again_replaces_the_copy(tmp_path: Path) -> None:
    run_demo(tmp_path)
    report = run_demo(tmp_path)
    assert sum(t.rows_written for t in report.tables) == sum(EXPECTED_ROWS.values())
    assert not [p for p in tmp_path.iterdir() if ".dbclone-tmp-" in p.name]


def test_the_written_workspace_points_into_the_workdir(tmp_path: Path) -> None:
    text = workspace_text(tmp_path)
    assert "${" not in text
    (tmp_path / "ws.yaml").write_text(text)
    config = load_workspace(tmp_path / "ws.yaml", env={})
    assert config.source.url == f"sqlite:///{tmp_path.resolve().as_posix()}/clinic.db"
    assert config.destination.url == f"sqlite:///{tmp_path.resolve().as_posix()}/clinic_dev.db"


def test_the_top_level_demo_workspace_is_the_packaged_one() -> None:
    packaged = resources.files("dbclone").joinpath("workspaces", "clinic_demo.yaml")
    assert (ROOT / "workspaces" / "clinic_demo.yaml").read_text() == packaged.read_text()


@pytest.mark.parametrize("name", ["clinic_demo.yaml", "pagila_pg.yaml", "chinook_mysql.yaml"])
def test_example_workspaces_load_with_their_defaults(name: str) -> None:
    config = load_workspace(ROOT / "workspaces" / name, env={})
    assert config.rules
    assert config.source.url != config.destination.url
