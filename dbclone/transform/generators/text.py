"""Free text: redact personal data inside notes, tickets and transcripts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dbclone.transform.base import Generator, GeneratorContext, Params, Row, fit, register
from dbclone.transform.generators.structure import entity_offset


class LinkedTable(BaseModel):
    """``linked: {patient_id: {table: patients, columns: [first_name, last_name]}}``: the
    row of ``table`` that the column ``patient_id`` references (through its foreign key, or
    ``key``, default the table's primary key) lends its columns' source and masked values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    columns: dict[str, str] | list[str]
    key: str | None = None

    def kinds(self) -> dict[str, str]:
        from dbclone.transform.text.engine import guess_kind

        if isinstance(self.columns, list):
            return {c: guess_kind(c) for c in self.columns}
        return dict(self.columns)


class TextRedactParams(Params):
    mode: str = Field(default="synthesize", pattern="^(redact|synthesize|hash)$")
    entities: list[str] | None = None  # default: the HIPAA Safe Harbor types
    # columns whose source values are swept from the text and replaced by their masked
    # values: of the same row, {column: kind} or [column, ...] (kind guessed from the name);
    # or of a row the column references, {fk_column: {table: T, columns: [...]}}
    linked: dict[str, str | LinkedTable] | list[str] | None = None
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
    [NAME]; hash). Option linked names columns whose source values are also swept from the
    text, case-insensitively, and replaced by those columns' masked values: of the same row
    ([first_name, last_name]), or of the row a foreign key references ({patient_id: {table:
    patients, columns: [first_name, last_name]}}; dates then take that row's shift). Other
    options: entities, threshold, extra_patterns, record_patterns, regions, model,
    date_order, on_error (redact writes a document that fails as [REDACTED]; fail stops)."""

    name = "text_redact"
    family = "text"
    Params = TextRedactParams
    uses_row = True
    may_return_source = True  # a note without personal data stays as it is
    batched = True  # NER over each batch of rows at once (nlp.pipe)

    def __init__(self, params: Params, ctx: GeneratorContext) -> None:
        super().__init__(params, ctx)
        from dbclone.transform.text.engine import TextRedactor, guess_kind

        p: TextRedactParams = self.params  # type: ignore[assignment]
        self.engine = TextRedactor(p.engine_config(), ctx.keyer)
        linked = p.linked or {}
        if isinstance(linked, list):
            linked = {c: guess_kind(c) for c in linked}
        self.linked: dict[str, str] = {c: k for c, k in linked.items() if isinstance(k, str)}
        self.links: dict[str, LinkedTable] = {
            c: k for c, k in linked.items() if isinstance(k, LinkedTable)}
        # fk column -> {referenced key text: ((source, masked), ...)}, filled while the
        # referenced table is copied (parents are copied first)
        self.recorded: dict[str, dict[str, tuple[tuple[str, str | None], ...]]] = {
            c: {} for c in self.links}
        # dates move by the linked row's shift (date_shift keyed on its primary key)
        self.date_key = p.date_key or next(iter(self.links), None)
        self.shift_domain = f"shift:days:{p.min_days}:{p.max_days}"

    @property
    def depends_on(self) -> list[str]:
        return [*self.linked, *self.links]

    def check(self) -> list[str]:
        from dbclone.errors import did_you_mean

        problems = []
        table = self.ctx.table
        p: TextRedactParams = self.params  # type: ignore[assignment]
        for col in [*self.linked, *self.links, *([p.date_key] if p.date_key else [])]:
            if table.column(col) is None:
                hint = did_you_mean(col, table.column_names)
                problems.append(f"{self.ctx.ref}: text_redact names column '{col}', which is "
                                f"not in {table.ref}" + (f" ({hint})" if hint else ""))
        problem = self.engine.model_problem()
        if problem:
            from dbclone.transform.text.ner import install_hint

            problems.append(f"{self.ctx.ref}: {problem}; {install_hint(self.engine.model)}")
        return problems

    def link_tables(self, snapshot: Any, plan: Any) -> list[str]:
        """Plan time: bind each linked table (its key column, its columns) and have its
        masker record, per row, the source and masked values this column needs."""
        from dbclone.errors import did_you_mean
        from dbclone.introspect.snapshot import TableRef
        from dbclone.transform.resolve import split_name

        problems = []
        here = snapshot.partition_root(self.ctx.table.ref)
        for fk_col, link in self.links.items():
            parts = split_name(link.table)
            if len(parts) == 1:
                parts = [here.schema, *parts]
            ref = TableRef(parts[0], parts[1]) if len(parts) == 2 else None
            table = snapshot.tables.get(ref) if ref is not None else None
            if table is None:
                hint = did_you_mean(link.table, [str(t) for t in snapshot.tables])
                problems.append(f"{self.ctx.ref}: linked table '{link.table}' does not exist"
                                + (f" ({hint})" if hint else ""))
                continue
            missing = [c for c in link.kinds() if table.column(c) is None]
            for c in missing:
                hint = did_you_mean(c, table.column_names)
                problems.append(f"{self.ctx.ref}: linked column '{c}' is not in {table.ref}"
                                + (f" ({hint})" if hint else ""))
            key = link.key or _fk_target(snapshot, here, fk_col, table.ref)
            if key is None and len(table.primary_key) == 1:
                key = table.primary_key[0]
            if key is None or table.column(key) is None:
                problems.append(f"{self.ctx.ref}: cannot tell which column of {table.ref} "
                                f"'{fk_col}' refers to; give it as key: COLUMN")
                continue
            if missing:
                continue
            if not plan.for_table(table.ref):
                problems.append(f"{self.ctx.ref}: linked table {table.ref} has no masked "
                                "column; mask the linked columns there too, so the text "
                                "and the table use the same surrogates")
                continue
            plan.observers.setdefault(table.ref, []).append(
                _Recorder(key, tuple(link.kinds()), self.recorded[fk_col]))
        return problems

    def known_entities(self) -> list[Any]:
        """The row's linked values (and those of the rows it references) with their
        surrogates: the masked values, when the column is masked."""
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
        for col, link in self.links.items():
            ref_key = row.source(col)
            if ref_key is None:
                continue
            values = self.recorded[col].get(str(ref_key))
            if values is None:
                continue
            for kind, (src, sur) in zip(link.kinds().values(), values, strict=True):
                out.append(KnownEntity(src, sur, kind))
        return out

    def date_offset(self) -> int:
        p: TextRedactParams = self.params  # type: ignore[assignment]
        row = self.row
        if row is None:
            entity = "\x00text"
        elif self.date_key is not None:
            entity = str(row.source(self.date_key))
        else:
            entity = row.key()
        return entity_offset(self.ctx.keyer, self.shift_domain, entity, p.min_days,
                             p.max_days)

    def prime(self, values: list[object]) -> None:
        self.engine.prime(values)

    def generate(self, value: str, attempt: int) -> str:
        out = self.engine.redact(value, self.known_entities(), self.date_offset())
        return fit(out or "", self.ctx.column.max_length)


def _fk_target(snapshot: Any, table: Any, column: str, parent: Any) -> str | None:
    """The column of ``parent`` that ``table.column`` references by a foreign key."""
    for fk in snapshot.foreign_keys:
        if snapshot.partition_root(fk.table) != table or \
                snapshot.partition_root(fk.ref_table) != parent or column not in fk.columns:
            continue
        return str(fk.ref_columns[fk.columns.index(column)])
    return None


class _Recorder:
    """Sees each masked row of a linked table and keeps, by key, the source and masked
    values of the linked columns. Memory: about 200 bytes per referenced row, and only the
    linked columns (never whole rows)."""

    def __init__(self, key: str, columns: tuple[str, ...],
                 store: dict[str, tuple[tuple[str, str | None], ...]]) -> None:
        self.key = key
        self.columns = columns
        self.store = store

    def __call__(self, row: Row) -> None:
        key = row.source(self.key)
        if key is None:
            return
        values = []
        for c in self.columns:
            src, masked = row.source(c), row.masked(c)
            if src is None or str(src).strip() == "":
                values.append(("", None))
                continue
            values.append((str(src), None if masked is None or masked == src else
                           str(masked)))
        self.store[str(key)] = tuple(values)
