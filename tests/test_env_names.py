"""Branch -> database names, TTLs, workspace discovery and the workspace's template section.
No server: pure functions and config."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from dbclone.config import parse_workspace
from dbclone.envs import BadTTL, database_name, find_workspace, parse_ttl, target
from dbclone.envs.names import MAX_NAME_BYTES, default_prefix, fit_name
from dbclone.errors import ConfigError

BODY = "improve-the-invoice-export-so-that-it-handles-multi-currency-totals-correctly-0"
LONG_A = "feature/ABC-1234-" + BODY + "a"  # 80 characters after the ticket
LONG_B = "feature/ABC-1234-" + BODY + "b"  # the same but for the very last one
BRANCHES = [LONG_A, LONG_B, "fix/Überprüfung", "Release/1.0", "release-1.0"]

# Written down once: a name must never change between runs, machines or versions, or
# `env down` would no longer find the database `env up` made.
EXPECTED = {
    LONG_A: "feature_abc_1234_improve_the_invoice_export_so_that_6a26accedb",
    LONG_B: "feature_abc_1234_improve_the_invoice_export_so_that_f9f4aac8fa",
    "fix/Überprüfung": "fix_uberprufung_7dc884ddf7",
    "Release/1.0": "release_1_0_777d027c9e",
    "release-1.0": "release_1_0_4929bd40c3",
}
VALID = re.compile(r"[a-z0-9_]{1,63}")


def test_the_long_branches_are_80_characters_after_the_ticket() -> None:
    assert len(LONG_A) - len("feature/ABC-1234-") == 80
    assert LONG_A[:-1] == LONG_B[:-1]


@pytest.mark.parametrize("branch", BRANCHES)
def test_every_name_is_valid(branch: str) -> None:
    name = database_name(branch)
    assert VALID.fullmatch(name), name
    assert len(name.encode()) <= MAX_NAME_BYTES


def test_names_are_distinct() -> None:
    names = [database_name(b) for b in BRANCHES]
    assert len(set(names)) == len(BRANCHES)


def test_names_are_the_written_down_ones() -> None:
    assert {b: database_name(b) for b in BRANCHES} == EXPECTED


def test_names_are_the_same_in_another_interpreter() -> None:
    """A fresh process with another hash seed computes the same names."""
    code = ("import json,sys; from dbclone.envs import database_name; "
            "print(json.dumps([database_name(b) for b in json.loads(sys.argv[1])]))")
    import json

    out = subprocess.run([sys.executable, "-c", code, json.dumps(BRANCHES)], check=True,
                         capture_output=True, text=True, env={"PYTHONHASHSEED": "12345"})
    assert json.loads(out.stdout) == [EXPECTED[b] for b in BRANCHES]


def test_long_branches_sharing_a_prefix_differ_only_in_the_hash() -> None:
    a, b = database_name(LONG_A), database_name(LONG_B)
    assert a[:-10] == b[:-10] and a[-10:] != b[-10:]
    assert 60 <= len(a) <= MAX_NAME_BYTES  # as much of the branch as fits


def test_case_and_punctuation_variants_get_different_names() -> None:
    assert database_name("Release/1.0") != database_name("release-1.0")
    assert database_name("release_1_0") == "release_1_0"  # already clean: kept as is
    assert database_name("release_1_0") not in {database_name("Release/1.0"),
                                                  database_name("release-1.0")}


def test_clean_branches_keep_their_name_and_prefix_is_prepended() -> None:
    assert database_name("main") == "main"
    assert database_name("main", "app_dev_") == "app_dev_main"
    assert database_name("feature_login", "app_") == "app_feature_login"


def test_non_ascii_only_branch_still_gets_a_valid_unique_name() -> None:
    a, b = database_name("日本語"), database_name("中文")
    assert VALID.fullmatch(a) and VALID.fullmatch(b) and a != b
    assert a.startswith("branch_")


def test_a_clean_name_that_looks_hashed_is_hashed_too() -> None:
    """Otherwise branch 'release_1_0_777d027c9e' would take Release/1.0's database."""
    looks = "release_1_0_777d027c9e"
    assert database_name(looks) != looks
    assert database_name(looks) != database_name("Release/1.0")


def test_long_prefix_still_fits_63_bytes() -> None:
    prefix = "p" * 39 + "_"
    name = database_name(LONG_A, prefix)
    assert name.startswith(prefix) and len(name) <= MAX_NAME_BYTES and VALID.fullmatch(name)


@pytest.mark.parametrize("bad", ["App_", "app-", "a" * 41])
def test_bad_prefix_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="prefix"):
        database_name("main", bad)


@pytest.mark.parametrize("branch", ["", "   "])
def test_empty_branch_is_refused(branch: str) -> None:
    with pytest.raises(ConfigError, match="branch name is empty"):
        database_name(branch)


def test_default_prefix_and_fit_name() -> None:
    assert default_prefix("Chinook-Dev") == "chinook_dev_"
    assert fit_name("x" * 70) != fit_name("x" * 71)
    assert len(fit_name("x" * 70).encode()) == 63
    assert fit_name("é" * 40).encode("utf-8").decode("utf-8")  # cut on a character boundary


# -- TTL -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("30m", 1800), ("72h", 72 * 3600), ("7d", 7 * 86400), ("2w", 14 * 86400),
    ("1h30m", 5400), ("1h 30m", 5400), (" 72H ", 72 * 3600),
])
def test_ttl_parses(text: str, seconds: int) -> None:
    assert parse_ttl(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["never", "none", "0", "NEVER"])
def test_ttl_never(text: str) -> None:
    assert parse_ttl(text) is None


@pytest.mark.parametrize("text", ["3 days", "72", "h", "-1h", "1.5h", "1y", "", "72h!"])
def test_ttl_that_does_not_parse_names_the_option(text: str) -> None:
    with pytest.raises(BadTTL, match=r"--ttl: .* is not a duration") as exc:
        parse_ttl(text)
    assert exc.value.exit_code == 2 and "72h" in (exc.value.hint or "")


# -- workspace discovery -------------------------------------------------------------------------

def test_explicit_workspace_wins(tmp_path: Path) -> None:
    assert find_workspace("a.yaml", env={"DBCLONE_WORKSPACE": "b.yaml"}, cwd=tmp_path) == \
        Path("a.yaml")


def test_env_var_then_single_yaml(tmp_path: Path) -> None:
    assert find_workspace(None, env={"DBCLONE_WORKSPACE": "b.yaml"}, cwd=tmp_path) == \
        Path("b.yaml")
    (tmp_path / "workspaces").mkdir()
    (tmp_path / "workspaces" / "app.yaml").write_text("x")
    assert find_workspace(None, env={}, cwd=tmp_path) == tmp_path / "workspaces" / "app.yaml"


def test_several_or_no_yaml_is_an_error_listing_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no workspace given"):
        find_workspace(None, env={}, cwd=tmp_path)
    (tmp_path / "workspaces").mkdir()
    for n in ("a.yaml", "b.yaml"):
        (tmp_path / "workspaces" / n).write_text("x")
    with pytest.raises(ConfigError, match=r"holds several: a\.yaml, b\.yaml"):
        find_workspace(None, env={}, cwd=tmp_path)


# -- the workspace's template section ------------------------------------------------------------

def _ws(extra: str = "", dst: str = "postgresql://u@db.example/app_dev") -> str:
    return (f"workspace: app\nsource: {{url: 'postgresql://u@db.example/app'}}\n"
            f"destination: {{url: '{dst}'}}\n{extra}")


def test_defaults_derive_from_the_destination() -> None:
    t = target(parse_workspace(_ws(), env={}))
    assert (t.template, t.prefix, t.ttl) == ("app_dev_template", "app_dev_", timedelta(hours=72))
    assert t.control == "dbclone_control" or t.control  # overridable by DBCLONE_CONTROL_DB


def test_template_section_is_read() -> None:
    t = target(parse_workspace(_ws("template: {name: app_template, prefix: pr_, ttl: 2d}\n"),
                               env={}), control="ctl")
    assert (t.template, t.prefix, t.ttl, t.control) == ("app_template", "pr_",
                                                        timedelta(days=2), "ctl")


def test_unknown_template_key_has_did_you_mean_and_line() -> None:
    with pytest.raises(ConfigError, match=r"<workspace>:5: unknown key 'nmae'") as exc:
        parse_workspace(_ws("template:\n  nmae: x\n"), env={})
    assert "did you mean 'name'" in (exc.value.hint or "")


def test_bad_ttl_in_the_workspace_names_the_key() -> None:
    with pytest.raises(BadTTL, match=r"template\.ttl: '3 days' is not a duration"):
        target(parse_workspace(_ws("template: {ttl: 3 days}\n"), env={}))


def test_template_equal_to_destination_is_refused() -> None:
    with pytest.raises(ConfigError, match="destination's name"):
        target(parse_workspace(_ws("template: {name: app_dev}\n"), env={}))


def test_sqlite_template_is_a_file_beside_the_destination() -> None:
    cfg = parse_workspace(_ws("template: {name: shop_template.db}\n",
                              dst="sqlite:///data/shop_dev.db"), env={})
    assert target(cfg).template == "shop_template"
    cfg = parse_workspace(_ws("template: {name: ../x}\n", dst="sqlite:///data/shop_dev.db"),
                          env={})
    with pytest.raises(ConfigError, match="is a path"):
        target(cfg)
