"""text_redact on MariaDB: notes linked to their patient through a foreign key, NER batched
per batch of rows; no original name, phone or e-mail survives, and a note names its patient
by the patient's masked name."""

from __future__ import annotations

import re

import yaml
from conftest import MY_ADMIN, my_connect, my_drop, write_workspace

from dbclone import pipeline
from dbclone.config import load_workspace

SCHEMA = """
CREATE TABLE patients (id int PRIMARY KEY, first_name varchar(40) NOT NULL,
                       last_name varchar(40) NOT NULL);
CREATE TABLE notes (id int PRIMARY KEY, patient_id int NOT NULL,
                    body text, FOREIGN KEY (patient_id) REFERENCES patients(id));
INSERT INTO patients VALUES (1, 'Orla', 'Venn'), (2, 'Amara', 'Okonkwo');
INSERT INTO notes VALUES
  (1, 1, 'Patient Orla Venn called from 415-555-0199 about her refill.'),
  (2, 1, 'ORLA VENN emailed orla.venn@example.org.'),
  (3, 2, 'Spoke with amara okonkwo; she will call back.'),
  (4, 2, NULL),
  (5, 2, '');
"""


def test_notes_on_mariadb_lose_every_original_and_name_the_masked_patient(
        my_db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "mysql-text")
    src = my_db(SCHEMA)
    dst = f"{src}_dst"
    rules = {
        "patients.first_name": "fake_first_name",
        "patients.last_name": "fake_last_name",
        "notes.body": {"type": "text_redact", "linked": {
            "patient_id": {"table": "patients", "columns": ["first_name", "last_name"]}}},
    }
    doc = {"workspace": "notes", "source": {"url": f"{MY_ADMIN}/{src}"},
           "destination": {"url": f"{MY_ADMIN}/{dst}"}, "secret": "${DBCLONE_SECRET}",
           "generators": rules}
    try:
        pipeline.run(load_workspace(write_workspace(tmp_path, yaml.safe_dump(doc))))
        with my_connect(dst) as c, c.cursor() as cur:
            cur.execute("SELECT id, first_name, last_name FROM patients ORDER BY id")
            patients = {r[0]: r[1:] for r in cur.fetchall()}
            cur.execute("SELECT id, body FROM notes ORDER BY id")
            notes = dict(cur.fetchall())
        text = "\n".join(b for b in notes.values() if b)
        for name in ("Orla", "Venn", "Amara", "Okonkwo"):
            assert not re.search(rf"(?i)\b{name}\b", text), name
        assert "415-555-0199" not in text and "orla.venn@example.org" not in text
        first, last = patients[1]
        assert notes[1].startswith(f"Patient {first} {last} called from ")
        assert notes[2].startswith(f"{first.upper()} {last.upper()} emailed ")
        assert notes[4] is None and notes[5] == ""
    finally:
        my_drop(dst)
