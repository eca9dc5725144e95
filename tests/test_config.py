"""Workspace loading: every broken config names its file:line and gives a hint."""

from __future__ import annotations

import pytest

from dbclone.config import load_workspace, parse_workspace
from dbclone.errors import ConfigError

GOOD = """\
workspace: shop
source:
  url: ${SRC_URL:-sqlite:///src.db}
destination:
  url: sqlite:///dst.db
generators:
  public.customers.email: {type: fake_email, keep_domain: true}
  customers.full_name: fake_name
"""


def error_of(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_workspace(text, "ws.yaml", env=env or {})
    return info.value


def test_good_workspace_parses_rules_with_their_lines() -> None:
    ws = parse_workspace(GOOD, "ws.yaml", env={})
    assert ws.name == "shop"
    assert ws.source.url == "sqlite:///src.db"
    assert [(r.column, r.type, r.params, r.where) for r in ws.rules] == [
        ("public.customers.email", "fake_email", {"keep_domain": True}, "ws.yaml:7"),
        ("customers.full_name", "fake_name", {}, "ws.yaml:8"),
    ]


def test_env_var_overrides_default() -> None:
    ws = parse_workspace(GOOD, "ws.yaml", env={"SRC_URL": "sqlite:///other.db"})
    assert ws.source.url == "sqlite:///other.db"


def test_a_password_variable_is_taken_literally_whatever_it_holds() -> None:
    from dbclone.dialects import parse_url

    text = ("source:\n  url: mysql://app:${DB_PW}@db.example:3306/shop\n"
            "destination:\n  url: ${DEV_URL}\n")
    secret = "Hunter2@tail%41:/?#x"
    ws = parse_workspace(text, "ws.yaml",
                         env={"DB_PW": secret, "DEV_URL": "mysql://dev:p%40w@h/dev"})
    url = parse_url(ws.source.url)
    assert (url.password, url.host, url.database) == (secret, "db.example", "shop")
    assert "tail" not in str(url)
    # a whole URL from a variable is the user's to encode, as written
    assert parse_url(ws.destination.url).password == "p@w"


def test_missing_env_var_names_line_and_variable() -> None:
    e = error_of("source:\n  url: ${PROD_URL}\ndestination:\n  url: x\n")
    assert str(e) == "ws.yaml:2: environment variable PROD_URL is not set"
    assert "export PROD_URL" in (e.hint or "")


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    e = error_of("workspace: x\nsoruce:\n  url: a\ndestination:\n  url: b\n")
    assert str(e) == "ws.yaml:2: unknown key 'soruce'"
    assert e.hint == "did you mean 'source'?"


def test_unknown_nested_key_points_at_its_line() -> None:
    e = error_of("source:\n  url: a\n  shemas: [x]\ndestination:\n  url: b\n")
    assert str(e) == "ws.yaml:3: unknown key 'shemas'"
    assert e.hint == "did you mean 'schemas'?"


def test_missing_section_is_named() -> None:
    e = error_of("source:\n  url: a\n")
    assert str(e) == "ws.yaml:1: destination: is required"


def test_bad_yaml_names_the_line() -> None:
    e = error_of("source:\n  url: a\n destination: [\n")
    assert str(e).startswith("ws.yaml:3: not valid YAML")


def test_duplicate_key_is_refused() -> None:
    e = error_of("source: {url: a}\ndestination: {url: b}\ngenerators:\n  t.c: keep\n"
                 "  t.c: null\n")
    assert str(e) == "ws.yaml:5: duplicate key 't.c'"


def test_rule_without_type() -> None:
    e = error_of("source: {url: a}\ndestination: {url: b}\ngenerators:\n"
                 "  t.c: {length: 3}\n")
    assert str(e) == "ws.yaml:4: generators.t.c: 'type' is required"


def test_literal_secret_is_refused_but_env_secret_is_fine() -> None:
    e = error_of("source: {url: a}\ndestination: {url: b}\nsecret: hunter2\n")
    assert str(e) == "ws.yaml:3: secret is written in the file"
    assert "hunter2" not in str(e) + (e.hint or "")
    ws = parse_workspace("source: {url: a}\ndestination: {url: b}\nsecret: ${S}\n", "ws.yaml",
                         env={"S": "k"})
    assert ws.secret == "k"


@pytest.mark.parametrize(("line", "message"), [
    ("secret: ${NOPE_SECRET:-my-default-secret}", "ws.yaml:3: secret has a default written"),
    ("destination: {url: 'postgresql://u:${NOPE_PW:-Sup3r}@h/db'}",
     "ws.yaml:2: destination.url has a password written"),
    ("destination: {url: 'postgresql://u@h/db?password=Sup3r'}",
     "ws.yaml:2: destination.url has a password written"),
    ("destination: {url: 'postgresql://u@h/db?sslmode=require&password=${NOPE_PW:-x}'}",
     "ws.yaml:2: destination.url has a password written"),
    # the user part holds an @: the password is after the first colon up to the last @
    ("destination: {url: 'postgresql://u@corp:Sup3r@h:5432/db'}",
     "ws.yaml:2: destination.url has a password written"),
    ("destination: {url: 'mysql://u@corp:Sup3r@h/db'}",
     "ws.yaml:2: destination.url has a password written"),
])
def test_a_secret_or_password_as_a_variables_default_is_written_in_the_file_too(
        line: str, message: str) -> None:
    """A fresh-user trial got these through: the default is the secret, in the file."""
    text = "source: {url: a}\n" + ("destination: {url: b}\n" if "destination" not in line
                                   else "") + line + "\n"
    e = error_of(text)
    assert str(e).startswith(message)
    assert "Sup3r" not in str(e) + (e.hint or "") and "my-default" not in str(e) + (e.hint or "")


def test_a_password_from_a_variable_in_the_query_is_fine() -> None:
    ws = parse_workspace("source: {url: a}\ndestination: {url: 'postgresql://u@h/db?password="
                         "${PW}'}\n", "ws.yaml", env={"PW": "k"})
    assert ws.destination.url.endswith("password=k")


def test_an_unset_secret_variable_is_not_told_to_take_a_default() -> None:
    e = error_of("source: {url: a}\ndestination: {url: b}\nsecret: ${NOPE}\n")
    assert "not set" in str(e) and ":-" not in (e.hint or "")


def test_top_level_must_be_a_mapping() -> None:
    e = error_of("- a\n- b\n")
    assert str(e) == "ws.yaml:1: a workspace must be a YAML mapping"


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="workspace file not found"):
        load_workspace(tmp_path / "nope.yaml")
