"""The privacy gate from the command line, on SQLite (no server): ``dbclone init`` flags the
sensitive columns and writes a workspace and its schema lock, ``dbclone validate`` is the drift
gate for CI, ``dbclone clone`` stops on drift (case 29) and on leaks found by the audit."""

from __future__ import annotations

import hashlib
import json
import random
import re
import sqlite3
from pathlib import Path

import pytest
from faker import Faker

from dbclone.cli import main
from dbclone.errors import ConfigError, ConnectionFailed, LeakDetected, SchemaDrift
from tests.test_sqlite_clone import make_db, rows

# -- helpers ---------------------------------------------------------------------------------


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def every_text(path: Path) -> str:
    """Every value of every table of a SQLite file, as one text (for 'is X anywhere')."""
    out = []
    for (table,) in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'"):
        for row in rows(path, f'SELECT * FROM "{table}"'):
            out.extend(str(v) for v in row if v is not None)
    return "\n".join(out)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".dbclone-tmp-" in p.name)


def set_line(workspace: Path, key: str, value: str) -> None:
    """Replace the line of one top-level key or one rule (``  table.column:``)."""
    text = workspace.read_text(encoding="utf-8")
    pattern = re.compile(rf"^(\s*){re.escape(key)}:.*$", re.M)
    assert pattern.search(text), f"{key} not in {workspace}"
    workspace.write_text(pattern.sub(lambda m: f"{m.group(1)}{key}: {value}", text, count=1),
                         encoding="utf-8")


SHOP = """
CREATE TABLE customer (id INTEGER PRIMARY KEY, full_name TEXT NOT NULL, email TEXT,
                       phone TEXT, active INTEGER NOT NULL);
CREATE TABLE staff (id INTEGER PRIMARY KEY, first_name TEXT NOT NULL, last_name TEXT NOT NULL,
                    email TEXT);
CREATE TABLE film (id INTEGER PRIMARY KEY, title TEXT NOT NULL, rating TEXT,
                   release_year INTEGER);
CREATE TABLE rental (id INTEGER PRIMARY KEY,
                     customer_id INTEGER NOT NULL REFERENCES customer(id),
                     film_id INTEGER NOT NULL REFERENCES film(id),
                     amount NUMERIC(5,2) NOT NULL, rented_at TEXT, meta JSON, note TEXT);
"""
TITLE_WORDS = ["ACADEMY", "DINOSAUR", "ACE", "GOLDFINGER", "ADAPTATION", "HOLES", "AFFAIR",
               "PREJUDICE", "AGENT", "TRUMAN", "AIRPLANE", "SIERRA", "ALABAMA", "DEVIL",
               "ALADDIN", "CALENDAR"]
SENSITIVE = {"main.customer.full_name": "full_name", "main.customer.email": "email",
             "main.customer.phone": "phone", "main.staff.first_name": "first_name",
             "main.staff.last_name": "last_name", "main.staff.email": "email"}
NOT_SENSITIVE = {"main.customer.id", "main.customer.active", "main.staff.id", "main.film.id",
                 "main.film.title", "main.film.rating", "main.film.release_year",
                 "main.rental.id", "main.rental.customer_id", "main.rental.film_id",
                 "main.rental.amount", "main.rental.rented_at", "main.rental.note"}
LEAKED_EMAIL_RENTAL = 7  # rental whose meta holds customer 3's e-mail (with leaks=True)
LEAKED_NAME_RENTAL = 11  # rental whose note holds customer 5's full name


def build_shop(path: Path, *, leaks: bool = False) -> dict[str, list[str]]:
    """A small rental shop: names, e-mails and phones of people; film titles (capitalised
    words that are not names), ratings, years and amounts that are not personal. With
    ``leaks``, one customer's e-mail is copied into a JSON document of another table and one
    customer's full name is pasted into a free-text note. Returns the personal values."""
    fake = Faker("en_US")
    fake.seed_instance(29)
    rnd = random.Random(29)
    make_db(path, SHOP)
    customers = []
    for i in range(1, 41):
        first, last = fake.first_name(), fake.last_name()
        customers.append((i, f"{first} {last}", f"{first.lower()}.{last.lower()}{i}@example.org",
                          fake.numerify("(###) 555-####"), i % 2))
    staff = [(i, fake.first_name(), fake.last_name(), f"staff{i}@example.net")
             for i in range(1, 9)]
    films = [(i, f"{rnd.choice(TITLE_WORDS)} {rnd.choice(TITLE_WORDS)}",
              rnd.choice(["G", "PG", "PG-13", "R"]), 1990 + i % 30) for i in range(1, 31)]
    rentals = []
    for i in range(1, 121):
        customer = {LEAKED_NAME_RENTAL: 5, LEAKED_EMAIL_RENTAL: 3}.get(i, rnd.randint(1, 40))
        meta: dict[str, str] = {"channel": rnd.choice(["web", "store"])}
        note = rnd.choice([None, "rented twice", "late return", "disc scratched"])
        if leaks and i == LEAKED_EMAIL_RENTAL:
            meta["contact"] = customers[2][2]
        if leaks and i == LEAKED_NAME_RENTAL:
            note = f"refund approved after {customers[4][1]} called twice"
        rentals.append((i, customer, rnd.randint(1, 30), round(rnd.uniform(0.99, 11.99), 2),
                        f"2024-0{1 + i % 9}-1{i % 10} 10:00:00", json.dumps(meta), note))
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO customer VALUES (?,?,?,?,?)", customers)
        conn.executemany("INSERT INTO staff VALUES (?,?,?,?)", staff)
        conn.executemany("INSERT INTO film VALUES (?,?,?,?)", films)
        conn.executemany("INSERT INTO rental VALUES (?,?,?,?,?,?,?)", rentals)
    conn.close()
    return {"full_name": [c[1] for c in customers], "email": [c[2] for c in customers],
            "phone": [c[3] for c in customers],
            "staff": [s[1] for s in staff] + [s[2] for s in staff] + [s[3] for s in staff]}


def init(capsys, tmp_path: Path, src: Path, name: str = "ws.yaml", *extra: str
         ) -> tuple[int, str, str]:
    return run(capsys, "init", "--source", f"sqlite:///{src}", "-o", str(tmp_path / name),
               "--destination", f"sqlite:///{tmp_path / 'dev.db'}", *extra)


# -- dbclone init ----------------------------------------------------------------------------


def test_init_flags_the_sensitive_columns_only_and_writes_workspace_and_lock(
        capsys, tmp_path) -> None:
    src = tmp_path / "shop.db"
    personal = build_shop(src)
    code, out, err = init(capsys, tmp_path, src, "ws.yaml", "--json")
    assert code == 0, err
    data = json.loads(out)
    flagged = {f["column"]: f["kind"] for f in data["flagged"]}
    assert flagged == SENSITIVE
    assert not NOT_SENSITIVE & set(flagged)
    assert {f["column"]: f["generator"] for f in data["flagged"]} == {
        "main.customer.full_name": "fake_name", "main.customer.email": "fake_email",
        "main.customer.phone": "fake_phone", "main.staff.first_name": "fake_first_name",
        "main.staff.last_name": "fake_last_name", "main.staff.email": "fake_email"}
    counts = {f["column"]: (f["matched"], f["sampled"]) for f in data["flagged"]}
    assert counts["main.customer.email"] == (40, 40)
    assert counts["main.staff.first_name"] == (8, 8)
    assert (data["tables"], data["columns"]) == (4, 20)
    ws, lock = tmp_path / "ws.yaml", tmp_path / "ws.lock.json"
    assert (data["workspace"], data["lock"]) == (str(ws), str(lock))

    # the workspace lists every column: the flagged ones with their generator and why
    text = ws.read_text(encoding="utf-8")
    rules = dict(re.findall(r"^  ([a-z_]+\.[a-z_]+): (\S+)", text, re.M))
    assert len(rules) == 20
    assert {f"main.{k}" for k, v in rules.items() if v != "keep"} == set(SENSITIVE)
    assert "  customer.email: fake_email   # 100% of 40 sampled values look like e-mail " \
           "addresses; column name 'email'" in text
    assert "on_unconfigured: fail" in text
    # the lock records the classified schema: every table and column, with the kind found
    recorded = json.loads(lock.read_text(encoding="utf-8"))
    assert {t: set(v["columns"]) for t, v in recorded["tables"].items()} == {
        "customer": {"id", "full_name", "email", "phone", "active"},
        "staff": {"id", "first_name", "last_name", "email"},
        "film": {"id", "title", "rating", "release_year"},
        "rental": {"id", "customer_id", "film_id", "amount", "rented_at", "meta", "note"}}
    assert recorded["tables"]["customer"]["columns"]["phone"]["kind"] == "phone"
    assert recorded["tables"]["film"]["columns"]["title"]["kind"] is None
    # sampled values never leave init: not in the files, not on the screen
    written = text + lock.read_text(encoding="utf-8") + out + err
    for values in personal.values():
        for v in values:
            assert v not in written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db", "ws.lock.json", "ws.yaml"]


def test_init_prints_names_kinds_counts_and_where_it_wrote(capsys, tmp_path) -> None:
    src = tmp_path / "shop.db"
    personal = build_shop(src)
    code, out, err = init(capsys, tmp_path, src)
    assert code == 0, err
    lines = out.splitlines()
    assert any("main.customer.email" in line and "email" in line and "40 / 40" in line
               and "fake_email" in line for line in lines)
    assert "6 of 20 columns in 4 tables look sensitive; the others are keep" in lines
    assert f"wrote {tmp_path / 'ws.yaml'} (workspace) and {tmp_path / 'ws.lock.json'} " \
           "(schema lock)" in lines
    assert not any(v in out + err for values in personal.values() for v in values)


def test_init_bad_input_is_one_clear_line_and_writes_nothing(capsys, tmp_path) -> None:
    src = tmp_path / "shop.db"
    build_shop(src)
    code, out, err = init(capsys, tmp_path, src, "ws.yaml", "--sample", "0")
    assert code == ConfigError.exit_code
    assert err.splitlines() == ["error: sample size 0: must be at least 1",
                                "hint: give --sample N with N >= 1 (values sampled per column)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]

    # unreachable server: exit 3, the password never shown, nothing written
    code, out, err = run(capsys, "init", "--source", "postgresql://u:hunter2@127.0.0.1:1/app",
                         "-o", str(tmp_path / "pg.yaml"))
    assert code == ConnectionFailed.exit_code
    assert err.splitlines()[0] == "error: cannot reach the PostgreSQL server at 127.0.0.1:1"
    assert err.splitlines()[1].startswith("hint: ")
    assert "hunter2" not in out + err and "Traceback" not in err
    code, _, err = run(capsys, "init", "--source", f"sqlite:///{tmp_path / 'nope.db'}",
                       "-o", str(tmp_path / "nope.yaml"))
    assert code == ConnectionFailed.exit_code
    assert err.startswith(f"error: {tmp_path / 'nope.db'}: SQLite file not found\nhint: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.db"]

    # an existing workspace is not overwritten without --force
    assert init(capsys, tmp_path, src)[0] == 0
    ws = tmp_path / "ws.yaml"
    ws.write_text("# reviewed by hand\n" + ws.read_text(encoding="utf-8"), encoding="utf-8")
    before = ws.read_text(encoding="utf-8")
    code, _, err = init(capsys, tmp_path, src)
    assert code == ConfigError.exit_code
    assert err.splitlines() == [f"error: {ws} exists; not overwriting it",
                                "hint: choose another -o, or pass --force to replace it"]
    assert ws.read_text(encoding="utf-8") == before
    code, _, err = init(capsys, tmp_path, src, "ws.yaml", "--force")
    assert code == 0, err
    assert not ws.read_text(encoding="utf-8").startswith("# reviewed by hand")


# -- dbclone validate ------------------------------------------------------------------------


def test_validate_is_0_when_covered_and_7_on_drift_writing_nothing(capsys, tmp_path) -> None:
    src = tmp_path / "shop.db"
    build_shop(src)
    assert init(capsys, tmp_path, src)[0] == 0
    ws = tmp_path / "ws.yaml"
    code, out, err = run(capsys, "validate", str(ws))
    assert code == 0, err
    assert out.splitlines()[-1] == "ok: nothing blocks; nothing written"

    # a migration: a column holding e-mails, a column of nothing in particular, a new table
    make_db(src, "ALTER TABLE customer ADD COLUMN backup_email TEXT;"
                 "UPDATE customer SET backup_email = 'c' || id || '.alt@example.test';"
                 "ALTER TABLE film ADD COLUMN studio TEXT;"
                 "CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT);")
    listing = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = run(capsys, "validate", str(ws))
    assert code == SchemaDrift.exit_code == 7
    blocks = [line for line in out.splitlines() if line.startswith("blocks: ")]
    assert [re.match(r"blocks: unclassified column (\S+) \(", b).group(1) for b in blocks] == \
        ["customer.backup_email", "film.studio", "tag.id", "tag.label"]
    assert "looks sensitive: 100% of 40 sampled values look like e-mail addresses" in blocks[0]
    assert blocks[0].endswith("suggested: fake_email")
    assert "new column since the schema lock" in blocks[1]
    assert "new table since the schema lock" in blocks[2]
    assert err.splitlines()[-2] == (f"error: {ws}: 4 columns the workspace does not cover: "
                                    "customer.backup_email, film.studio, tag.id, tag.label")
    assert ".alt@example.test" not in out + err

    code, out, _ = run(capsys, "validate", str(ws), "--json")
    assert code == 7
    data = json.loads(out)
    assert (data["ok"], data["blocking"]) == (False, 4)
    assert [(f["column"], f["kind"], f["suggested"]) for f in data["findings"]] == [
        ("customer.backup_email", "email", "fake_email"), ("film.studio", None, "redact"),
        ("tag.id", None, "integer_key"), ("tag.label", None, "redact")]
    assert sorted(p.name for p in tmp_path.iterdir()) == listing  # nothing written

    # the policy turns the stop into a rule per column: nothing blocks
    set_line(ws, "on_unconfigured", "mask")
    code, out, err = run(capsys, "validate", str(ws))
    assert code == 0, err
    assert "warning: unclassified column customer.backup_email" in out
    assert "on_unconfigured mask: masked with fake_email" in out
    assert out.splitlines()[-1] == \
        "ok: nothing blocks (4 columns handled by on_unconfigured); nothing written"


def test_validate_warns_on_rules_for_missing_columns_and_kept_sensitive_columns(
        capsys, tmp_path) -> None:
    src = tmp_path / "shop.db"
    build_shop(src)
    assert init(capsys, tmp_path, src)[0] == 0
    ws = tmp_path / "ws.yaml"
    set_line(ws, "customer.phone", "keep")
    ws.write_text(ws.read_text(encoding="utf-8") + "  customer.fax: fake_phone\n",
                  encoding="utf-8")
    code, out, err = run(capsys, "validate", str(ws), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["ok"] is True and data["findings"] == []
    assert [(k["column"], k["kind"]) for k in data["kept_sensitive"]] == \
        [("customer.phone", "phone")]
    assert [w["where"] for w in data["warnings"] if w["level"] == "warning"] == ["customer.fax"]
    code, out, err = run(capsys, "validate", str(ws))
    assert code == 0
    assert "warning: customer.phone: kept by a keep rule but looks like phone" in err
    assert "warning: customer.fax: " in err and "rule skipped" in err


# -- case 29: schema drift lets new columns through -----------------------------------------

CASE29 = """
CREATE TABLE customer (id int PRIMARY KEY, email text, full_name text);
INSERT INTO customer VALUES (2, 'c2@example.test', 'Tobin Marsh'),
                            (3, 'c3@example.test', 'Mara Quill'),
                            (4, 'c4@example.test', 'Ines Calloway');
"""
CASE29_MIGRATION = """
ALTER TABLE customer ADD COLUMN backup_email text;
INSERT INTO customer VALUES (1, 'c1@example.test', 'Orla Venn', 'c1.alt@example.test');
"""


def test_case29_new_email_column_stops_the_clone_before_anything_is_written(
        capsys, tmp_path) -> None:
    src = tmp_path / "case29.db"
    make_db(src, CASE29)
    assert init(capsys, tmp_path, src)[0] == 0
    ws = tmp_path / "ws.yaml"
    text = ws.read_text(encoding="utf-8")
    assert "customer.email: fake_email" in text and "customer.full_name: fake_name" in text
    make_db(src, CASE29_MIGRATION)  # the migration after the workspace was written

    code, out, err = run(capsys, "clone", str(ws))
    assert code == SchemaDrift.exit_code
    assert "unclassified column customer.backup_email" in err
    assert "suggested: fake_email" in err
    assert "c1.alt@example.test" not in out + err
    assert not (tmp_path / "dev.db").exists()
    assert leftovers(tmp_path) == []

    # on_unconfigured: mask masks it with the suggested generator, and says so
    set_line(ws, "on_unconfigured", "mask")
    code, out, err = run(capsys, "clone", str(ws), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert any(f["where"] == "customer.backup_email" and
               "on_unconfigured mask: masked with fake_email" in f["message"]
               for f in data["findings"])
    assert data["audit"]["passed"] is True
    dst = tmp_path / "dev.db"
    copied = dict(rows(dst, "SELECT id, backup_email FROM customer"))
    assert copied.keys() == {1, 2, 3, 4}
    assert copied[1] is not None and "@" in copied[1] and copied[1] != "c1.alt@example.test"
    assert [copied[k] for k in (2, 3, 4)] == [None, None, None]
    everything = every_text(dst)
    for value in ("c1.alt@example.test", "c1@example.test", "Orla Venn", "Tobin Marsh"):
        assert value not in everything


# -- the leak audit --------------------------------------------------------------------------


@pytest.fixture
def leaky(capsys, tmp_path) -> tuple[Path, dict[str, list[str]]]:
    """The shop with a planted JSON copy and a pasted name, and the workspace init wrote."""
    src = tmp_path / "shop.db"
    personal = build_shop(src, leaks=True)
    assert init(capsys, tmp_path, src)[0] == 0
    return tmp_path / "ws.yaml", personal


def test_leak_audit_finds_exactly_the_three_planted_leaks_and_keeps_the_old_copy(
        capsys, leaky, tmp_path) -> None:
    ws, personal = leaky
    text = ws.read_text(encoding="utf-8")
    # init saw the e-mail inside the JSON documents and suggested masking that path
    assert "  rental.meta: {type: json, paths: {contact: fake_email}}" in text
    # the deliberately wrong workspace: a phone column kept, the JSON column kept
    set_line(ws, "customer.phone", "keep")
    set_line(ws, "rental.meta", "keep")
    previous = tmp_path / "dev.db"
    make_db(previous, "CREATE TABLE previous_copy (id INTEGER PRIMARY KEY);")
    digest = sha256(previous)

    code, out, err = run(capsys, "clone", str(ws), "--json")
    assert code == LeakDetected.exit_code == 8
    audit = json.loads(out)["audit"]
    assert audit["passed"] is False
    failing = {c["column"]: {(leak["found_in"], leak["rows"], tuple(leak["keys"][:1]))
                             for leak in c["leaks"]}
               for c in audit["columns"] if c["leaked_rows"]}
    assert failing == {
        # 1. the phone column left keep: every phone reaches the copy in its own column
        "customer.phone": {("main.customer.phone", 40, ("id=1",))},
        # 2. a masked e-mail that was also copied into another table's JSON document
        "customer.email": {("main.rental.meta", 1, (f"id={LEAKED_EMAIL_RENTAL}",))},
        # the kept JSON column itself, which looks sensitive: the same one document
        "rental.meta": {("main.rental.meta", 1, (f"id={LEAKED_EMAIL_RENTAL}",))},
        # 3. a real name pasted into a free-text note
        "customer.full_name": {("main.rental.note", 1, (f"id={LEAKED_NAME_RENTAL}",))},
    }
    assert {c["column"]: c["generator"] for c in audit["columns"] if c["leaked_rows"]} == {
        "customer.phone": "keep", "customer.email": "fake_email", "rental.meta": "keep",
        "customer.full_name": "fake_name"}
    assert "error: leak audit: 43 sampled source values of 4 columns found in the copy" in err
    assert "  - customer.full_name (fake_name): 1 sampled source value found in " \
           f"main.rental.note (rows id={LEAKED_NAME_RENTAL})" in err
    assert "the copy was not swapped in" in err
    # never a value: not the leaked ones, not any other
    for values in personal.values():
        for v in values:
            assert v not in out + err
    # the previous destination is untouched, and no half-built copy is left behind
    assert sha256(previous) == digest
    assert leftovers(tmp_path) == []


def test_leak_audit_passes_a_correct_workspace_with_zero_leaks(capsys, leaky, tmp_path
                                                               ) -> None:
    ws, personal = leaky
    # init's workspace masks the JSON path; the note needs the customer's name swept out
    set_line(ws, "rental.note", "{type: text_redact, ner: false, linked: {customer_id: "
                                "{table: customer, columns: [full_name]}}}")
    code, out, err = run(capsys, "clone", str(ws))
    assert code == 0, err
    # every non-empty value of the 8 masked columns is sampled (the sample is 1,000)
    notes = rows(tmp_path / "shop.db", "SELECT count(note) FROM rental")[0][0]
    sampled = 40 * 3 + 120 + notes + 8 * 3
    assert re.search(rf"^audit: 8 columns audited, {sampled} values sampled, leaks 0 \(", out,
                     re.M)
    code, out, err = run(capsys, "clone", str(ws), "--json")
    assert code == 0, err
    audit = json.loads(out)["audit"]
    assert audit["passed"] is True
    assert sorted(c["column"] for c in audit["columns"]) == [
        "customer.email", "customer.full_name", "customer.phone", "rental.meta",
        "rental.note", "staff.email", "staff.first_name", "staff.last_name"]
    assert [c["leaked_rows"] for c in audit["columns"]] == [0] * 8
    everything = every_text(tmp_path / "dev.db")
    for key in ("full_name", "email", "phone"):
        for v in personal[key]:
            assert v not in everything, key


def test_no_audit_skips_the_audit_for_that_run(capsys, leaky, tmp_path) -> None:
    ws, _ = leaky
    set_line(ws, "customer.phone", "keep")
    code, out, err = run(capsys, "clone", str(ws), "--no-audit")
    assert code == 0, err
    assert "audit: off (--no-audit or audit.enabled: false)" in out.splitlines()
    assert "stage: audit" not in err
    code, out, err = run(capsys, "clone", str(ws), "--no-audit", "--json")
    assert code == 0, err
    assert json.loads(out)["audit"] is None
    # the same workspace, audited: the kept phone column fails the run
    assert run(capsys, "clone", str(ws))[0] == LeakDetected.exit_code
