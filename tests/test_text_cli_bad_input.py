"""``dbclone redact --json`` on input it cannot redact: a missing field, a field that is not a
string, a line that is not JSON. Each stops with FILE:LINE and field names, never a value,
a non-zero exit and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbclone.cli import cli, main


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("DBCLONE_SECRET", "cli-secret")
    return CliRunner()


def _lines(*objs: object) -> str:
    return "".join(json.dumps(o) + "\n" for o in objs)


def test_a_missing_default_field_names_file_line_and_fields(runner: CliRunner) -> None:
    stdin = _lines({"text": "ok"}, {"id": 7, "body": "Orla Venn called"})
    result = runner.invoke(cli, ["redact", "--json", "--no-ner", "-"], input=stdin)
    assert result.exit_code != 0 and result.stdout == ""
    assert str(result.exception) == ("<stdin>:2: no field 'text' in this object (fields: "
                                     "body, id); use --field NAME")


def test_a_misspelt_field_through_main_exits_non_zero_without_values(
        tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "cli-secret")
    path = tmp_path / "notes.jsonl"
    path.write_text(_lines({"id": 1, "body": "Orla Venn called"}), encoding="utf-8")
    code = main(["redact", "--json", "--no-ner", "--field", "bdy", str(path)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert (f"error: {path}:1: no field 'bdy' in this object (fields: body, id); use --field "
            "NAME") in captured.err
    assert "Orla" not in captured.err


def test_null_passes_as_null_and_a_non_string_is_an_error(runner: CliRunner) -> None:
    ok = runner.invoke(cli, ["redact", "--json", "--no-ner"], input=_lines({"text": None}))
    assert ok.exit_code == 0 and json.loads(ok.stdout) == {"text": None}
    bad = runner.invoke(cli, ["redact", "--json", "--no-ner"],
                        input=_lines({"text": "a"}, {"text": 415555}))
    assert bad.exit_code != 0 and bad.stdout == ""
    assert str(bad.exception) == "<stdin>:2: field 'text' is a number, not a string"
    assert "415555" not in str(bad.exception)


def test_a_line_that_is_not_json_names_file_and_line(runner: CliRunner,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "a"}\nOrla Venn\n', encoding="utf-8")
    result = runner.invoke(cli, ["redact", "--json", "--no-ner", str(path)])
    assert result.exit_code != 0 and result.stdout == ""
    assert str(result.exception).startswith(f"{path}:2: not JSON (")
    assert "Orla" not in str(result.exception)
    stdin = runner.invoke(cli, ["redact", "--json", "--no-ner"], input="[1]\n")
    assert str(stdin.exception) == "<stdin>:1: not a JSON object"
