"""Branch databases on MariaDB: a masked Chinook template, copied per branch on the server
(CREATE TABLE from SHOW CREATE, INSERT ... SELECT, then views, triggers and routines).

The source gets a view, a trigger, a function, a procedure and a generated column on top of
Chinook, so the copy of each can be checked. Every database and user is dbclone_it_*.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pymysql
import pytest
import yaml
from conftest import (
    MY_HOST,
    MY_PORT,
    MY_USER,
    load_dataset,
    my_drop,
    unique_name,
    write_workspace,
)
from sqlalchemy.engine import make_url
from test_mysql_support import databases, query

from dbclone import envs
from dbclone.cli import main
from dbclone.config import WorkspaceConfig, load_workspace
from dbclone.envs import BadTTL, ForeignDatabase, ProvisionFailed, UnknownBranch
from dbclone.envs.model import utcnow

ROOT = Path(__file__).resolve().parent.parent
# The issue's branch names (the same as tests/test_env_names.py, there without a server)
BODY = "improve-the-invoice-export-so-that-it-handles-multi-currency-totals-correctly-0"
ISSUE_BRANCHES = ["feature/ABC-1234-" + BODY + "a",  # 80 characters after the ticket
                  "feature/ABC-1234-" + BODY + "b",  # the same but for the very last one
                  "fix/Überprüfung", "Release/1.0", "release-1.0"]
VALID = re.compile(r"[a-z0-9_]{1,63}")
MASKS = {"Customer.FirstName": "fake_first_name", "Customer.LastName": "fake_last_name",
         "Customer.Email": "fake_email"}
COUNTS = ("SELECT (SELECT COUNT(*) FROM Track), (SELECT COUNT(*) FROM Customer), "
          "(SELECT COUNT(*) FROM Invoice), (SELECT COUNT(*) FROM InvoiceLine)")
EXTRAS = [
    "CREATE TABLE InvoiceAudit (Id INT AUTO_INCREMENT PRIMARY KEY, InvoiceId INT NOT NULL, "
    "Doubled DECIMAL(10,2) AS (Total * 2) VIRTUAL, Total DECIMAL(10,2))",
    "CREATE VIEW CustomerEmails AS SELECT CustomerId, Email FROM Customer",
    "CREATE TRIGGER trg_invoice_audit AFTER INSERT ON Invoice FOR EACH ROW "
    "INSERT INTO InvoiceAudit (InvoiceId, Total) VALUES (NEW.InvoiceId, NEW.Total)",
    "CREATE FUNCTION track_count() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM Track)",
    "CREATE PROCEDURE add_genre(IN n VARCHAR(120)) MODIFIES SQL DATA "
    "INSERT INTO Genre (GenreId, Name) SELECT MAX(GenreId) + 1, n FROM Genre",
    "INSERT INTO InvoiceAudit (InvoiceId, Total) VALUES (1, 1.98), (2, 3.96)",
]


def _run(db: str, *stmts: str) -> None:
    conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, database=db,
                           autocommit=True, charset="utf8mb4")
    with conn, conn.cursor() as cur:
        for s in stmts:
            cur.execute(s)


@pytest.fixture(scope="module")
def chinook() -> Iterator[str]:
    src = unique_name()
    load_dataset("chinook-mysql", src)
    _run(src, *EXTRAS)
    yield src
    for name in databases(src):
        my_drop(name)


class Env:
    def __init__(self, tmp_path: Path, src: str) -> None:
        self.src = src
        self.dst = f"{src}_{secrets.token_hex(2)}"
        self.control = f"{self.dst}_ctl"
        self.template = f"{self.dst}_template"
        self.path = self.workspace(tmp_path, MY_USER)
        self.config: WorkspaceConfig = load_workspace(self.path)

    def workspace(self, tmp_path: Path, user: str, name: str = "ws.yaml") -> Path:
        doc = {"workspace": "chinook-branches",
               "source": {"url": f"mysql://{user}@{MY_HOST}:{MY_PORT}/{self.src}"},
               "destination": {"url": f"mysql://{user}@{MY_HOST}:{MY_PORT}/{self.dst}"},
               "generators": MASKS,
               "on_unconfigured": "keep"}
        return write_workspace(tmp_path, yaml.safe_dump(doc, sort_keys=False), name)

    def up(self, branch: str, **kw) -> envs.EnvResult:
        return envs.up(self.config, branch, control=self.control, **kw)

    def branches(self) -> list[str]:
        return sorted(d for d in databases(self.dst + "_")
                      if d not in (self.template, self.control))

    def list_json(self) -> list[dict]:
        code, out = self.cli("env", "list", "--json")
        assert code == 0
        return json.loads(out)

    def cli(self, *args: str) -> tuple[int, str]:
        import io
        from contextlib import redirect_stdout

        buf = io.StringIO()
        saved = os.environ.get("DBCLONE_CONTROL_DB")
        os.environ["DBCLONE_CONTROL_DB"] = self.control
        try:
            with redirect_stdout(buf):
                code = main([*args, "--workspace", str(self.path)])
        finally:
            if saved is None:
                del os.environ["DBCLONE_CONTROL_DB"]
            else:
                os.environ["DBCLONE_CONTROL_DB"] = saved
        return code, buf.getvalue()

    def registry(self) -> list[tuple]:
        return query(self.control, "SELECT `database`, branch, template, status FROM envs "
                                   "ORDER BY `database`")


@pytest.fixture
def env(chinook: str, tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path, chinook)
    yield e
    for name in databases(e.dst):
        my_drop(name)


def _listed(e: Env) -> list[tuple]:
    return [(r["branch"], r["name"], r["template"], r["status"], r["exists"])
            for r in e.list_json()]


def _objects(db: str) -> dict[str, list]:
    return {
        "views": query(None, "SELECT TABLE_NAME FROM information_schema.VIEWS "
                             "WHERE TABLE_SCHEMA = %s", (db,)),
        "triggers": query(None, "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM "
                                "information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (db,)),
        "routines": query(None, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM "
                                "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
                                "ORDER BY 1, 2", (db,)),
        "tables": query(None, "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES"
                              " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
                              "ORDER BY 1", (db,)),
        "fks": query(None, "SELECT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_SCHEMA, "
                           "REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE "
                           "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL "
                           "ORDER BY 1, 2", (db,)),
    }


def _same_objects(a: str, b: str) -> None:
    oa, ob = _objects(a), _objects(b)
    for key in ("views", "triggers", "routines", "tables"):
        assert oa[key] == ob[key], key
    # FKs point into their own database, never back at the template
    assert [(t, c, rt) for t, c, _, rt in oa["fks"]] == [(t, c, rt) for t, c, _, rt in ob["fks"]]
    assert {s for _, _, s, _ in ob["fks"]} <= {b}


# -- three branches ------------------------------------------------------------------------------

def test_three_branches_from_the_chinook_template(env: Env, chinook: str) -> None:
    assert _listed(env) == []
    a = env.up("feature/ABC-1234-login")
    b = env.up("fix/Überprüfung")
    c = env.up("Release/1.0")
    names = [a.record.database, b.record.database, c.record.database]
    assert env.branches() == sorted(names)
    assert _listed(env) == sorted(
        (r.record.branch, r.record.database, env.template, "ready", True) for r in (a, b, c))

    emails = "SELECT CustomerId, Email FROM Customer ORDER BY 1"
    for name in names:
        assert query(name, COUNTS) == query(chinook, COUNTS)
        assert query(name, emails) == query(env.template, emails)
        assert query(name, "SELECT * FROM InvoiceAudit ORDER BY Id") == \
            query(chinook, "SELECT * FROM InvoiceAudit ORDER BY Id")
        _same_objects(env.template, name)
    assert query(names[0], emails) != query(chinook, emails)
    copied = _objects(names[0])
    assert copied["routines"] == [("FUNCTION", "track_count"), ("PROCEDURE", "add_genre")]
    assert copied["views"] == [("CustomerEmails",)]
    assert copied["triggers"] == [("trg_invoice_audit", "Invoice")]
    assert len(copied["fks"]) == 11

    # a write to one (through its own trigger and procedure) is invisible in the others
    _run(names[0], "UPDATE Customer SET Email = 'changed@example.org' WHERE CustomerId = 1",
         "INSERT INTO Invoice (InvoiceId, CustomerId, InvoiceDate, Total) "
         "VALUES (9999, 1, '2024-01-01', 5.00)",
         "CALL add_genre('Branch Genre')", "DELETE FROM PlaylistTrack WHERE PlaylistId = 1")
    assert query(names[0], "SELECT InvoiceId, Doubled FROM InvoiceAudit WHERE InvoiceId = 9999") \
        == [(9999, 10)]
    assert query(names[0], "SELECT track_count()") == [(3503,)]
    for other in (names[1], names[2], env.template):
        assert query(other, COUNTS) == query(chinook, COUNTS)
        assert query(other, emails) == query(env.template, emails)
        assert query(other, "SELECT COUNT(*) FROM InvoiceAudit") == [(2,)]
        assert query(other, "SELECT COUNT(*) FROM Genre") == [(25,)]
        assert query(other, "SELECT COUNT(*) FROM PlaylistTrack") == [(8715,)]

    # down removes exactly one
    envs.down(env.config, "fix/Überprüfung", control=env.control)
    assert env.branches() == sorted([names[0], names[2]])
    assert [r["branch"] for r in env.list_json()] == sorted(["feature/ABC-1234-login",
                                                             "Release/1.0"])
    assert databases(env.template) == [env.template]


def test_gc_drops_exactly_the_expired(env: Env) -> None:
    t0 = utcnow()
    env.up("short-1", ttl="1h", now=t0)
    env.up("short-2", ttl="10m", now=t0)
    long_ = env.up("long", ttl="72h", now=t0)
    keep = env.up("keep", ttl="never", now=t0)
    assert envs.gc(env.config, now=t0 + timedelta(minutes=5), control=env.control) == []
    dropped = envs.gc(env.config, now=t0 + timedelta(hours=2), control=env.control)
    assert sorted(r.branch for r in dropped) == ["short-1", "short-2"]
    assert env.branches() == sorted([long_.record.database, keep.record.database])
    assert [(r["branch"], r["expires"]) for r in env.list_json()] == [
        ("keep", None), ("long", (t0 + timedelta(hours=72)).isoformat(timespec="seconds"))]


def test_reset_and_idempotent_up(env: Env) -> None:
    first = env.up("feature/again")
    _run(first.record.database, "DELETE FROM InvoiceLine")
    assert not env.up("feature/again").created
    assert query(first.record.database, "SELECT COUNT(*) FROM InvoiceLine") == [(0,)]
    envs.reset(env.config, "feature/again", control=env.control)
    assert query(first.record.database, "SELECT COUNT(*) FROM InvoiceLine") == [(2240,)]
    _same_objects(env.template, first.record.database)
    assert env.registry() == [(first.record.database, "feature/again", env.template, "ready")]


def test_refresh_keeps_old_branches(env: Env, chinook: str) -> None:
    old = env.up("feature/old")
    _run(chinook, "UPDATE Artist SET Name = 'Renamed' WHERE ArtistId = 1")
    try:
        envs.build_template(env.config, control=env.control)
    finally:
        _run(chinook, "UPDATE Artist SET Name = 'AC/DC' WHERE ArtistId = 1")
    assert query(old.record.database, "SELECT Name FROM Artist WHERE ArtistId = 1") == \
        [("AC/DC",)]
    new = env.up("feature/new")
    assert query(new.record.database, "SELECT Name FROM Artist WHERE ArtistId = 1") == \
        [("Renamed",)]
    _same_objects(env.template, new.record.database)
    assert not [d for d in databases(env.dst) if "__dbclone_" in d]


def test_the_issue_branch_names_each_get_their_own_database(env: Env) -> None:
    """Long branches sharing 96 characters, a non-ASCII one, and two differing only in case
    and punctuation: each is created under a valid name of its own (MariaDB's database names
    are case-sensitive on Linux, but `Release/1.0` and `release-1.0` must not rely on it),
    found again by url, list and up."""
    first = {b: env.up(b) for b in ISSUE_BRANCHES}
    names = {b: r.record.database for b, r in first.items()}
    assert all(r.created for r in first.values())
    assert len({n.lower() for n in names.values()}) == len(ISSUE_BRANCHES)
    for b, name in names.items():
        assert VALID.fullmatch(name) and len(name.encode()) <= 63, name
        assert name.startswith(env.dst + "_")
        assert name == envs.branch_name(env.config, b, control=env.control)
    assert env.branches() == sorted(names.values())

    for b, name in names.items():
        code, out = env.cli("env", "url", "--branch", b)
        u = make_url(out.strip())
        assert code == 0 and u.database == name
        conn = pymysql.connect(host=u.host, port=u.port, user=u.username, database=u.database)
        with conn, conn.cursor() as cur:  # the URL leads to that very database
            cur.execute("SELECT DATABASE(), (SELECT COUNT(*) FROM Track)")
            assert cur.fetchone() == (name, 3503)
    assert sorted((r["branch"], r["name"], r["status"], r["exists"]) for r in env.list_json()) \
        == sorted((b, name, "ready", True) for b, name in names.items())

    for b in ISSUE_BRANCHES:  # stable: a second up (the command) returns the same database
        code, out = env.cli("env", "up", "--branch", b, "--output", "json")
        again = json.loads(out)
        assert code == 0 and again["new"] is False and again["name"] == names[b]
    assert env.branches() == sorted(names.values())
    assert sorted((r[0], r[1]) for r in env.registry()) == \
        sorted((name, b) for b, name in names.items())


# -- concurrency ---------------------------------------------------------------------------------

def test_ten_branches_and_three_same_ones_from_thirteen_processes(env: Env) -> None:
    """No template yet: 13 `dbclone env up` processes race. One builds the template, all
    succeed, the repeated branch gets one database, the registry is consistent."""
    branches = [f"feature/parallel-{i}" for i in range(10)] + ["feature/same"] * 3
    run_env = {**os.environ, "DBCLONE_CONTROL_DB": env.control, "PYTHONPATH": str(ROOT)}

    def up(branch: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dbclone.cli", "env", "up", "--branch",
                               branch, "--workspace", str(env.path), "--output", "json"],
                              capture_output=True, text=True, env=run_env, timeout=600)

    with ThreadPoolExecutor(max_workers=13) as pool:
        done = list(pool.map(up, branches))
    assert [p.returncode for p in done] == [0] * 13, [p.stderr for p in done]
    results = [json.loads(p.stdout) for p in done]
    same = results[10:]
    assert len({r["name"] for r in same}) == 1
    assert sorted(r["new"] for r in same) == [False, False, True]
    names = sorted({r["name"] for r in results})
    assert len(names) == 11 and env.branches() == names
    assert [r[0] for r in env.registry()] == names
    assert {r[3] for r in env.registry()} == {"ready"}
    assert query(env.control, "SELECT template FROM templates") == [(env.template,)]
    for name in names:
        assert query(name, "SELECT COUNT(*) FROM InvoiceLine") == [(2240,)]
        assert query(name, "SELECT COUNT(*) FROM information_schema.TRIGGERS "
                           "WHERE TRIGGER_SCHEMA = %s", (name,)) == [(1,)]


# -- bad input -----------------------------------------------------------------------------------

def test_unknown_branch_bad_ttl_and_foreign_database(env: Env) -> None:
    env.up("main")
    with pytest.raises(UnknownBranch, match="'feature/nope'"):
        envs.down(env.config, "feature/nope", control=env.control)
    with pytest.raises(UnknownBranch):
        envs.url(env.config, "feature/nope", control=env.control)
    with pytest.raises(BadTTL):
        env.up("feature/ttl", ttl="soon")
    name = envs.branch_name(env.config, "feature/theirs", control=env.control)
    _run("", f"CREATE DATABASE `{name}`")
    _run(name, "CREATE TABLE precious (x INT)", "INSERT INTO precious VALUES (42)")
    with pytest.raises(ForeignDatabase, match="dbclone did not create it"):
        env.up("feature/theirs")
    with pytest.raises(UnknownBranch):
        envs.down(env.config, "feature/theirs", control=env.control)
    envs.gc(env.config, now=utcnow() + timedelta(days=400), control=env.control)
    assert query(name, "SELECT x FROM precious") == [(42,)]
    assert env.registry() == []


def test_a_user_without_create_gets_a_clear_error(env: Env, tmp_path: Path) -> None:
    env.up("main")
    user = unique_name("dbclone_it_user")
    _run("", f"CREATE USER '{user}'@'%'",
         f"GRANT ALL ON `{env.control}`.* TO '{user}'@'%'",
         f"GRANT SELECT, SHOW VIEW, TRIGGER ON `{env.template}`.* TO '{user}'@'%'",
         f"GRANT SELECT ON `{env.src}`.* TO '{user}'@'%'")
    try:
        limited = load_workspace(env.workspace(tmp_path, user, "limited.yaml"))
        with pytest.raises(ProvisionFailed, match=f"user '{user}' may not create or fill") \
                as exc:
            envs.up(limited, "feature/no-right", control=env.control)
        assert "GRANT CREATE" in (exc.value.hint or "")
        assert len(env.branches()) == 1
        assert [r[1] for r in env.registry()] == ["main"]
    finally:
        _run("", f"DROP USER '{user}'@'%'")
