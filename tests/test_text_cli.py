"""``dbclone redact``: plain text, JSON Lines (same objects, same order), --explain, mode and
entity options, and its errors, through click's CliRunner and main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dbclone.cli import cli, main
from dbclone.errors import ConfigError, DbcloneError

NOTE = "Spoke with Orla Venn on 3/4/2021, call 415-555-0199 or mail orla@example.com."


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("DBCLONE_SECRET", "cli-secret")
    return CliRunner()


def test_plain_text_from_stdin_in_redact_mode(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["redact", "--mode", "redact", "-"], input=NOTE)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Spoke with [NAME] on [DATE], call [PHONE] or mail [EMAIL]."


def test_plain_text_from_a_file_synthesized_consistently(runner: CliRunner,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text(NOTE + "\nORLA VENN agreed.\n", encoding="utf-8")
    first = runner.invoke(cli, ["redact", str(path)])
    again = runner.invoke(cli, ["redact", str(path)])
    assert first.exit_code == 0 and first.stdout == again.stdout
    out = first.stdout
    assert "orla" not in out.lower() and "venn" not in out.lower()
    assert "415-555-0199" not in out and "3/4/2021" not in out
    name = out[len("Spoke with "):out.index(" on ")]
    assert out.endswith(f"\n{name.upper()} agreed.\n")


def test_json_lines_keep_objects_and_order_and_redact_only_the_text_field(
        runner: CliRunner) -> None:
    lines = [{"id": 1, "text": "Mail orla@example.com today", "tag": "orla@example.com"},
             {"id": 2, "text": None},
             {"id": 3, "text": ""},
             {"id": 5, "text": "SSN 123-45-6789", "n": [1, 2]}]
    # (an object without the field stops the run: tests/test_text_cli_bad_input.py)
    stdin = "".join(json.dumps(x) + "\n" for x in lines)
    result = runner.invoke(cli, ["redact", "--json", "--mode", "redact"], input=stdin)
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert out == [{"id": 1, "text": "Mail [EMAIL] today", "tag": "orla@example.com"},
                   {"id": 2, "text": None},
                   {"id": 3, "text": ""},
                   {"id": 5, "text": "SSN [SSN]", "n": [1, 2]}]


def test_json_lines_with_another_field(runner: CliRunner) -> None:
    stdin = json.dumps({"body": "Call 415-555-0199", "text": "Call 415-555-0199"}) + "\n"
    result = runner.invoke(cli, ["redact", "--json", "--field", "body", "--mode", "redact"],
                           input=stdin)
    assert json.loads(result.stdout) == {"body": "Call [PHONE]", "text": "Call 415-555-0199"}


def test_explain_lists_spans_types_scores_and_recognizers(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["redact", "--explain", "--mode", "redact"], input=NOTE)
    assert result.exit_code == 0
    assert result.stdout == "Spoke with [NAME] on [DATE], call [PHONE] or mail [EMAIL]."
    rows = [line.split("\t") for line in result.stderr.splitlines()]
    assert [(r[0], r[1], r[4], r[5]) for r in rows] == [
        ("11-20", "PERSON", "Orla Venn", "-> [NAME]"),
        ("24-32", "DATE", "3/4/2021", "-> [DATE]"),
        ("39-51", "PHONE", "415-555-0199", "-> [PHONE]"),
        ("60-76", "EMAIL", "orla@example.com", "-> [EMAIL]")]
    assert all(0.35 <= float(r[2]) <= 1 for r in rows)
    assert "ner" in rows[0][3] and rows[3][3] == "email"


def test_explain_with_json_names_the_line(runner: CliRunner) -> None:
    stdin = json.dumps({"text": "no pii here"}) + "\n" + json.dumps({"text": "SSN 123-45-6789"})
    result = runner.invoke(cli, ["redact", "--json", "--explain", "--mode", "hash"],
                           input=stdin + "\n")
    assert result.stderr.startswith("line 2: 4-15\tSSN\t")
    out = [json.loads(x)["text"] for x in result.stdout.splitlines()]
    assert out[0] == "no pii here" and out[1].startswith("SSN [SSN-")


def test_entities_option_limits_what_is_redacted(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["redact", "--mode", "redact", "--entities", "EMAIL,DATE"],
                           input=NOTE)
    assert result.stdout == ("Spoke with Orla Venn on [DATE], call 415-555-0199 or mail "
                             "[EMAIL].")


def test_no_ner_uses_patterns_only(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["redact", "--mode", "redact", "--no-ner"],
                           input="He said ok. Call 415-555-0199.")
    assert result.stdout == "He said ok. Call [PHONE]."


def test_unknown_entity_type_is_a_usage_error_with_did_you_mean(capsys) -> None:
    code = main(["redact", "--entities", "EMIAL", "/dev/null"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: redact: unknown entity type 'EMIAL' (did you mean 'EMAIL'?)")


def test_a_model_that_is_not_installed_is_a_clear_error_with_install_hint(capsys) -> None:
    code = main(["redact", "--model", "en_core_web_xx_missing", "/dev/null"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err[0] == "error: spaCy model 'en_core_web_xx_missing' is not installed"
    assert err[1].startswith("hint: install it: pip install en-core-web-xx-missing")


def test_a_line_that_is_not_json_names_the_line(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["redact", "--json"], input='{"text": "a"}\nnot json\n')
    assert isinstance(result.exception, DbcloneError)
    assert str(result.exception).startswith("<stdin>:2: not JSON")
    assert result.stdout == ""  # nothing half-written


def test_a_missing_file_is_a_config_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["redact", str(tmp_path / "nope.txt")])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == (f"cannot read {tmp_path / 'nope.txt'}: "
                                     "No such file or directory")


def test_non_utf8_bytes_pass_through_unchanged_around_redacted_spans(
        runner: CliRunner) -> None:
    data = b"Ren\xe9e Fournier paid the bill, call 415-555-0199 \xff\n"
    result = runner.invoke(cli, ["redact", "--mode", "redact"], input=data)
    assert result.exit_code == 0
    assert result.stdout_bytes == b"[NAME] paid the bill, call [PHONE] \xff\n"


def test_two_worker_processes_give_the_same_lines_in_the_same_order(
        runner: CliRunner) -> None:
    notes = [f"Note {i}: spoke with Orla Venn, call 415-555-01{i:02d}." for i in range(40)]
    stdin = "".join(json.dumps({"i": i, "text": t}) + "\n" for i, t in enumerate(notes))
    one = runner.invoke(cli, ["redact", "--json"], input=stdin)
    two = runner.invoke(cli, ["redact", "--json", "--processes", "2"], input=stdin)
    assert one.exit_code == 0 and two.exit_code == 0
    assert two.stdout == one.stdout
    assert [json.loads(x)["i"] for x in two.stdout.splitlines()] == list(range(40))
    assert "Venn" not in two.stdout and "415-555-01" not in two.stdout
