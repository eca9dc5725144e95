"""Connection failures name the server, user or database, and never the password."""

from __future__ import annotations

import socket

import pytest
from conftest import PG_ADMIN

from dbclone.dialects import get_dialect, parse_url
from dbclone.errors import ConnectionFailed

PASSWORD = "s3cr3t-Pa55"


def open_source(url: str) -> None:
    with get_dialect("postgresql").open_source(parse_url(url)):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_no_secret(err: ConnectionFailed) -> None:
    assert PASSWORD not in err.message and PASSWORD not in (err.hint or "")
    assert "Traceback" not in err.message


def test_unreachable_server_names_host_and_port() -> None:
    port = free_port()
    with pytest.raises(ConnectionFailed) as err:
        open_source(f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/app")
    assert err.value.message == f"cannot reach the PostgreSQL server at 127.0.0.1:{port}"
    assert "running" in err.value.hint
    assert_no_secret(err.value)


def test_unknown_role_is_an_authentication_failure() -> None:
    with pytest.raises(ConnectionFailed) as err:
        open_source(f"postgresql://dbclone_it_nobody:{PASSWORD}@127.0.0.1:5432/postgres")
    assert err.value.message == ("PostgreSQL authentication failed for user "
                                 "'dbclone_it_nobody' on 127.0.0.1:5432")
    assert_no_secret(err.value)


def test_missing_database_suggests_the_near_name(pg_db) -> None:
    db = pg_db()
    typo = db[:-1] + ("x" if db[-1] != "x" else "y")
    admin = parse_url(f"{PG_ADMIN}/{typo}")
    with pytest.raises(ConnectionFailed) as err:
        open_source(str(admin.url.set(password=PASSWORD).render_as_string(hide_password=False)))
    assert err.value.message == f"PostgreSQL database '{typo}' does not exist on 127.0.0.1:5432"
    assert err.value.hint == f"did you mean '{db}'?"
    assert_no_secret(err.value)
    assert err.value.exit_code == 3
