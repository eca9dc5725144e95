"""A clone hands text_redact each batch of rows before masking them one by one, so NER runs
over the batch with one nlp.pipe; the redacted text is the same as row by row."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbclone.transform.keyed import Keyer
from dbclone.transform.text import EngineConfig, TextRedactor
from dbclone.transform.text.engine import TextRedactor as Engine
from tests.test_text_cases import clone_notes

NOTES = [
    "Spoke with Orla Venn on 3/4/2021, call 415-555-0199.",
    "Marisol Quispe-Huaman asked about her results; e-mail mq@example.org.",
    "",
    "Tomasz Kowalczyk (MRN 00412345) was seen by Dr. Alvarez at 12 Elm Street, Springfield.",
    "Spoke with Orla Venn on 3/4/2021, call 415-555-0199.",  # a duplicate: NER once
    "No personal data here, just a routine follow-up.",
]


def test_primed_batch_gives_the_same_text_with_one_pipe_call(monkeypatch) -> None:
    alone = TextRedactor(EngineConfig(), Keyer("batch-secret"))
    expected = [alone.redact(t) for t in NOTES]

    batched = TextRedactor(EngineConfig(), Keyer("batch-secret"))
    nlp = batched.nlp()
    calls: list[int] = []
    real_pipe = nlp.pipe

    def counting_pipe(texts, **kw):
        texts = list(texts)
        calls.append(len(texts))
        return real_pipe(texts, **kw)

    monkeypatch.setattr(nlp, "pipe", counting_pipe)
    batched.prime(NOTES)
    assert calls == [4]  # four distinct, non-blank texts in one call
    assert [batched.redact(t) for t in NOTES] == expected
    assert calls == [4]  # the rows themselves ran no NER of their own
    assert "Orla" not in expected[0] and "415-555-0199" not in expected[0]


def test_a_batch_whose_ner_fails_falls_back_to_each_text_alone(monkeypatch) -> None:
    engine = TextRedactor(EngineConfig(), Keyer("batch-secret"))
    nlp = engine.nlp()

    def broken(texts, **kw):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(nlp, "pipe", broken)
    engine.prime(NOTES)
    assert engine._primed == {}
    monkeypatch.undo()
    fresh = TextRedactor(EngineConfig(), Keyer("batch-secret"))
    assert engine.redact(NOTES[0]) == fresh.redact(NOTES[0])


def test_a_clone_primes_each_batch_of_rows(tmp_path: Path, monkeypatch) -> None:
    rows = [(i, 7, NOTES[i % len(NOTES)]) for i in range(1, 13)]
    rows.append((13, 7, None))
    # row by row first: prime does nothing, every text runs NER on its own
    monkeypatch.setattr(Engine, "prime", lambda self, texts: None)
    (tmp_path / "alone").mkdir()
    alone = clone_notes(tmp_path / "alone", rows, {"type": "text_redact"})
    monkeypatch.undo()

    seen: list[list[object]] = []
    real = Engine.prime

    def recording(self, texts):
        texts = list(texts)
        seen.append(texts)
        return real(self, texts)

    monkeypatch.setattr(Engine, "prime", recording)
    out = clone_notes(tmp_path, rows, {"type": "text_redact"})
    # the SQLite loader's batch holds all 13 rows: one prime with every value, NULL included
    assert seen == [[r[2] for r in rows]]
    assert out == alone
    assert out[12] is None and out[1] == "" and "Orla" not in (out[5] or "")
    assert out[5] != NOTES[0]


@pytest.mark.parametrize("mode", ["redact"])
def test_batching_keeps_typed_tags(tmp_path: Path, mode: str) -> None:
    out = clone_notes(tmp_path, [(1, 7, NOTES[0]), (2, 7, NOTES[1])],
                      {"type": "text_redact", "mode": mode})
    assert out[0] == "Spoke with [NAME] on [DATE], call [PHONE]."
