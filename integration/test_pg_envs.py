"""Branch databases on PostgreSQL: a masked Pagila template, copied per branch with
CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY, recorded in a control database.

Every database and role here is named dbclone_it_*; each test has its own destination name
(so its own template and branch names) and its own control database.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from conftest import PG_ADMIN, load_dataset, pg_connect, pg_drop, unique_name, write_workspace
from sqlalchemy.engine import make_url

from dbclone import envs
from dbclone.cli import main
from dbclone.config import WorkspaceConfig, load_workspace
from dbclone.envs import (
    BadTTL,
    ForeignDatabase,
    ProvisionFailed,
    TemplateInUse,
    UnknownBranch,
)
from dbclone.envs.model import utcnow
from dbclone.pipeline import RunObserver

MASKS = {"public.customer.first_name": "fake_first_name",
         "public.customer.last_name": "fake_last_name",
         "public.customer.email": "fake_email"}
COUNTS = ("SELECT (SELECT count(*) FROM film), (SELECT count(*) FROM customer), "
          "(SELECT count(*) FROM rental), (SELECT count(*) FROM payment)")
ROOT = Path(__file__).resolve().parent.parent
# The issue's branch names (the same as tests/test_env_names.py, there without a server)
BODY = "improve-the-invoice-export-so-that-it-handles-multi-currency-totals-correctly-0"
ISSUE_BRANCHES = ["feature/ABC-1234-" + BODY + "a",  # 80 characters after the ticket
                  "feature/ABC-1234-" + BODY + "b",  # the same but for the very last one
                  "fix/Überprüfung", "Release/1.0", "release-1.0"]
VALID = re.compile(r"[a-z0-9_]{1,63}")


def _databases(prefix: str) -> list[str]:
    with pg_connect() as c:
        return sorted(r[0] for r in c.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)))


def _drop_all(prefix: str) -> None:
    for name in _databases(prefix):
        pg_drop(name)


def _one(db: str, query: str) -> list[tuple]:
    with pg_connect(db) as c:
        return c.execute(query).fetchall()


@pytest.fixture(scope="module")
def pagila() -> Iterator[str]:
    src = unique_name()
    load_dataset("pagila", src)
    yield src
    _drop_all(src)


class Env:
    """One test's workspace: destination <src>_<token>, control <src>_<token>_ctl."""

    def __init__(self, tmp_path: Path, src: str, user: str | None = None) -> None:
        self.src = src
        self.dst = f"{src}_{secrets.token_hex(2)}"
        self.control = f"{self.dst}_ctl"
        self.template = f"{self.dst}_template"
        self.path = self.workspace(tmp_path, user)
        self.config: WorkspaceConfig = load_workspace(self.path)

    def workspace(self, tmp_path: Path, user: str | None, name: str = "ws.yaml") -> Path:
        def url(db: str) -> str:
            u = make_url(PG_ADMIN).set(database=db)
            if user:
                u = u.set(username=user)
            return u.render_as_string(hide_password=False)
        doc = {"workspace": "pagila-branches",
               "source": {"url": url(self.src), "schemas": ["public"]},
               "destination": {"url": url(self.dst)}, "generators": MASKS,
               "on_unconfigured": "keep"}
        return write_workspace(tmp_path, yaml.safe_dump(doc, sort_keys=False), name)

    def up(self, branch: str, **kw) -> envs.EnvResult:
        return envs.up(self.config, branch, control=self.control, **kw)

    def branches(self) -> list[str]:
        return [d for d in _databases(self.dst + "_")
                if d not in (self.template, self.control)]

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

    def list_json(self) -> list[dict]:
        code, out = self.cli("env", "list", "--json")
        assert code == 0
        return json.loads(out)

    def registry(self) -> list[tuple]:
        return _one(self.control, "SELECT database, branch, template, status FROM dbclone_envs "
                                  "ORDER BY database")


@pytest.fixture
def env(pagila: str, tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path, pagila)
    yield e
    _drop_all(e.dst)


def _listed(e: Env) -> list[tuple]:
    return [(r["branch"], r["name"], r["template"], r["status"], r["exists"])
            for r in e.list_json()]


# -- three branches ------------------------------------------------------------------------------

def test_three_branches_from_the_pagila_template(env: Env, pagila: str) -> None:
    assert _listed(env) == []
    a = env.up("feature/ABC-1234-login")
    b = env.up("fix/Überprüfung")
    c = env.up("Release/1.0")
    names = [a.record.database, b.record.database, c.record.database]
    assert env.branches() == sorted(names)
    assert _databases(env.template) == [env.template]
    assert _listed(env) == sorted(
        (r.record.branch, r.record.database, env.template, "ready", True) for r in (a, b, c))
    sizes = {r["name"]: r["size"] for r in env.list_json()}
    assert all(s > 1_000_000 for s in sizes.values())

    # each is a full copy of the masked template
    source_counts = _one(pagila, COUNTS)
    emails = "SELECT customer_id, email FROM customer ORDER BY 1"
    for name in names:
        assert _one(name, COUNTS) == source_counts
        assert _one(name, emails) == _one(a.record.database, emails)
    assert _one(names[0], emails) != _one(pagila, emails)  # masked, not the source's

    # a write to one is invisible in the others
    with pg_connect(names[0]) as conn:
        conn.execute("UPDATE customer SET email = 'changed@example.org' WHERE customer_id = 1")
        conn.execute("DELETE FROM payment WHERE customer_id = 1")
    assert _one(names[0], "SELECT email FROM customer WHERE customer_id = 1") == \
        [("changed@example.org",)]
    for name in names[1:]:
        assert _one(name, COUNTS) == source_counts
        assert _one(name, emails) == _one(names[1], emails)
    assert _one(names[1], "SELECT email FROM customer WHERE customer_id = 1") != \
        [("changed@example.org",)]

    # down removes exactly one
    code, _ = env.cli("env", "down", "--branch", "fix/Überprüfung")
    assert code == 0
    assert env.branches() == sorted([names[0], names[2]])
    assert _listed(env) == sorted(
        (r.record.branch, r.record.database, env.template, "ready", True) for r in (a, c))
    assert _databases(env.template) == [env.template]


def test_gc_drops_exactly_the_expired(env: Env) -> None:
    t0 = utcnow()
    env.up("short-1", ttl="1h", now=t0)
    env.up("short-2", ttl="10m", now=t0)
    long_ = env.up("long", ttl="72h", now=t0)
    keep = env.up("keep", ttl="never", now=t0)
    code, out = env.cli("env", "gc", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["dropped"] == []  # nothing expired yet
    dropped = envs.gc(env.config, now=t0 + timedelta(hours=2), control=env.control)
    assert sorted(r.branch for r in dropped) == ["short-1", "short-2"]
    assert env.branches() == sorted([long_.record.database, keep.record.database])
    assert [r["branch"] for r in env.list_json()] == ["keep", "long"]
    # the real clock, through the CLI: a 1-second TTL, then gc
    short = env.up("short-3", ttl="1s")
    import time

    time.sleep(1.2)
    code, out = env.cli("env", "gc", "--json")
    assert code == 0
    assert [r["branch"] for r in json.loads(out)["dropped"]] == ["short-3"]
    assert short.record.database not in env.branches()
    assert [r["branch"] for r in env.list_json()] == ["keep", "long"]


def test_up_is_idempotent_and_reset_recreates(env: Env) -> None:
    first = env.up("feature/again")
    with pg_connect(first.record.database) as conn:
        conn.execute("DELETE FROM payment")
    again = env.up("feature/again")
    assert not again.created and again.record.identity == first.record.identity
    assert _one(first.record.database, "SELECT count(*) FROM payment") == [(0,)]
    code, out = env.cli("env", "reset", "--branch", "feature/again", "--output", "json")
    assert code == 0
    fresh = json.loads(out)
    assert fresh["name"] == first.record.database and fresh["identity"] != first.record.identity
    assert _one(first.record.database, "SELECT count(*) FROM payment") == [(16049,)]
    code, out = env.cli("env", "url", "--branch", "feature/again", "--output", "env")
    assert out.splitlines()[0] == (f"DATABASE_URL=postgresql://postgres@127.0.0.1:5432/"
                                   f"{first.record.database}")
    assert env.registry() == [(first.record.database, "feature/again", env.template, "ready")]


def test_template_refresh_swaps_while_branches_keep_working(env: Env, pagila: str) -> None:
    old = env.up("feature/old")
    with pg_connect(old.record.database) as using_branch:
        using_branch.execute("SELECT 1")
        with pg_connect(pagila) as c:
            c.execute("UPDATE film SET title = 'RENAMED FILM' WHERE film_id = 1")
        try:
            code, _ = env.cli("template", "refresh")
            assert code == 0
            # the branch made from the old template is untouched and its session alive
            assert using_branch.execute("SELECT title FROM film WHERE film_id = 1"
                                        ).fetchall() == [("ACADEMY DINOSAUR",)]
        finally:
            with pg_connect(pagila) as c:
                c.execute("UPDATE film SET title = 'ACADEMY DINOSAUR' WHERE film_id = 1")
    new = env.up("feature/new")
    assert _one(new.record.database, "SELECT title FROM film WHERE film_id = 1") == \
        [("RENAMED FILM",)]
    assert _databases(env.template) == [env.template]  # no temporary database left behind
    assert not [d for d in _databases(env.dst) if "__dbclone_" in d]


class _During(RunObserver):
    """Runs ``action`` once, when the refresh has copied every table into its new template
    and is about to swap it in."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action

    def stage(self, name: str) -> None:
        if name == "constraints":
            self.action()


def _template_oid(e: Env) -> int:
    return _one("postgres", f"SELECT oid FROM pg_database WHERE datname = '{e.template}'")[0][0]


def test_up_during_a_refresh_copies_the_old_template_whole(env: Env, pagila: str) -> None:
    env.up("main")
    during: list[envs.EnvResult] = []
    with pg_connect(pagila) as c:
        c.execute("UPDATE film SET title = 'RENAMED FILM' WHERE film_id = 1")
    try:
        envs.build_template(env.config, _During(lambda: during.append(env.up("feature/mid"))),
                            control=env.control)
    finally:
        with pg_connect(pagila) as c:
            c.execute("UPDATE film SET title = 'ACADEMY DINOSAUR' WHERE film_id = 1")
    # the branch made mid-refresh is a whole copy of the old template, never of the new one
    # half-built
    mid = during[0].record.database
    assert _one(mid, "SELECT title FROM film WHERE film_id = 1") == [("ACADEMY DINOSAUR",)]
    assert _one(mid, COUNTS) == _one(pagila, COUNTS)
    after = env.up("feature/after")
    assert _one(after.record.database, "SELECT title FROM film WHERE film_id = 1") == \
        [("RENAMED FILM",)]
    assert sorted(r[1] for r in env.registry()) == ["feature/after", "feature/mid", "main"]


def test_refresh_refuses_while_someone_holds_the_template(env: Env) -> None:
    """Replacing the template would end its sessions: the refresh names them and stops,
    before building and again just before the swap, and the old template stays."""
    branch = env.up("main").record.database
    oid = _template_oid(env)
    holder = psycopg.connect(f"{PG_ADMIN}/{env.template}", autocommit=True,
                             application_name="dbclone_it_viewer")
    try:
        with pytest.raises(TemplateInUse, match="cannot replace template") as exc:
            envs.build_template(env.config, control=env.control)
        assert f"pid {holder.info.backend_pid} (user postgres, application " \
               "'dbclone_it_viewer', client 127.0.0.1)" in str(exc.value)
        assert holder.execute("SELECT 1").fetchall() == [(1,)]  # not ended
    finally:
        holder.close()

    late: list[psycopg.Connection] = []

    def connect_late() -> None:  # someone opens the template while the new one is built
        late.append(psycopg.connect(f"{PG_ADMIN}/{env.template}", autocommit=True,
                                    application_name="dbclone_it_late"))
    try:
        code, _ = env.cli("template", "refresh")  # the CLI path, for its exit code
        assert code == 0  # nobody connected yet: refreshed
        refreshed = _template_oid(env)
        assert refreshed != oid
        with pytest.raises(TemplateInUse, match="dbclone_it_late"):
            envs.build_template(env.config, _During(connect_late), control=env.control)
        assert late[0].execute("SELECT count(*) FROM film").fetchall() == [(1000,)]
    finally:
        for c in late:
            c.close()
    assert _template_oid(env) == refreshed  # the refused refresh swapped nothing
    assert not [d for d in _databases(env.dst) if "__dbclone_" in d]  # new copy dropped
    assert _one(branch, "SELECT count(*) FROM rental") == [(16044,)]
    assert env.up("feature/next").created  # the kept template still copies


def test_the_issue_branch_names_each_get_their_own_database(env: Env) -> None:
    """Long branches sharing 96 characters, a non-ASCII one, and two differing only in case
    and punctuation: each is created under a valid name of its own that the server keeps
    whole (PostgreSQL would cut a longer one silently), found again by url, list and up."""
    assert len(ISSUE_BRANCHES[0]) - len("feature/ABC-1234-") == 80
    first = {b: env.up(b) for b in ISSUE_BRANCHES}
    names = {b: r.record.database for b, r in first.items()}
    assert all(r.created for r in first.values())
    assert len(set(names.values())) == len(ISSUE_BRANCHES)
    for b, name in names.items():
        assert VALID.fullmatch(name) and len(name.encode()) <= 63, name
        assert name.startswith(env.dst + "_")
        assert name == envs.branch_name(env.config, b, control=env.control)
    assert env.branches() == sorted(names.values())  # on the server under exactly these names

    for b, name in names.items():
        code, out = env.cli("env", "url", "--branch", b)
        assert code == 0 and make_url(out.strip()).database == name
        with psycopg.connect(out.strip()) as c:  # the URL leads to that very database
            assert c.execute("SELECT current_database(), (SELECT count(*) FROM film)"
                             ).fetchone() == (name, 1000)
    assert sorted((r["branch"], r["name"], r["status"], r["exists"]) for r in env.list_json()) \
        == sorted((b, name, "ready", True) for b, name in names.items())

    for b in ISSUE_BRANCHES:  # stable: a second up (the command) returns the same database
        code, out = env.cli("env", "up", "--branch", b, "--output", "json")
        again = json.loads(out)
        assert code == 0 and again["new"] is False
        assert (again["name"], again["identity"]) == (names[b], first[b].record.identity)
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
    assert len(names) == 11
    assert env.branches() == names
    assert [r[0] for r in env.registry()] == names
    assert {r[3] for r in env.registry()} == {"ready"}
    assert _one(env.control, "SELECT count(*) FROM dbclone_templates") == [(1,)]
    for name in names:
        assert _one(name, "SELECT count(*) FROM rental") == [(16044,)]


# -- bad input -----------------------------------------------------------------------------------

def test_unknown_branch_and_bad_ttl(env: Env) -> None:
    env.up("feature/login")
    before = env.branches()
    code, _ = env.cli("env", "down", "--branch", "feature/logn")
    assert code == 6
    with pytest.raises(UnknownBranch, match="feature/logn") as exc:
        envs.down(env.config, "feature/logn", control=env.control)
    assert exc.value.hint == "did you mean 'feature/login'?"
    with pytest.raises(UnknownBranch):
        envs.url(env.config, "feature/other", control=env.control)
    with pytest.raises(BadTTL, match="'3 days' is not a duration"):
        env.up("feature/ttl", ttl="3 days")
    assert env.branches() == before


def test_a_database_dbclone_did_not_create_is_never_touched(env: Env) -> None:
    env.up("main")
    name = envs.branch_name(env.config, "feature/theirs", control=env.control)
    with pg_connect() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    with pg_connect(name) as c:
        c.execute("CREATE TABLE precious (x int); INSERT INTO precious VALUES (42)")
    with pytest.raises(ForeignDatabase, match="dbclone did not create it"):
        env.up("feature/theirs")
    with pytest.raises(UnknownBranch):
        envs.down(env.config, "feature/theirs", control=env.control)
    assert envs.gc(env.config, now=utcnow() + timedelta(days=400), control=env.control) \
        [0].branch == "main"
    assert _one(name, "SELECT x FROM precious") == [(42,)]
    assert env.registry() == []


def test_a_branch_database_replaced_by_someone_else_is_not_dropped(env: Env) -> None:
    r = env.up("feature/replaced")
    name = r.record.database
    pg_drop(name)
    with pg_connect() as c:
        c.execute(f'CREATE DATABASE "{name}"')  # same name, another database (another oid)
    with pytest.raises(ForeignDatabase, match="not the one dbclone created"):
        envs.down(env.config, "feature/replaced", control=env.control)
    assert _databases(name) == [name]
    assert env.registry() == []


def test_a_foreign_template_is_refused(env: Env) -> None:
    with pg_connect() as c:
        c.execute(f'CREATE DATABASE "{env.template}"')
    with pytest.raises(ForeignDatabase, match="did not build it as a template"):
        env.up("main")
    assert env.branches() == []
    assert _one(env.template, "SELECT count(*) FROM pg_class WHERE relname = 'film'") == [(0,)]


def test_template_in_use_names_the_session(env: Env) -> None:
    env.up("main")
    holder = psycopg.connect(f"{PG_ADMIN}/{env.template}", autocommit=True,
                             application_name="dbclone_it_holder")
    try:
        pid = holder.info.backend_pid
        with pytest.raises(TemplateInUse) as exc:
            env.up("feature/blocked")
    finally:
        holder.close()
    msg = str(exc.value)
    assert f"pid {pid} (user postgres, application 'dbclone_it_holder', client 127.0.0.1)" \
        in msg
    assert "SELECT" not in msg
    assert env.registry() == [(envs.branch_name(env.config, "main", control=env.control),
                               "main", env.template, "ready")]
    assert len(env.branches()) == 1
    assert env.up("feature/blocked").created  # works once the session is gone


def test_a_role_without_createdb_gets_a_clear_error(env: Env, tmp_path: Path) -> None:
    env.up("main")  # the template and the registry exist, built as postgres
    role = unique_name("dbclone_it_role")
    with pg_connect() as c:
        c.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    with pg_connect(env.control) as c:
        c.execute(f'GRANT ALL ON dbclone_envs, dbclone_templates TO "{role}"')
    try:
        limited = load_workspace(env.workspace(tmp_path, role, "limited.yaml"))
        with pytest.raises(ProvisionFailed, match=f"user '{role}' may not create databases") \
                as exc:
            envs.up(limited, "feature/no-right", control=env.control)
        assert exc.value.hint == f"ALTER ROLE {role} CREATEDB"
        assert len(env.branches()) == 1
        assert [r[1] for r in env.registry()] == ["main"]
    finally:
        with pg_connect(env.control) as c:
            c.execute(f'DROP OWNED BY "{role}"')
        with pg_connect() as c:
            c.execute(f'DROP ROLE "{role}"')
