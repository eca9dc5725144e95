"""dbclone env prints connection URLs without the password unless --with-password: a URL in
a CI log or $GITHUB_OUTPUT must not carry it. (The server here trusts local connections, so
any password in the workspace is accepted and the URL still connects without it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import pg_connect, pg_drop, unique_name, write_workspace

from dbclone.dialects import parse_url
from dbclone.envs.service import connection_url


def test_connection_url_drops_the_password_unless_asked() -> None:
    url = parse_url("postgresql://app:s3cr3t-pw@db.example:5432/shop")
    assert connection_url(url) == "postgresql://app@db.example:5432/shop"
    assert connection_url(url, with_password=True) == \
        "postgresql://app:s3cr3t-pw@db.example:5432/shop"


CONTROL = unique_name("dbclone_it_control")  # the registry is this test's own database


def _dbclone(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DBCLONE_IT_PW": "s3cr3t-pw",  # the workspace says ${DBCLONE_IT_PW}
           "DBCLONE_CONTROL_DB": CONTROL}
    return subprocess.run([sys.executable, "-m", "dbclone.cli", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_env_commands_never_print_the_password(tmp_path) -> None:
    src = unique_name()
    with pg_connect() as c:
        c.execute(f'CREATE DATABASE "{src}"')
    with pg_connect(src) as c:
        c.execute("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 2)")
    pw = "s3cr3t-pw"
    ws = write_workspace(tmp_path, f"""
workspace: pw
source:
  url: postgresql://postgres:${{DBCLONE_IT_PW}}@127.0.0.1:5432/{src}
destination:
  url: postgresql://postgres:${{DBCLONE_IT_PW}}@127.0.0.1:5432/{src}_dst
template:
  name: {src}_tpl
""")
    try:
        outputs = [
            _dbclone("env", "up", "--branch", "b1", "--workspace", str(ws)),
            _dbclone("env", "up", "--branch", "b1", "--workspace", str(ws), "--output", "env"),
            _dbclone("env", "up", "--branch", "b1", "--workspace", str(ws), "--output", "json"),
            _dbclone("env", "url", "--branch", "b1", "--workspace", str(ws)),
            _dbclone("env", "list", "--workspace", str(ws), "--json"),
        ]
        for done in outputs:
            assert done.returncode == 0, done.stderr
            assert pw not in done.stdout and pw not in done.stderr
        assert outputs[1].stdout.startswith(
            f"DATABASE_URL=postgresql://postgres@127.0.0.1:5432/{src}_dst_b1\n")
        assert json.loads(outputs[4].stdout)[0]["url"] == \
            f"postgresql://postgres@127.0.0.1:5432/{src}_dst_b1"
        asked = _dbclone("env", "url", "--branch", "b1", "--workspace", str(ws),
                         "--with-password")
        assert asked.stdout.strip() == f"postgresql://postgres:{pw}@127.0.0.1:5432/{src}_dst_b1"
        assert _dbclone("env", "down", "--branch", "b1", "--workspace", str(ws)).returncode == 0
    finally:
        for name in (f"{src}_dst_b1", f"{src}_tpl", src, CONTROL):
            pg_drop(name)
