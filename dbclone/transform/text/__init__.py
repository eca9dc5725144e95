"""Free-text PII redaction: spaCy NER plus validated pattern recognizers, merged spans, and
consistent surrogates shared with the structured generators. Pure: no database access, and
spaCy is imported only when a document is first redacted."""

from dbclone.transform.text.engine import (
    EngineConfig,
    Found,
    KnownEntity,
    Result,
    TextRedactor,
    guess_kind,
    kind_type,
)
from dbclone.transform.text.entities import DEFAULT_ENTITIES, TAGS
from dbclone.transform.text.recognizers import PatternSpec, Span

__all__ = [
    "DEFAULT_ENTITIES",
    "TAGS",
    "EngineConfig",
    "Found",
    "KnownEntity",
    "PatternSpec",
    "Result",
    "Span",
    "TextRedactor",
    "guess_kind",
    "kind_type",
]
