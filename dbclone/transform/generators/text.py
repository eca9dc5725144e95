"""Free text: redact personal data inside notes, tickets and transcripts."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from dbclone.transform.base import Generator, GeneratorContext, Params, fit, register
from dbclone.transform.generators.structure import entity_offset


class TextRedactParams(Params):
    mode: str = Field(default="synthesize", pattern="^(redact|synthesize|hash)$")
    entities: list[str] | None = None  # default: the HIPAA Safe Harbor types
    # columns of the same row whose source values are swept from the text and replaced by
    # their masked values: {column: kind} or [column, ...] (kind guessed from the name)
    linked: dict[str, str] | list[str] | None = None
    date_key: str | None = None  # as date_shift's key: the entity whose offset dates take
    min_days: int = -365
    max_days: int = 365
    threshold: float = Field(default=0.35, ge=0, le=1)
    model: str | None = None  # spaCy model; default $DBCLONE_SPACY_MODEL or the small English
    ner: bool = True
    regions: list[str] | None = None  # phone regions (ISO codes, e.g. US, GB, DE)
    extra_patterns: list[dict[str, Any]] | None = None
    record_patterns: list[dict[str, Any]] | None = None  # replaces the MRN/account/ID ones
    date_order: str = Field(default="mdy", pattern="^(mdy|dmy)$")
    on_error: str = Field(default="redact", pattern="^(redact|fail)$")

    @field_validator("regions")
    @classmethod
    def _regions(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            from dbclone.transform.text.recognizers import check_regions

            check_regions(v)  # 'UK' fails here, before any row moves (case 32)
        return v

    @model_validator(mode="after")
    def _engine(self) -> TextRedactParams:
        self.engine_config()  # unknown entity types, bad regexes, bad day ranges
        return self

    def engine_config(self) -> Any:
        from dbclone.transform.text.engine import EngineConfig
        from dbclone.transform.text.recognizers import DEFAULT_REGIONS

        cfg = EngineConfig.build(
            mode=self.mode, entities=self.entities, threshold=self.threshold,
            model=self.model, use_ner=self.ner,
            regions=tuple(self.regions) if self.regions else DEFAULT_REGIONS,
            extra_patterns=self.extra_patterns, record_patterns=self.record_patterns,
            date_order=self.date_order, min_days=self.min_days, max_days=self.max_days,
            on_error=self.on_error)
        for p in (*cfg.record_patterns, *cfg.extra_patterns):
            p.compile()
        if cfg.min_days > cfg.max_days or cfg.min_days == cfg.max_days == 0:
            raise ValueError("min_days..max_days must be a range that is not just 0")
        return cfg


@register
class TextRedact(Generator):
    """Find personal data in free text (spaCy NER plus validated patterns: names, dates,
    phones, e-mails, addresses, SSNs, cards, IBANs, IPs, URLs, ages, ZIP codes, record and
    account numbers) and replace it (option mode: synthesize, the default: realistic
    surrogates consistent with fake_name, fake_email and the other generators, dates moved by
    the entity's date_shift offset (date_key, min_days, max_days); redact: typed tags such as
    [NAME]; hash). Option linked names columns of the same row whose source values are also
    swept from the text, case-insensitively, and replaced by those columns' masked values.
    Other options: entities, threshold, extra_patterns, record_patterns, regions, model,
    date_order, on_error (redact writes a document that fails as [REDACTED]; fail stops)."""

    name = "text_redact"
    family = "text"
    Params = TextRedactParams
    uses_row = True
    may_return_source = True  # a note without personal data stays as it is

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        from dbclone.transform.text.engine import TextRedactor, guess_kind

        p: TextRedactParams = self.params  # type: ignore[assignment]
        self.engine = TextRedactor(p.engine_config(), ctx.keyer)
        linked = p.linked or {}
        if isinstance(linked, list):
            linked = {c: guess_kind(c) for c in linked}
        self.linked: dict[str, str] = dict(linked)
        self.shift_domain = f"shift:days:{p.min_days}:{p.max_days}"

    @property
    def depends_on(self) -> list[str]:
        return list(self.linked)

    def check(self) -> list[str]:
        from dbclone.errors import did_you_mean

        problems = []
        table = self.ctx.table
        p: TextRedactParams = self.params  # type: ignore[assignment]
        for col in [*self.linked, *([p.date_key] if p.date_key else [])]:
            if table.column(col) is None:
                hint = did_you_mean(col, table.column_names)
                problems.append(f"{self.ctx.ref}: text_redact names column '{col}', which is "
                                f"not in {table.ref}" + (f" ({hint})" if hint else ""))
        problem = self.engine.model_problem()
        if problem:
            from dbclone.transform.text.ner import install_hint

            problems.append(f"{self.ctx.ref}: {problem}; {install_hint(self.engine.model)}")
        return problems

    def known_entities(self) -> list[Any]:
        """The row's linked values and their surrogates (the masked values, when the column
        is masked); the hook through which other tables' entities can be added."""
        from dbclone.transform.text.engine import KnownEntity

        row = self.row
        if row is None:
            return []
        out = []
        for col, kind in self.linked.items():
            src = row.source(col)
            if src is None or str(src).strip() == "":
                continue
            masked = row.masked(col)
            sur = None if masked is None or masked == src else str(masked)
            out.append(KnownEntity(str(src), sur, kind))
        return out

    def date_offset(self) -> int:
        p: TextRedactParams = self.params  # type: ignore[assignment]
        row = self.row
        if row is None:
            entity = "\x00text"
        elif p.date_key is not None:
            entity = str(row.source(p.date_key))
        else:
            entity = row.key()
        return entity_offset(self.ctx.keyer, self.shift_domain, entity, p.min_days,
                             p.max_days)

    def generate(self, value: str, attempt: int) -> str:
        out = self.engine.redact(value, self.known_entities(), self.date_offset())
        return fit(out or "", self.ctx.column.max_length)
