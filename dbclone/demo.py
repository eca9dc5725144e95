"""``dbclone demo``: build a small clinic database and clone it masked, with no server.

The sample is generated here with a fixed Faker seed, so every run builds the same
``clinic.db``. Its shape exercises what a clone has to get right: a self-referencing table
(providers.supervisor_id), an FK cycle broken by a nullable column (patients.last_encounter_id
-> encounters, encounters.patient_id -> patients), a trigger that would rewrite data if it
fired during the load, a generated column, a view, an index, AUTOINCREMENT counters that run
ahead of max(id), NULL e-mails, and free-text notes that repeat the patients' details.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import sqlite3
from importlib import resources
from pathlib import Path

from faker import Faker

from dbclone.config import load_workspace
from dbclone.pipeline import CloneReport, RunObserver, run

SEED = 4242
WORKSPACE = "clinic_demo.yaml"
SOURCE_NAME = "clinic.db"
DESTINATION_NAME = "clinic_dev.db"

# Rows per table (prescriptions and notes follow from the encounters; see build_sample).
PROVIDERS = 8
PATIENTS = 60
ENCOUNTERS = 150
DELETED_PRESCRIPTIONS = 3  # so sqlite_sequence runs ahead of max(id), as in real databases

SCHEMA = """
CREATE TABLE providers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    full_name     TEXT NOT NULL,
    email         TEXT NOT NULL,
    phone         TEXT,
    specialty     TEXT NOT NULL,
    supervisor_id INTEGER REFERENCES providers (id)
);
CREATE TABLE patients (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    email               TEXT,
    phone               TEXT,
    ssn                 TEXT NOT NULL UNIQUE,
    date_of_birth       DATE NOT NULL,
    primary_provider_id INTEGER NOT NULL REFERENCES providers (id),
    last_encounter_id   INTEGER REFERENCES encounters (id)
);
CREATE TABLE encounters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id  INTEGER NOT NULL REFERENCES patients (id),
    provider_id INTEGER NOT NULL REFERENCES providers (id),
    date        DATE NOT NULL,
    reason      TEXT NOT NULL
);
CREATE TABLE prescriptions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    encounter_id INTEGER NOT NULL REFERENCES encounters (id),
    drug         TEXT NOT NULL,
    dose         TEXT NOT NULL,
    label        TEXT GENERATED ALWAYS AS (drug || ' ' || dose) VIRTUAL
);
CREATE TABLE notes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    encounter_id INTEGER NOT NULL REFERENCES encounters (id),
    body         TEXT NOT NULL
);
CREATE INDEX encounters_by_patient ON encounters (patient_id, date);
CREATE VIEW patient_visits AS
    SELECT p.id AS patient_id, count(e.id) AS visits, max(e.date) AS last_visit
    FROM patients AS p LEFT JOIN encounters AS e ON e.patient_id = p.id
    GROUP BY p.id;
-- Keeps patients.last_encounter_id current. A clone must not let it fire on copied rows.
CREATE TRIGGER encounters_track_last AFTER INSERT ON encounters
BEGIN
    UPDATE patients SET last_encounter_id = NEW.id WHERE id = NEW.patient_id;
END;
"""

SPECIALTIES = ("family medicine", "pediatrics", "cardiology", "dermatology", "internal medicine")
REASONS = ("annual physical", "follow-up", "flu symptoms", "back pain", "rash",
           "blood pressure check", "vaccination", "headache", "lab results review")
DRUGS = (("amoxicillin", "500 mg"), ("lisinopril", "10 mg"), ("metformin", "850 mg"),
         ("ibuprofen", "400 mg"), ("atorvastatin", "20 mg"), ("cetirizine", "10 mg"))

FIRST_DAY = dt.date(2023, 1, 1)
LAST_DAY = dt.date(2024, 12, 31)
OLDEST = dt.date(1940, 1, 1)
YOUNGEST = dt.date(2012, 12, 31)


def build_sample(path: Path) -> None:
    """Write the clinic database to ``path`` (replacing it). Same seed, same file contents."""
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA)
        with conn:
            _fill(conn, fake, rng)
        conn.execute("ANALYZE")
    finally:
        conn.close()
    os.replace(tmp, path)


def _fill(conn: sqlite3.Connection, fake: Faker, rng: random.Random) -> None:
    for i in range(1, PROVIDERS + 1):
        # the first two run the clinic; everyone else reports to one of them
        supervisor = None if i <= 2 else rng.randint(1, 2)
        conn.execute(
            "INSERT INTO providers (full_name, email, phone, specialty, supervisor_id) "
            "VALUES (?, ?, ?, ?, ?)",
            (fake.name(), fake.email(), _phone(fake) if i % 4 else None,
             rng.choice(SPECIALTIES), supervisor))
    patients = []
    for i in range(1, PATIENTS + 1):
        first, last = fake.first_name(), fake.last_name()
        email = (None if i % 7 == 0 else
                 f"{first}.{last}{rng.randint(1, 99)}@{fake.free_email_domain()}".lower())
        phone = _phone(fake) if i % 11 else None
        dob = fake.date_between_dates(OLDEST, YOUNGEST).isoformat()
        conn.execute(
            "INSERT INTO patients (first_name, last_name, email, phone, ssn, date_of_birth, "
            "primary_provider_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (first, last, email, phone, fake.unique.ssn(), dob, rng.randint(1, PROVIDERS)))
        patients.append((i, first, last, phone, dob))
    dates = sorted(fake.date_between_dates(FIRST_DAY, LAST_DAY) for _ in range(ENCOUNTERS))
    for n, day in enumerate(dates, start=1):
        pid, first, last, phone, dob = rng.choice(patients)
        provider = rng.randint(1, PROVIDERS)
        reason = rng.choice(REASONS)
        # the trigger sets patients.last_encounter_id, closing the FK cycle
        conn.execute("INSERT INTO encounters (patient_id, provider_id, date, reason) "
                     "VALUES (?, ?, ?, ?)", (pid, provider, day.isoformat(), reason))
        for drug, dose in rng.sample(DRUGS, k=rng.choice((0, 0, 1, 1, 2))):
            conn.execute("INSERT INTO prescriptions (encounter_id, drug, dose) "
                         "VALUES (?, ?, ?)", (n, drug, dose))
        if rng.random() < 0.6:
            callback = phone or _phone(fake)
            conn.execute(
                "INSERT INTO notes (encounter_id, body) VALUES (?, ?)",
                (n, f"{first} {last} (DOB {dob}) seen on {day.isoformat()} for {reason}. "
                    f"Asked to call back at {callback}. {fake.sentence(nb_words=8)}"))
    conn.execute("DELETE FROM prescriptions WHERE id IN "
                 "(SELECT id FROM prescriptions ORDER BY id DESC LIMIT ?)",
                 (DELETED_PRESCRIPTIONS,))


def _phone(fake: Faker) -> str:
    return fake.numerify("(%##) %##-####")  # % is a digit 1-9: no area code 0xx


def workspace_text(workdir: Path) -> str:
    """The bundled demo workspace with its paths pointing into ``workdir``."""
    text = resources.files("dbclone").joinpath("workspaces", WORKSPACE).read_text("utf-8")
    # Written inside a double-quoted YAML string: escape what YAML would interpret.
    where = workdir.resolve().as_posix().replace("\\", "\\\\").replace('"', '\\"')
    return re.sub(r"\$\{DBCLONE_DEMO_DIR(?::-[^}]*)?\}", lambda _: where, text)


def run_demo(workdir: Path, observer: RunObserver | None = None) -> CloneReport:
    """Build ``workdir/clinic.db``, write ``workdir/clinic_demo.yaml`` and clone the database
    into ``workdir/clinic_dev.db`` with the workspace's masking rules."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    build_sample(workdir / SOURCE_NAME)
    ws = workdir / WORKSPACE
    ws.write_text(workspace_text(workdir), encoding="utf-8")
    return run(load_workspace(ws), observer)
