"""Bad input to text_redact: empty, NULL, blank, non-UTF-8 bytes, 1 MB texts, a model that
is not installed, a pattern that is not a regular expression, and a document whose
detection fails. Never a crash mid-table, never an unmasked original written."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from dbclone.config import parse_workspace
from dbclone.errors import DbcloneError, PlanError
from dbclone.introspect.snapshot import Column, ColumnRef, Table, TableRef, TypeCategory
from dbclone.pipeline import run
from dbclone.transform.base import GeneratorContext
from dbclone.transform.factory import RuleProblem, make_generator
from dbclone.transform.keyed import Keyer
from dbclone.transform.text import EngineConfig, TextRedactor
from dbclone.transform.text.engine import REDACTED

TABLE = Table(TableRef("main", "notes"), (Column("id", "int", TypeCategory.INTEGER),
                                           Column("body", "text", TypeCategory.TEXT)),
              primary_key=("id",))


def generator(**options: Any):
    col = TABLE.column("body")
    assert col is not None
    ctx = GeneratorContext(TABLE, col, ColumnRef(TABLE.ref, "body"), "en_US", Keyer("bad"),
                           "ws.yaml:3")
    return make_generator("text_redact", {"mode": "redact", **options}, ctx)


def clone_notes(tmp_path: Path, bodies: list[str | None], rule: dict[str, Any]
                ) -> list[str | None]:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    conn = sqlite3.connect(src)
    conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    conn.executemany("INSERT INTO notes VALUES (?, ?)", list(enumerate(bodies, 1)))
    conn.commit()
    conn.close()
    text = yaml.safe_dump({"workspace": "bad", "source": {"url": f"sqlite:///{src}"},
                           "destination": {"url": f"sqlite:///{dst}"},
                           "generators": {"notes.body": {"type": "text_redact", **rule}}})
    run(parse_workspace(text, source="ws.yaml", env={}))
    out = sqlite3.connect(dst)
    try:
        return [r[0] for r in out.execute("SELECT body FROM notes ORDER BY id")]
    finally:
        out.close()


def test_null_empty_and_blank_texts_are_kept_as_they_are(tmp_path: Path) -> None:
    out = clone_notes(tmp_path, [None, "", "   \n", "Call 415-555-0199"], {"mode": "redact"})
    assert out == [None, "", "   \n", "Call [PHONE]"]


def test_non_utf8_bytes_as_readers_decode_them_survive_around_redacted_spans() -> None:
    # readers hand undecodable bytes over as lone surrogates (surrogateescape)
    value = b"Ren\xe9e Fournier: call 415-555-0199 \xff".decode("utf-8", "surrogateescape")
    out = generator()(value, "1")
    assert out is not None
    assert out.encode("utf-8", "surrogateescape") == b"[NAME]: call [PHONE] \xff"


def test_a_1mb_text_is_redacted_whole_without_ner() -> None:
    engine = TextRedactor(EngineConfig.build(mode="redact", use_ner=False), Keyer("k"))
    para = ("Mrs. Venn was seen on 3/4/2021 for chest pain; call 415-555-0199 or mail "
            "orla.venn@example.org. The wound is healing and she walks daily. ")
    text = (para * (1_000_000 // len(para) + 1))[:1_000_000]
    out = engine.redact(text) or ""
    for original in ("Venn", "3/4/2021", "415-555-0199", "orla.venn@example.org"):
        assert original not in out
    assert out.count("[PHONE]") == text.count("415-555-0199")


@pytest.mark.slow
def test_a_1mb_text_is_redacted_whole_with_ner_across_its_chunks() -> None:
    engine = TextRedactor(EngineConfig.build(mode="synthesize"), Keyer("k"))
    para = ("Patient Orla Venn was seen on 3/4/2021 for chest pain. Call 415-555-0199. "
            "The wound is healing and she walks daily with her daughter. ")
    text = (para * (1_000_000 // len(para) + 1))[:1_000_000]
    out = engine.redact(text) or ""
    for original in ("Orla", "Venn", "3/4/2021", "415-555-0199"):
        assert original not in out


def test_a_model_that_is_not_installed_is_a_plan_error_with_the_install_hint(
        tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        clone_notes(tmp_path, ["x"], {"model": "en_core_web_xx_missing"})
    problems = info.value.problems
    assert problems == [
        "ws.yaml:4: main.notes.body: spaCy model 'en_core_web_xx_missing' is not installed; "
        "install it: pip install en-core-web-xx-missing (models are never downloaded at run "
        "time); or choose another with the 'model' option, --model or DBCLONE_SPACY_MODEL"]
    assert not (tmp_path / "dst.db").exists()


def test_an_invalid_regex_in_extra_patterns_is_a_plan_time_error_naming_the_column(
        tmp_path: Path) -> None:
    with pytest.raises(RuleProblem) as direct:
        generator(extra_patterns=[{"label": "BADGE", "pattern": "B-(\\d+"}])
    assert str(direct.value).startswith(
        "main.notes.body: text_redact: options: pattern for BADGE is not a valid regular "
        "expression: missing ), unterminated subpattern")
    with pytest.raises(PlanError) as info:
        clone_notes(tmp_path, ["x"], {"extra_patterns": [{"label": "BADGE",
                                                          "pattern": "B-(\\d+"}]})
    assert "main.notes.body: text_redact: options: pattern for BADGE is not a valid" in str(
        info.value)
    assert not (tmp_path / "dst.db").exists()


def test_an_extra_pattern_finds_its_identifier(tmp_path: Path) -> None:
    out = clone_notes(tmp_path, ["Badge B-20931 at the door"],
                      {"mode": "redact", "extra_patterns": [{"label": "BADGE",
                                                             "pattern": r"\bB-\d{5}\b"}]})
    assert out == ["Badge [BADGE] at the door"]


def _fail_on_boom(monkeypatch: pytest.MonkeyPatch) -> None:
    real = TextRedactor.detect

    def detect(self: TextRedactor, text: str, *a: Any, **kw: Any) -> Any:
        if "BOOM" in text:
            raise RuntimeError("detector crashed")
        return real(self, text, *a, **kw)

    monkeypatch.setattr(TextRedactor, "detect", detect)


def test_a_document_whose_detection_fails_is_written_redacted_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_on_boom(monkeypatch)
    out = clone_notes(tmp_path, ["Call 415-555-0199", "BOOM Orla Venn 415-555-0199",
                                 "Mail orla@example.com"], {"mode": "redact"})
    assert out == ["Call [PHONE]", REDACTED, "Mail [EMAIL]"]


def test_with_on_error_fail_a_failing_document_stops_the_run_and_nothing_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_on_boom(monkeypatch)
    with pytest.raises(DbcloneError) as info:
        clone_notes(tmp_path, ["Call 415-555-0199", "BOOM Orla Venn"],
                    {"mode": "redact", "on_error": "fail"})
    assert "text redaction failed on a document (RuntimeError)" in str(info.value)
    assert "Orla" not in str(info.value)  # no row value in the error
    assert not (tmp_path / "dst.db").exists()


def test_batched_redaction_falls_back_per_document_when_a_batch_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_on_boom(monkeypatch)
    engine = TextRedactor(EngineConfig.build(mode="redact"), Keyer("k"))
    out = list(engine.redact_many(["Call 415-555-0199", None, "", "BOOM 415-555-0199",
                                   "Call 415-555-0199"]))
    assert out == ["Call [PHONE]", None, "", REDACTED, "Call [PHONE]"]
