"""Surrogates: a realistic replacement of the same kind and a similar shape for each span.

Names, e-mails, cards, IBANs, SSNs, URLs, IPs and places come from the structured generators
themselves (fake_name, fake_first_name, fake_last_name, fake_email, ...), built here on a
plain text column with the same keyer, so a value gets the same surrogate in a note as in a
column masked with that generator. Dates move by the document's offset; phones keep their
format; other identifiers keep their shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from dbclone.introspect.snapshot import Column, ColumnRef, Table, TableRef, TypeCategory
from dbclone.transform.base import REGISTRY, Generator, GeneratorContext
from dbclone.transform.generators.contact import digits_replaced
from dbclone.transform.generators.structure import shape_replace
from dbclone.transform.keyed import Keyer
from dbclone.transform.text.dates import shift_date_text
from dbclone.transform.text.entities import tag_for

_TITLES = re.compile(r"(?i)(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|herr|frau|mme|mlle)\.?[ \t]+$")
_INITIAL = re.compile(r"^[^\W\d_]\.?$")
_NAME_TOKEN = re.compile(r"[^\W\d_][\w'’\-]*\.?")
_ADDR_SEP = re.compile(r"([ \t]*[,\n][ \t\n,]*)")
_UNIT = re.compile(r"(?i)^(?:apartment|apt|suite|ste|unit|flat|floor|fl|room|rm|building|"
                   r"bldg|block|#)\b")
_STATE_ZIP = re.compile(r"^([A-Za-z]{2,3}\.?)([ \t]+)([\dA-Za-z\-]+)$")
_ZIPLIKE = re.compile(r"^[\d\- ]{3,10}$|^[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}$")


def normalize(text: str) -> str:
    """The key of a value whatever its case: ORLA VENN and orla venn are Orla Venn."""
    text = " ".join(text.split())
    if text.isupper() or text.islower():
        return text.title()
    return text


def case_like(value: str, model: str) -> str:
    letters = [c for c in model if c.isalpha()]
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        return value.upper()
    if letters and all(c.islower() for c in letters):
        return value.lower()
    return value


def standalone(name: str, keyer: Keyer, locale: str) -> Generator:
    """A catalogue generator on an unbounded text column: the mapping a structured column of
    that generator (default options, no length limit) uses."""
    col = Column("text", "text", TypeCategory.TEXT)
    table = Table(TableRef("dbclone", "text"), (col,))
    ctx = GeneratorContext(table, col, ColumnRef(table.ref, "text"), locale, keyer,
                           "text_redact")
    cls = REGISTRY[name]
    return cls(cls.Params(), ctx)


@dataclass
class DocState:
    """What one document has mapped so far, so each value is replaced alike everywhere in it.
    Known entities (linked columns) are entered first and win."""

    date_offset: int
    memo: dict[tuple[str, str], str] = field(default_factory=dict)
    name_parts: dict[str, str] = field(default_factory=dict)  # casefolded token -> surrogate


class Surrogates:
    def __init__(self, keyer: Keyer, locale: str = "en_US", date_order: str = "mdy") -> None:
        self.keyer = keyer
        self.locale = locale
        self.date_order = date_order
        self._gens: dict[str, Generator] = {}

    def gen(self, name: str) -> Generator:
        g = self._gens.get(name)
        if g is None:
            g = self._gens[name] = standalone(name, self.keyer, self.locale)
        return g

    def _draw(self, name: str, value: str) -> str:
        g = self.gen(name)
        out = value
        for attempt in range(8):
            out = g.generate(value, attempt) or ""
            if out.casefold() != value.casefold():
                return out
        return out

    def number(self, domain: str, value: str) -> int:
        return self.keyer.number("text:" + domain, value)

    # --- per type -------------------------------------------------------------------------

    def make(self, label: str, original: str, doc: DocState, before: str = "") -> str:
        key = (label, normalize(original).casefold())
        hit = doc.memo.get(key)
        if hit is not None:
            return case_like(hit, original) if label in ("PERSON", "LOCATION") else hit
        out = self._make(label, original, doc, before)
        doc.memo[key] = out
        return out

    def _make(self, label: str, original: str, doc: DocState, before: str) -> str:
        if label == "PERSON":
            return self.person(original, doc, before)
        if label == "DATE":
            shifted = shift_date_text(original, doc.date_offset, self.date_order)
            if shifted is not None and shifted != original:
                return shifted
            if shifted == original:  # a bare year or month that the shift did not move
                return original
            return self.shape("DATE", original)
        if label == "PHONE":
            return self.phone(original)
        if label == "EMAIL":
            return self._draw("fake_email", original.lower())
        if label == "SSN":
            return pour(self._draw("fake_ssn", re.sub(r"\D", "", original)), original)
        if label == "CREDIT_CARD":
            return self._draw("fake_credit_card", original)
        if label == "IBAN":
            out = self._draw("fake_iban", original.upper())
            return out.lower() if original.islower() else out
        if label == "URL":
            return self._draw("fake_url", original)
        if label == "IP_ADDRESS":
            return self._draw("fake_ip", original)
        if label == "ZIP":
            return self.shape("ZIP", original)
        if label == "LOCATION":
            return case_like(self._draw("fake_city", normalize(original)), original)
        if label == "ORGANIZATION":
            return case_like(self._draw("fake_company", normalize(original)), original)
        if label == "ADDRESS":
            return self.address(original)
        if label == "AGE":
            return self.age(original)
        if label == "NRP":
            return f"[{tag_for(label)}]"
        return self.shape(label, original)

    def shape(self, label: str, original: str) -> str:
        if not any(c.isalnum() for c in original):
            return f"[{tag_for(label)}]"
        for attempt in range(8):
            out = shape_replace(original, self.number(f"{label}#{attempt}", original))
            if out != original:
                return out
        return f"[{tag_for(label)}]"

    def phone(self, original: str) -> str:
        keep = 0
        m = re.match(r"^\s*((?:\+|00)\d{1,3})[\s.\-(]", original)
        if m:
            keep = m.end(1)
        digits = re.sub(r"\D", "", original[keep:])
        for attempt in range(8):
            n = self.number(f"phone#{attempt}", digits)
            out = original[:keep] + digits_replaced(original[keep:], n, first_nonzero=True)
            if out != original:
                return out
        return "[PHONE]"

    def age(self, original: str) -> str:
        try:
            n = int(original)
        except ValueError:
            return self.shape("AGE", original)
        if n >= 90:  # Safe Harbor: ages over 89 are aggregated into one group
            return "90+"
        jitter = (-2, -1, 1, 2)[self.number("age", original) % 4]
        return str(min(89, max(1, n + jitter)) if n + jitter != n else n + 1)

    def person(self, original: str, doc: DocState, before: str) -> str:
        tokens = list(_NAME_TOKEN.finditer(original))
        words = [t.group() for t in tokens if not _INITIAL.match(t.group())]
        if not words:
            return self.shape("PERSON", original)
        parts: dict[str, str] = {}
        missing = [w for w in words if _core(w).casefold() not in doc.name_parts]
        if missing and len(words) >= 2:
            full = self._draw("fake_name", normalize(" ".join(_core(w) for w in words)))
            fparts = full.split(" ")
            first, last = fparts[0], fparts[-1]
            for i, w in enumerate(words):
                k = _core(w).casefold()
                if k in doc.name_parts:
                    continue
                if i == 0:
                    parts[k] = first
                elif i == len(words) - 1:
                    parts[k] = last
                else:
                    parts[k] = self._draw("fake_first_name", normalize(_core(w)))
        elif missing:
            w = _core(words[0])
            kind = "fake_last_name" if _TITLES.search(before) else "fake_first_name"
            parts[w.casefold()] = self._draw(kind, normalize(w))
        for k, v in parts.items():
            doc.name_parts.setdefault(k, v)
        out = []
        pos = 0
        for t in tokens:
            out.append(original[pos:t.start()])
            word = t.group()
            if _INITIAL.match(word):
                letter = "ABCDEFGHJKLMNPRSTW"[self.number("initial", word.upper()) % 18]
                out.append(case_like(letter, word) + word[1:])
            else:
                core = _core(word)
                sur = doc.name_parts.get(core.casefold(), core)
                out.append(case_like(sur, core) + word[len(core):])
            pos = t.end()
        out.append(original[pos:])
        return "".join(out)

    def address(self, original: str) -> str:
        pieces = _ADDR_SEP.split(original)
        out = []
        street_done = False
        for i, piece in enumerate(pieces):
            if i % 2 == 1 or not piece.strip():
                out.append(piece)
                continue
            out.append(case_like(self._address_piece(piece, street_done), piece))
            if any(c.isdigit() for c in piece) and not _UNIT.match(piece) and \
                    not _ZIPLIKE.match(piece):
                street_done = True
        return "".join(out)

    def _address_piece(self, piece: str, street_done: bool) -> str:
        from dbclone.transform.text import lexicon

        if m := _UNIT.match(piece):  # "flat 3b": the word stays, the number changes
            return piece[: m.end()] + self.shape("ADDRESS", piece[m.end():])
        if _ZIPLIKE.match(piece):
            return self.shape("ADDRESS", piece)
        if m := _STATE_ZIP.match(piece):
            state = self._state(m.group(1))
            return state + m.group(2) + self.shape("ZIP", m.group(3))
        if not street_done and (any(c.isdigit() for c in piece) or "box" in piece.lower()):
            return self._draw("fake_address", normalize(piece))
        if piece.strip().lower() in lexicon.COUNTRIES:
            return piece  # a country is not an identifier under Safe Harbor
        words = piece.split()
        if words and words[0].lower() in lexicon.COUNTRIES and words[-1].isdigit():
            return piece[: -len(words[-1])] + self.shape("ZIP", words[-1])
        if re.fullmatch(r"[A-Z]{2,3}", piece.strip()):
            return self._state(piece.strip())
        return self._draw("fake_city", normalize(piece))

    def _state(self, value: str) -> str:
        return self._draw("fake_state", value)

    @cached_property
    def _hash_domain(self) -> str:
        return "text:hash"

    def hashed(self, label: str, original: str) -> str:
        digest = self.keyer.digest(self._hash_domain, f"{label}\x1f{normalize(original)}"
                                   .casefold())
        return f"[{tag_for(label)}-{digest[:4].hex()}]"


def _core(word: str) -> str:
    """A name word without its full stop or possessive: "Marsh's" is Marsh."""
    core = word.rstrip(".")
    if core.endswith(("'s", "’s", "'S", "’S")) and len(core) > 3:
        core = core[:-2]
    return core


def pour(digits: str, model: str) -> str:
    """``digits`` poured into ``model``'s layout (its digits replaced in order)."""
    it = iter(re.sub(r"\D", "", digits))
    out = []
    for c in model:
        if c.isdigit():
            out.append(next(it, "0"))
        else:
            out.append(c)
    return "".join(out)
