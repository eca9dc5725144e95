"""CLI behaviour: exit codes, one-line errors without tracebacks, and docs coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dbclone.cli import cli, main
from dbclone.transform import REGISTRY

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_generators_json_lists_the_catalogue(capsys) -> None:
    code, out, _ = run(capsys, "generators", "--json")
    assert code == 0
    names = [e["name"] for e in json.loads(out)]
    assert names == sorted(REGISTRY)


def test_unknown_generator_is_exit_2_with_hint(capsys) -> None:
    code, _, err = run(capsys, "generators", "fake_emial")
    assert code == 2
    assert err.splitlines() == ["error: unknown generator 'fake_emial'",
                                "hint: did you mean 'fake_email'?"]


def test_missing_workspace_is_one_line_no_traceback(capsys, tmp_path) -> None:
    code, _, err = run(capsys, "plan", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith(f"error: {tmp_path / 'nope.yaml'}: workspace file not found")


def test_bad_yaml_names_file_and_line(capsys, tmp_path) -> None:
    ws = tmp_path / "ws.yaml"
    ws.write_text("source:\n  url: [\n")
    code, _, err = run(capsys, "clone", str(ws))
    assert code == 2
    assert err.startswith(f"error: {ws}:3: not valid YAML")


def test_password_never_printed_for_unreachable_server(capsys, tmp_path) -> None:
    ws = tmp_path / "ws.yaml"
    ws.write_text("source:\n  url: postgresql://u:hunter2@127.0.0.1:1/app\n"
                  "destination:\n  url: postgresql://u:hunter2@127.0.0.1:1/app_dev\n")
    code, out, err = run(capsys, "plan", str(ws))
    assert code == 3
    assert "hunter2" not in out + err
    assert "127.0.0.1:1" in err


def test_same_source_and_destination_is_refused(capsys, tmp_path) -> None:
    ws = tmp_path / "ws.yaml"
    ws.write_text("source: {url: 'sqlite:///a.db'}\ndestination: {url: 'sqlite:///./a.db'}\n")
    code, _, err = run(capsys, "clone", str(ws))
    assert code == 2
    assert "destination is the source database" in err


def test_traceback_flag_reraises(tmp_path) -> None:
    from dbclone.errors import ConfigError

    with pytest.raises(ConfigError):
        main(["--traceback", "plan", str(tmp_path / "nope.yaml")])


def test_every_command_and_generator_is_in_the_readme() -> None:
    for name in cli.commands:
        assert f"`dbclone {name}" in README, f"command {name} is not documented"
    for name in REGISTRY:
        assert re.search(rf"\| `{name}` \|", README), f"generator {name} is not documented"


def test_readme_generator_table_is_current() -> None:
    from dbclone.docs import render

    assert render(README) == README, "run: python -m dbclone.docs"
