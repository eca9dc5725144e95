"""Branch databases on SQLite, end to end: Chinook cloned masked into a template, then copied
per branch. Real files, real SQLite, real locks; no server needed."""

from __future__ import annotations

import ctypes
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dbclone import envs
from dbclone.cli import main
from dbclone.config import WorkspaceConfig, parse_workspace
from dbclone.envs import ForeignDatabase, ProvisionFailed, UnknownBranch
from dbclone.envs.model import CREATING, EnvRecord, open_provisioner, utcnow
from dbclone.envs.service import target
from dbclone.pipeline import RunObserver

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DBCLONE_SHARED", ROOT.parent / "shared")).resolve()
CHINOOK = SHARED / "datasets" / "chinook" / "Chinook_Sqlite.sqlite"
MASKS = {"Customer.FirstName": "fake_first_name", "Customer.Email": "fake_email"}
# The issue's branch names (the same as tests/test_env_names.py, there as pure names)
BODY = "improve-the-invoice-export-so-that-it-handles-multi-currency-totals-correctly-0"
ISSUE_BRANCHES = ["feature/ABC-1234-" + BODY + "a",  # 80 characters after the ticket
                  "feature/ABC-1234-" + BODY + "b",  # the same but for the very last one
                  "fix/Überprüfung", "Release/1.0", "release-1.0"]
VALID = re.compile(r"[a-z0-9_]{1,63}")


@pytest.fixture(autouse=True)
def _own_control(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBCLONE_CONTROL_DB", raising=False)
    monkeypatch.delenv("DBCLONE_WORKSPACE", raising=False)


@pytest.fixture
def chinook(tmp_path: Path) -> Path:
    if not CHINOOK.exists():
        pytest.fail(f"{CHINOOK} not found (set DBCLONE_SHARED)")
    copy = tmp_path / "chinook.db"
    shutil.copyfile(CHINOOK, copy)
    return copy


@pytest.fixture
def ws_file(chinook: Path, tmp_path: Path) -> Path:
    p = tmp_path / "chinook.yaml"
    p.write_text(yaml.safe_dump({
        "workspace": "chinook-branches",
        "source": {"url": f"sqlite:///{chinook}"},
        "destination": {"url": f"sqlite:///{tmp_path / 'chinook_dev.db'}"},
        "generators": MASKS,
        # the privacy gate would stop at the columns this test leaves unmasked
        "on_unconfigured": "keep",
    }))
    return p


@pytest.fixture
def ws(ws_file: Path) -> WorkspaceConfig:
    return parse_workspace(ws_file.read_text(), source=str(ws_file), env={})


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def write(path: Path, sql: str) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def path_of(result: envs.EnvResult) -> Path:
    return Path(result.url.database)


def registry(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "dbclone_control.json").read_text())


def branch_files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.glob("chinook_dev_*.db")
                  if p.name != "chinook_dev_template.db")


def list_json(ws: WorkspaceConfig) -> list[dict]:
    """What `dbclone env list --json` prints."""
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["env", "list", "--json", "--workspace", str(ws.path)]) == 0
    return json.loads(buf.getvalue())


def listing(ws: WorkspaceConfig) -> list[tuple]:
    return [(r["branch"], r["name"], r["template"], r["status"], r["exists"], r["size"] > 0)
            for r in list_json(ws)]


class CountBuilds(RunObserver):
    def __init__(self) -> None:
        self.swaps = 0
        self._lock = threading.Lock()

    def stage(self, name: str) -> None:
        if name == "swap":
            with self._lock:
                self.swaps += 1


COUNTS = ("SELECT (SELECT count(*) FROM Track), (SELECT count(*) FROM Customer), "
          "(SELECT count(*) FROM Invoice), (SELECT count(*) FROM InvoiceLine)")
EMAILS = "SELECT CustomerId, Email FROM Customer ORDER BY CustomerId"


# -- three branches ------------------------------------------------------------------------------

def test_three_branches_are_independent_copies_of_the_masked_template(ws, chinook,
                                                                      tmp_path) -> None:
    assert list_json(ws) == []
    obs = CountBuilds()
    a = envs.up(ws, "feature/ABC-1", observer=obs)
    b = envs.up(ws, "fix/Überprüfung", observer=obs)
    c = envs.up(ws, "Release/1.0", observer=obs)
    assert obs.swaps == 1  # the template was built once, by the first up
    template = tmp_path / "chinook_dev_template.db"
    assert [r.created for r in (a, b, c)] == [True, True, True]
    assert len({path_of(r) for r in (a, b, c)}) == 3
    assert listing(ws) == sorted([
        ("feature/ABC-1", a.record.database, "chinook_dev_template", "ready", True, True),
        ("fix/Überprüfung", b.record.database, "chinook_dev_template", "ready", True, True),
        ("Release/1.0", c.record.database, "chinook_dev_template", "ready", True, True)])

    # each branch holds the template's (masked) data, not the source's
    for r in (a, b, c):
        assert rows(path_of(r), COUNTS) == rows(chinook, COUNTS) == [(3503, 59, 412, 2240)]
        assert rows(path_of(r), EMAILS) == rows(template, EMAILS)
    assert rows(template, EMAILS) != rows(chinook, EMAILS)

    # a write to one is invisible in the others and in the template
    write(path_of(a), "UPDATE Customer SET Email = 'changed@example.org' WHERE CustomerId = 1")
    write(path_of(a), "DELETE FROM InvoiceLine WHERE InvoiceId = 1")
    assert rows(path_of(a), "SELECT Email FROM Customer WHERE CustomerId = 1") == \
        [("changed@example.org",)]
    for other in (path_of(b), path_of(c), template):
        assert rows(other, EMAILS) == rows(template, EMAILS)
        assert rows(other, COUNTS) == [(3503, 59, 412, 2240)]

    # down removes exactly one
    envs.down(ws, "fix/Überprüfung")
    assert not path_of(b).exists() and path_of(a).exists() and path_of(c).exists()
    assert branch_files(tmp_path) == sorted([path_of(a).name, path_of(c).name])
    assert [x[0] for x in listing(ws)] == ["Release/1.0", "feature/ABC-1"]
    assert sorted(registry(tmp_path)["envs"]) == sorted([a.record.database, c.record.database])
    # the hidden links that hold each branch file's inode: the dropped one's is let go
    assert sorted(p.name for p in (tmp_path / ".dbclone_control.pins").iterdir()) == \
        sorted([a.record.database, c.record.database])
    assert template.exists()


def test_second_up_returns_the_same_database_and_extends_its_expiry(ws) -> None:
    t0 = utcnow()
    first = envs.up(ws, "feature/x", ttl="1h", now=t0)
    envs.url(ws, "feature/x")
    write(path_of(first), "CREATE TABLE marker (x)")
    again = envs.up(ws, "feature/x", ttl="1h", now=t0 + timedelta(minutes=30))
    assert not again.created and again.url == first.url
    assert rows(path_of(again), "SELECT count(*) FROM marker") == [(0,)]  # not recreated
    assert again.record.expires == t0 + timedelta(minutes=90)
    shorter = envs.up(ws, "feature/x", ttl="1m", now=t0 + timedelta(minutes=31))
    assert shorter.record.expires == t0 + timedelta(minutes=90)  # never earlier


def test_gc_drops_exactly_the_expired(ws, tmp_path) -> None:
    t0 = utcnow()
    short1 = envs.up(ws, "short-1", ttl="1h", now=t0)
    short2 = envs.up(ws, "short-2", ttl="30m", now=t0)
    long_ = envs.up(ws, "long", ttl="72h", now=t0)
    never = envs.up(ws, "keep", ttl="never", now=t0)
    assert envs.gc(ws, now=t0 + timedelta(minutes=10)) == []

    later = t0 + timedelta(hours=2)
    would = envs.gc(ws, dry_run=True, now=later)
    assert sorted(r.branch for r in would) == ["short-1", "short-2"]
    assert all(path_of(r).exists() for r in (short1, short2))  # dry run drops nothing

    dropped = envs.gc(ws, now=later)
    assert sorted(r.branch for r in dropped) == ["short-1", "short-2"]
    assert not path_of(short1).exists() and not path_of(short2).exists()
    assert path_of(long_).exists() and path_of(never).exists()
    assert [x[0] for x in listing(ws)] == ["keep", "long"]
    assert envs.gc(ws, now=t0 + timedelta(days=3, hours=1))[0].branch == "long"
    assert [x[0] for x in listing(ws)] == ["keep"]
    assert (tmp_path / "chinook_dev_template.db").exists()


def test_reset_brings_back_the_template_data(ws) -> None:
    t0 = utcnow()
    r = envs.up(ws, "feature/reset", ttl="2h", now=t0)
    write(path_of(r), "DELETE FROM InvoiceLine")
    fresh = envs.reset(ws, "feature/reset", now=t0 + timedelta(hours=1))
    assert rows(path_of(fresh), "SELECT count(*) FROM InvoiceLine") == [(2240,)]
    assert fresh.url == r.url
    assert fresh.record.expires == t0 + timedelta(hours=3)  # the same TTL, from the reset
    assert fresh.record.identity != r.record.identity


def test_the_issue_branch_names_each_get_their_own_file(ws, tmp_path, capsys) -> None:
    """Long branches sharing 96 characters, a non-ASCII one, and two differing only in case
    and punctuation: each gets a file of its own (distinct even on a case-insensitive file
    system), found again by url, list and up."""
    first = {b: envs.up(ws, b) for b in ISSUE_BRANCHES}
    names = {b: r.record.database for b, r in first.items()}
    assert all(r.created for r in first.values())
    assert len({n.lower() for n in names.values()}) == len(ISSUE_BRANCHES)
    for b, name in names.items():
        assert VALID.fullmatch(name) and len(name.encode()) <= 63, name
        assert name.startswith("chinook_dev_") and name == envs.branch_name(ws, b)
    assert branch_files(tmp_path) == sorted(f"{n}.db" for n in names.values())

    args = ["--workspace", str(ws.path)]
    for b, name in names.items():
        assert main(["env", "url", "--branch", b, *args]) == 0
        out = capsys.readouterr().out
        assert out == f"sqlite:///{tmp_path / name}.db\n"
        write(Path(out.strip().removeprefix("sqlite:///")),
              f"CREATE TABLE marker AS SELECT '{name}' AS name")  # found through its URL
    for name in names.values():
        assert rows(tmp_path / f"{name}.db", "SELECT name FROM marker") == [(name,)]
    assert sorted((r["branch"], r["name"], r["status"], r["exists"]) for r in list_json(ws)) \
        == sorted((b, name, "ready", True) for b, name in names.items())

    for b in ISSUE_BRANCHES:  # stable: a second up (the command) returns the same file
        assert main(["env", "up", "--branch", b, "--output", "json", *args]) == 0
        again = json.loads(capsys.readouterr().out)
        assert again["new"] is False
        assert (again["name"], again["identity"]) == (names[b], first[b].record.identity)
        assert rows(tmp_path / f"{names[b]}.db", "SELECT name FROM marker") == [(names[b],)]
    assert sorted(registry(tmp_path)["envs"]) == sorted(names.values())


# -- safety --------------------------------------------------------------------------------------

def test_a_file_dbclone_did_not_create_is_never_overwritten_or_dropped(ws, tmp_path) -> None:
    envs.up(ws, "main")  # the template exists
    name = envs.branch_name(ws, "feature/theirs")
    foreign = tmp_path / f"{name}.db"
    foreign.write_bytes(b"not ours")
    with pytest.raises(ForeignDatabase, match="dbclone did not create it"):
        envs.up(ws, "feature/theirs")
    with pytest.raises(UnknownBranch):
        envs.down(ws, "feature/theirs")
    assert foreign.read_bytes() == b"not ours"
    assert name not in registry(tmp_path)["envs"]


def test_a_replaced_branch_file_is_not_dropped(ws, tmp_path) -> None:
    r = envs.up(ws, "feature/swapped")
    path = path_of(r)
    path.unlink()
    path.write_bytes(b"someone else's file")  # same name, another file
    with pytest.raises(ForeignDatabase, match="not the one dbclone created"):
        envs.down(ws, "feature/swapped")
    assert path.read_bytes() == b"someone else's file"
    assert r.record.database not in registry(tmp_path)["envs"]


def test_a_foreign_template_is_refused(ws, tmp_path) -> None:
    (tmp_path / "chinook_dev_template.db").write_bytes(b"theirs")
    with pytest.raises(ForeignDatabase, match="did not build it as a template"):
        envs.up(ws, "main")
    with pytest.raises(ForeignDatabase):
        envs.build_template(ws)
    assert (tmp_path / "chinook_dev_template.db").read_bytes() == b"theirs"
    assert branch_files(tmp_path) == []


def test_unknown_branch_on_down_and_url_suggests_the_recorded_one(ws) -> None:
    envs.up(ws, "feature/login")
    with pytest.raises(UnknownBranch, match="no branch database is recorded for branch "
                                            "'feature/logn'") as exc:
        envs.down(ws, "feature/logn")
    assert exc.value.hint == "did you mean 'feature/login'?"
    with pytest.raises(UnknownBranch):
        envs.url(ws, "feature/nope")
    assert envs.down(ws, "feature/nope", missing_ok=True) is None


def test_a_half_made_copy_of_a_dead_process_is_redone(ws, tmp_path) -> None:
    envs.up(ws, "main")
    t = target(ws)
    name = envs.branch_name(ws, "feature/crashed")
    with open_provisioner(t.url, t.control) as prov:
        prov.save(EnvRecord(name, "feature/crashed", t.template, ws.name, utcnow(), None,
                            CREATING))
    (tmp_path / f"{name}.db").write_bytes(b"half a copy")
    r = envs.up(ws, "feature/crashed")
    assert r.created and rows(path_of(r), COUNTS) == [(3503, 59, 412, 2240)]
    assert registry(tmp_path)["envs"][name]["status"] == "ready"


# -- a directory dbclone may not write to -------------------------------------------------------

def _obey_file_modes() -> None:
    """Run in the child before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the
    capability bounding set, so that even root is held to the directory's mode bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _run_held_to_modes(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *argv], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
                          preexec_fn=_obey_file_modes if os.geteuid() == 0 else None)


def _dbclone(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return _run_held_to_modes(cwd, "-m", "dbclone.cli", *args)


@contextmanager
def _read_only(folder: Path) -> Iterator[Path]:
    """``folder`` at mode 0500, and proof that a child process really cannot write there.
    chmod alone does not stop root (the tests run as root in CI), so the children run
    without the capabilities that let root ignore file modes."""
    folder.chmod(0o500)
    try:
        try:
            probe = _run_held_to_modes(folder, "-c", "open('probe', 'w')")
        except subprocess.SubprocessError as exc:  # prctl refused (no CAP_SETPCAP)
            pytest.skip(f"cannot run a child that obeys file modes as root here: {exc}")
        if probe.returncode == 0:
            pytest.skip("a child process can still write to a mode-0500 directory here, so "
                        "an unwritable template directory cannot be produced")
        assert "PermissionError" in probe.stderr
        yield folder
    finally:
        folder.chmod(0o700)


def _state(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file in ``folder`` and its hidden subfolders (the pins too), with inode and
    content; not the empty lock files, which dbclone may add in its own locks folder."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.read_bytes())
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.parent.name != ".dbclone_control.locks"}


def _clear_error(done: subprocess.CompletedProcess, folder: Path) -> str:
    assert done.returncode not in (0, 1), done.stderr  # 1 would be an unexpected crash
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: ") and str(folder) in done.stderr, done.stderr
    assert "Permission denied" in done.stderr, done.stderr
    return done.stderr


def test_up_in_a_fresh_directory_it_cannot_write_is_a_clear_error(ws_file, tmp_path) -> None:
    with _read_only(tmp_path) as folder:
        before = _state(folder)
        done = _dbclone(folder, "env", "up", "--branch", "feature/x", "--workspace",
                        str(ws_file))
        _clear_error(done, folder)
        assert _state(folder) == before


def test_a_template_directory_it_cannot_write_gives_clear_errors_and_drops_nothing(
        ws, ws_file, tmp_path) -> None:
    """Template and branches exist, then their directory becomes read-only: every verb that
    would write fails with an error naming the file and the reason, and nothing (template,
    branch files, their pins, the registry) is dropped or changed; url and list still work."""
    t0 = utcnow()
    keep = envs.up(ws, "feature/keep")
    old = envs.up(ws, "feature/old", ttl="1m", now=t0 - timedelta(hours=1))  # expired
    write(path_of(keep), "CREATE TABLE marker AS SELECT 'mine' AS x")
    with _read_only(tmp_path) as folder:
        before = _state(folder)
        args = ["--workspace", str(ws_file)]
        up = _clear_error(_dbclone(folder, "env", "up", "--branch", "feature/new", *args),
                          folder)
        assert "cannot write the registry" in up
        down = _clear_error(_dbclone(folder, "env", "down", "--branch", "feature/keep",
                                     *args), folder)
        assert f"{path_of(keep)}: cannot delete" in down
        _clear_error(_dbclone(folder, "env", "reset", "--branch", "feature/keep", *args),
                     folder)
        gc = _clear_error(_dbclone(folder, "env", "gc", *args), folder)
        assert f"{path_of(old)}: cannot delete" in gc
        _clear_error(_dbclone(folder, "template", "refresh", str(ws_file)), folder)
        assert _state(folder) == before  # not a byte changed, not a file gone

        url = _dbclone(folder, "env", "url", "--branch", "feature/keep", *args)
        assert url.returncode == 0 and url.stdout == f"sqlite:///{path_of(keep)}\n"
        listed = _dbclone(folder, "env", "list", "--json", *args)
        assert listed.returncode == 0
        assert [r["branch"] for r in json.loads(listed.stdout)] == ["feature/keep",
                                                                    "feature/old"]
    # writable again: everything still works from where it was
    assert rows(path_of(keep), "SELECT x FROM marker") == [("mine",)]
    assert [r.branch for r in envs.gc(ws)] == ["feature/old"]
    assert envs.up(ws, "feature/new").created
    assert rows(path_of(keep), "SELECT x FROM marker") == [("mine",)]


def test_a_destination_under_a_file_is_a_clear_error(chinook, tmp_path) -> None:
    """A template directory that cannot even be a directory (its path runs through a file):
    refused before anything is written, for root as for anyone."""
    blocker = tmp_path / "not_a_dir"
    blocker.write_bytes(b"a file")
    config = parse_workspace(yaml.safe_dump({
        "workspace": "chinook-branches", "source": {"url": f"sqlite:///{chinook}"},
        "destination": {"url": f"sqlite:///{blocker / 'chinook_dev.db'}"},
        "generators": MASKS, "on_unconfigured": "keep"}), source="under-a-file.yaml", env={})
    before = _state(tmp_path)
    with pytest.raises(ProvisionFailed, match="the destination's directory does not exist"):
        envs.up(config, "feature/x")
    with pytest.raises(ProvisionFailed, match=str(blocker)):
        envs.build_template(config)
    assert _state(tmp_path) == before


# -- template refresh ----------------------------------------------------------------------------

def test_refresh_swaps_the_template_and_old_branches_keep_working(ws, chinook,
                                                                  tmp_path) -> None:
    old = envs.up(ws, "feature/old")
    reader = sqlite3.connect(path_of(old))  # a test run using the branch right now
    write(chinook, "UPDATE Artist SET Name = 'Renamed' WHERE ArtistId = 1")
    envs.build_template(ws)
    template = tmp_path / "chinook_dev_template.db"
    assert rows(template, "SELECT Name FROM Artist WHERE ArtistId = 1") == [("Renamed",)]
    assert reader.execute("SELECT Name FROM Artist WHERE ArtistId = 1").fetchall() == \
        [("AC/DC",)]
    assert reader.execute("SELECT count(*) FROM Track").fetchall() == [(3503,)]
    reader.close()
    new = envs.up(ws, "feature/new")
    assert rows(path_of(new), "SELECT Name FROM Artist WHERE ArtistId = 1") == [("Renamed",)]
    assert rows(path_of(old), "SELECT Name FROM Artist WHERE ArtistId = 1") == [("AC/DC",)]
    assert [p.name for p in tmp_path.iterdir() if "dbclone-tmp" in p.name] == []


# -- concurrency ---------------------------------------------------------------------------------

def test_ten_branches_and_three_same_ones_at_once(ws, tmp_path) -> None:
    """No template yet: thirteen ups race; it is built once, every up succeeds, the repeated
    branch gets one database, and the registry holds exactly eleven ready entries."""
    obs = CountBuilds()
    branches = [f"feature/parallel-{i}" for i in range(10)] + ["feature/same"] * 3
    with ThreadPoolExecutor(max_workers=13) as pool:
        results = list(pool.map(lambda b: envs.up(ws, b, observer=obs), branches))
    assert obs.swaps == 1
    same = results[10:]
    assert len({r.record.database for r in same}) == 1
    assert sorted(r.created for r in same) == [False, False, True]
    names = {r.record.database for r in results}
    assert len(names) == 11
    reg = registry(tmp_path)["envs"]
    assert set(reg) == names and {v["status"] for v in reg.values()} == {"ready"}
    assert branch_files(tmp_path) == sorted(f"{n}.db" for n in names)
    for r in results:
        assert rows(path_of(r), "SELECT count(*) FROM Track") == [(3503,)]
    assert [p.name for p in tmp_path.iterdir() if "dbclone-tmp" in p.name] == []


# -- CLI -----------------------------------------------------------------------------------------

def test_cli_up_env_output_list_json_and_down(ws_file, tmp_path, capsys) -> None:
    args = ["--workspace", str(ws_file)]
    assert main(["env", "up", "--branch", "Release/1.0", *args, "--output", "env"]) == 0
    out = capsys.readouterr().out.splitlines()
    path = tmp_path / "chinook_dev_release_1_0_777d027c9e.db"
    assert out == [f"DATABASE_URL=sqlite:///{path}",
                   "DATABASE_NAME=chinook_dev_release_1_0_777d027c9e"]
    assert main(["env", "url", "--branch", "Release/1.0", *args]) == 0
    assert capsys.readouterr().out == f"sqlite:///{path}\n"
    assert main(["env", "list", "--json", *args]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["branch"], r["name"], r["size"]) for r in listed] == [
        ("Release/1.0", "chinook_dev_release_1_0_777d027c9e", path.stat().st_size)]
    assert main(["env", "down", "--branch", "Release/1.0", *args]) == 0
    assert not path.exists()
    assert main(["env", "list", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_cli_up_prints_url_json_or_env_lines(ws_file, tmp_path, capsys) -> None:
    args = ["env", "up", "--branch", "fix/Überprüfung", "--workspace", str(ws_file)]
    name = "chinook_dev_fix_uberprufung_7dc884ddf7"
    path = tmp_path / f"{name}.db"
    assert main([*args, "--output", "url", "--ttl", "2h"]) == 0
    assert capsys.readouterr().out == f"sqlite:///{path}\n"
    assert main([*args, "--output", "json"]) == 0  # the same database, found again
    data = json.loads(capsys.readouterr().out)
    created, expires = (datetime.fromisoformat(data.pop(k)) for k in ("created", "expires"))
    assert expires - created >= timedelta(hours=72)  # the default TTL, longer: extended
    assert data == {"database": name, "name": name, "branch": "fix/Überprüfung",
                    "template": "chinook_dev_template", "workspace": "chinook-branches",
                    "status": "ready", "identity": data["identity"],
                    "url": f"sqlite:///{path}", "new": False}
    assert data["identity"] == f"{path.stat().st_dev}:{path.stat().st_ino}"
    assert main([*args, "-o", "env"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"DATABASE_URL=sqlite:///{path}",
                                                    f"DATABASE_NAME={name}"]
    assert [r["name"] for r in list_json(parse_workspace(
        ws_file.read_text(), source=str(ws_file), env={}))] == [name]


def test_cli_errors_have_exit_codes_and_hints(ws_file, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DBCLONE_WORKSPACE", str(ws_file))
    assert main(["env", "up", "--branch", "x", "--ttl", "3 days"]) == 2
    err = capsys.readouterr().err
    assert "error: --ttl: '3 days' is not a duration" in err and "hint:" in err
    assert not (tmp_path / "chinook_dev_template.db").exists()  # nothing was built
    assert main(["env", "down", "--branch", "nope"]) == 6
    assert "no branch database is recorded for branch 'nope'" in capsys.readouterr().err
    assert main(["env", "down", "--branch", "nope", "--missing-ok"]) == 0
    assert main(["env", "url", "--branch", "nope"]) == 6


def test_cli_clone_as_template_and_template_refresh(ws_file, tmp_path, capsys) -> None:
    assert main(["clone", str(ws_file), "--as-template", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    template = tmp_path / "chinook_dev_template.db"
    assert report["destination"] == f"sqlite:///{template}"
    assert not (tmp_path / "chinook_dev.db").exists()  # the plain destination is not built
    first = template.stat().st_ino
    assert main(["template", "refresh", str(ws_file)]) == 0
    assert template.stat().st_ino != first  # a new file, swapped in
    assert rows(template, "SELECT count(*) FROM Track") == [(3503,)]
