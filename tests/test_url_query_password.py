"""A password given as ``?password=`` is treated like one in the URL's userinfo: hidden in
messages, kept out of client programs' argv, handed over the way passwords are."""

from __future__ import annotations

from dbclone.dialects import parse_url
from dbclone.dialects.postgresql.connect import client_env, conninfo


def test_query_password_becomes_the_password_and_leaves_the_query() -> None:
    url = parse_url("postgresql://app@db.example/shop?password=Qz7-secret&sslmode=require")
    assert url.password == "Qz7-secret"
    assert url.query == {"sslmode": "require"}
    assert "Qz7-secret" not in str(url)
    assert str(url) == "postgresql://app:***@db.example/shop?sslmode=require"


def test_query_password_reaches_pgpassword_not_the_command_line() -> None:
    url = parse_url("postgresql://app@db.example/shop?password=Qz7-secret")
    assert "Qz7-secret" not in conninfo(url, password=False)
    assert client_env(url)["PGPASSWORD"] == "Qz7-secret"
    assert "password=Qz7-secret" in conninfo(url)


def test_userinfo_password_wins_over_a_query_one() -> None:
    url = parse_url("postgresql://app:inline@db.example/shop?password=other")
    assert url.password == "inline"
    assert url.query == {}


def test_mysql_query_password_is_not_an_unknown_option() -> None:
    from dbclone.dialects.mysql.connect import _options

    url = parse_url("mysql://root@127.0.0.1/app?password=Qz7-secret&connect_timeout=5")
    assert url.password == "Qz7-secret"
    assert _options(url, "source.url") == {"connect_timeout": 5}
