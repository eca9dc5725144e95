"""Pattern recognizers with validation: each finds candidate spans with a regular expression
and keeps those that pass a check (Luhn, IBAN mod-97, libphonenumber, calendar ranges).

All patterns are compiled once per process; a recognizer runs in well under a millisecond on a
300-word note, so the pattern pass stays cheap next to NER.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from dbclone.transform.text.dates import find_dates


@dataclass(slots=True)
class Span:
    start: int
    end: int
    label: str
    score: float
    source: str  # which recognizer found it

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class PatternSpec:
    """A configurable pattern: ``pattern`` is searched; with ``context`` words, only matches
    that follow one of the words (within ``window`` characters) count. A group named
    ``value`` (or the first group) narrows the span to the identifier itself."""

    label: str
    pattern: str
    score: float = 0.85
    context: tuple[str, ...] = ()
    window: int = 30

    def compile(self) -> CompiledPattern:
        try:
            rx = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern for {self.label} is not a valid regular expression: "
                             f"{exc}") from None
        ctx = None
        if self.context:
            words = "|".join(re.escape(w) for w in self.context)
            ctx = re.compile(rf"(?<![^\W_])(?:{words})(?![^\W_])", re.I)
        return CompiledPattern(self, rx, ctx)


@dataclass(frozen=True)
class CompiledPattern:
    spec: PatternSpec
    rx: re.Pattern[str]
    context: re.Pattern[str] | None

    def find(self, text: str) -> Iterator[Span]:
        spec = self.spec
        if self.context is not None:
            for cm in self.context.finditer(text):
                window = text[cm.end(): cm.end() + spec.window + 40]
                m = self.rx.search(window)
                if m is None or m.start() > spec.window:
                    continue
                s, e = _value_bounds(m)
                yield Span(cm.end() + s, cm.end() + e, spec.label, spec.score,
                           f"pattern:{spec.label.lower()}")
            return
        for m in self.rx.finditer(text):
            s, e = _value_bounds(m)
            if e > s:
                yield Span(s, e, spec.label, spec.score, f"pattern:{spec.label.lower()}")


def _value_bounds(m: re.Match[str]) -> tuple[int, int]:
    if "value" in m.re.groupindex and m.group("value") is not None:
        return m.span("value")
    if m.re.groups and m.group(1) is not None:
        return m.span(1)
    return m.span()


# Record numbers after their context words ("MRN: 12345678", "acct # 0042-1187").
_RECORD_VALUE = (r"^[\s:#=.\-]{0,4}(?:no\.?|number|num|#)?[\s:#=.]{0,3}"
                 r"(?P<value>[A-Za-z]{0,4}[-]?\d[\dA-Za-z\-/]{2,24}\d|\d{3,})")
DEFAULT_RECORD_PATTERNS: tuple[PatternSpec, ...] = (
    PatternSpec("MRN", _RECORD_VALUE, 0.9, ("mrn", "medical record", "record", "chart",
                                            "patient id", "pt id", "hospital number",
                                            "nhs number", "nhs no", "encounter", "fin")),
    PatternSpec("ACCOUNT", _RECORD_VALUE, 0.9, ("acct", "account", "a/c", "invoice",
                                                "policy", "member id", "member",
                                                "subscriber", "claim", "routing",
                                                "health plan", "beneficiary")),
    PatternSpec("ID", _RECORD_VALUE, 0.85, ("id", "license", "licence", "passport", "dl",
                                            "driver's license", "badge", "employee id",
                                            "certificate", "serial", "device", "vin",
                                            "plate", "npi", "dea")),
)

# --- simple validated patterns ---------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+\-])[\w.%+\-]+@[^\W_](?:[\w\-]*[^\W_])?"
                    r"(?:\.[^\W_](?:[\w\-]*[^\W_])?)*\.[^\W\d_]{2,24}(?![\w\-])")
_URL = re.compile(r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\"'`]+")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_CARD = re.compile(r"(?<![\d\-+])\d(?:[ \-]?\d){11,18}(?![\d])(?!-\d)")
_IBAN = re.compile(r"(?i)(?<![\w])[a-z]{2}\d{2}(?:[ ]?[a-z0-9]{4}){2,7}"
                   r"(?:[ ]?[a-z0-9]{1,4})?(?![\w])")
_SSN = re.compile(r"(?<![\d\-])(\d{3})([\- ]?)(\d{2})\2(\d{4})(?![\d])(?!-\d)")
_SSN_CONTEXT = re.compile(r"(?i)\b(?:ssn|ss#|social security|soc\.? sec|itin|tin)\b")
_CARD_CONTEXT = re.compile(r"(?i)\b(?:card|visa|mastercard|master card|amex|american express|"
                           r"discover|credit|debit|cc|jcb|maestro|diners)\b")
_PHONE = re.compile(r"""
    (?<![\w/+])(?<!\d[.\-])
    (?:(?:\+|\b00)\d{1,3}[ .\-]?)?          # country code
    (?:\(0\)[ ]?)?                           # the (0) of +44 (0)20 ...
    (?:\(\d{1,5}\)[ .\-]?)?                  # (area code)
    \d{1,12}(?:[ .\-]\d{1,10}){0,5}
    (?:[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6})?
    (?![\w/]|[.\-]\d)
""", re.X | re.I)
_DATE_LIKE = re.compile(r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}([.\-])\d{1,2}\1(?:19|20)?\d{2})$")
_PHONE_CONTEXT = re.compile(r"(?i)\b(?:phone|tel|telephone|mobile|cell|cellphone|fax|call|"
                            r"called|office|landline|number|ph|contact|whatsapp|sms|text|"
                            r"pager|home|work|desk|direct|dial|reach|tel\.|ph\.)\b")
_GENERIC_ID = re.compile(
    r"(?<![\w\-])(?:[A-Za-z]{1,4}[\-]?\d{5,}[A-Za-z]?|\d{2,}(?:-\d{2,}){1,4}|\d{7,})(?![\w]|-\d)")
_AGE = re.compile(r"""(?ix)
    (?<![\w.])(?P<a>\d{1,3})(?:[ \-]?(?:years?|yrs?|y)[ \-]?(?:old|of\ age|o\b)|[ ]?y/o\b|[ ]?yo\b)
  | \b(?:aged?|age\ of|turned|turn|turning|age:)[ ]*(?P<b>\d{1,3})(?![\w.,]\d|\d)
""")
_US_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|"
              "MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|"
              "AA|AE|AP")
_ZIP = re.compile(rf"""(?x)
    (?<=\b(?:{_US_STATES})\ )(?P<us>\d{{5}}(?:-\d{{4}})?)(?!\w)
  | (?i:\b(?:zip|zip\ code|zipcode|postal\ code|postcode|post\ code)\b[\s:#]{{0,3}})
      (?P<ctx>\d{{5}}(?:-\d{{4}})?|[A-Za-z0-9]{{2,4}}[ ]?[A-Za-z0-9]{{3}})(?!\w)
  | (?<![\w])(?P<uk>[A-Z]{{1,2}}\d[A-Z\d]?[ ]\d[A-Z]{{2}})(?![\w])
  | (?<![\w])(?P<ca>[A-Z]\d[A-Z][ ]\d[A-Z]\d)(?![\w])
""")


def find_email(text: str) -> Iterator[Span]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), "EMAIL", 1.0, "email")


def find_url(text: str) -> Iterator[Span]:
    for m in _URL.finditer(text):
        s, e = m.span()
        while e > s and text[e - 1] in ".,;:!?)]}'\"":
            e -= 1
        if e - s > 6:
            yield Span(s, e, "URL", 0.9, "url")


def find_ip(text: str) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        addr = m.group().split("/")[0]
        try:
            ipaddress.IPv4Address(addr)
        except ValueError:
            continue
        yield Span(m.start(), m.end(), "IP_ADDRESS", 0.9, "ip")
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            cand = m.group()
            if len(cand) < 6 or sum(c in "0123456789abcdefABCDEF" for c in cand) < 4:
                continue
            try:
                ipaddress.IPv6Address(cand)
            except ValueError:
                continue
            yield Span(m.start(), m.end(), "IP_ADDRESS", 0.9, "ip")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_grouping_ok(cand: str) -> bool:
    groups = re.split(r"[ \-]", cand)
    if len(groups) == 1:
        return True
    lens = [len(g) for g in groups]
    if lens in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in lens[:-1]) and 1 <= lens[-1] <= 4


def find_card(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        cand = m.group()
        digits = re.sub(r"\D", "", cand)
        if not 12 <= len(digits) <= 19 or len(set(digits)) == 1:
            continue
        if not _card_grouping_ok(cand) or not luhn_ok(digits):
            continue
        ctx = _CARD_CONTEXT.search(text, max(0, m.start() - 40), m.start())
        yield Span(m.start(), m.end(), "CREDIT_CARD", 1.0 if ctx else 0.9, "credit_card")


def iban_ok(raw: str) -> bool:
    s = raw.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    moved = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


def find_iban(text: str) -> Iterator[Span]:
    for m in _IBAN.finditer(text):
        cand = m.group()
        # a space may have swallowed the next word: try the longest valid prefix on groups
        while cand:
            if iban_ok(cand):
                yield Span(m.start(), m.start() + len(cand), "IBAN", 1.0, "iban")
                break
            if " " not in cand:
                break
            cand = cand.rsplit(" ", 1)[0]


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """The SSA's structural rules only: no blocklist of "sample" numbers, which would hide
    real-looking values (case 32: a prefix-matched blocklist leaked whole ranges)."""
    return area not in ("000", "666") and group != "00" and serial != "0000"


def find_ssn(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        if not ssn_ok(m.group(1), m.group(3), m.group(4)):
            continue
        sep = m.group(2)
        ctx = _SSN_CONTEXT.search(text, max(0, m.start() - 40), m.start())
        score = 0.85 if sep == "-" else 0.6 if sep == " " else 0.3
        if ctx:
            score = min(1.0, score + 0.5)
        yield Span(m.start(), m.end(), "SSN", score, "ssn")


# --- phones ---------------------------------------------------------------------------------

DEFAULT_REGIONS: tuple[str, ...] = (
    "US", "CA", "GB", "IE", "AU", "NZ", "DE", "FR", "NL", "BE", "CH", "AT", "ES", "PT", "IT",
    "SE", "NO", "DK", "FI", "PL", "BR", "MX", "IN")


def check_regions(regions: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate region codes against libphonenumber (case 32: 'UK' is not one; 'GB' is)."""
    import phonenumbers

    supported = phonenumbers.SUPPORTED_REGIONS
    out = []
    for r in regions:
        code = str(r).strip().upper()
        if code not in supported:
            hint = " (did you mean 'GB'?)" if code == "UK" else ""
            raise ValueError(f"'{r}' is not a phone region libphonenumber knows{hint}; use "
                             "ISO 3166 two-letter codes such as US, GB, DE")
        out.append(code)
    return tuple(out)


@lru_cache(maxsize=4096)
def phone_quality(candidate: str, regions: tuple[str, ...]) -> int:
    """2: a valid number in one of the regions (or with its own +country code), 1: a
    possible one (right length), 0: neither."""
    import phonenumbers

    best = 0
    intl = candidate.lstrip().startswith(("+", "00"))
    tries = (None,) if candidate.lstrip().startswith("+") else regions
    for region in tries:
        try:
            num = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return 2
        if phonenumbers.is_possible_number(num):
            best = 1
    if intl and best == 0 and candidate.startswith("00"):
        return phone_quality("+" + candidate[2:], regions)
    return best


def find_phone(text: str, regions: tuple[str, ...]) -> Iterator[Span]:
    for m in _PHONE.finditer(text):
        cand = m.group()
        main = re.split(r"(?i)\s?(?:x|ext)", cand)[0]
        digits = sum(c.isdigit() for c in main)
        if not 7 <= digits <= 15 or _DATE_LIKE.match(main):
            continue  # dates are the date recognizer's (and cost 23 region checks here)
        grouped = bool(re.search(r"[ .\-()]", main.strip())) or main.startswith("+")
        quality = phone_quality(main, regions)
        context = _PHONE_CONTEXT.search(text, max(0, m.start() - 30), m.start())
        if grouped:
            score = (0.45, 0.6, 0.8)[quality]
        elif quality == 2 or (quality and context):
            score = 0.5
        else:
            continue  # a bare digit run: the generic ID recognizer has it
        if context:
            score = min(1.0, score + 0.15)
        yield Span(m.start(), m.end(), "PHONE", score, "phone")


# --- identifiers, ages, ZIP codes -----------------------------------------------------------


def find_generic_id(text: str) -> Iterator[Span]:
    """Long digit runs and letter+digit codes: identifiers of some kind even when we cannot
    name them (driver's licences, member numbers); redacted rather than left."""
    for m in _GENERIC_ID.finditer(text):
        yield Span(m.start(), m.end(), "ID", 0.4, "generic_id")


def find_age(text: str) -> Iterator[Span]:
    for m in _AGE.finditer(text):
        g = "a" if m.group("a") is not None else "b"
        n = int(m.group(g))
        if n > 125:
            continue
        yield Span(m.start(g), m.end(g), "AGE", 0.7, "age")


def find_zip(text: str) -> Iterator[Span]:
    for m in _ZIP.finditer(text):
        for g, score in (("us", 0.7), ("ctx", 0.75), ("uk", 0.6), ("ca", 0.6)):
            if m.group(g) is not None:
                yield Span(m.start(g), m.end(g), "ZIP", score, "zip")
                break


# --- names ----------------------------------------------------------------------------------

_TITLE_NAME = re.compile(r"""(?x)
    \b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sr|Sra|Srta|Herr|Frau|Mme|Mlle|Mister|Doctor|Nurse)\.?[ ]+
    (?P<name>[^\W\d_][^\s,;:()]*(?:[ ][^\W\d_][^\s,;:()]*){0,2})
""")
_LABELLED_NAME = re.compile(r"""(?ix)
    \b(?:name|patient|pt|signed|attending|physician|provider|contact|seen\ by|referred\ by|
        dear|my\ name\ is|name\ is|call\ me|called|named|last\ name\??|first\ name\??|
        surname|maiden\ name\ is|i'm|i\ am)\s*[:,]?[ \t]+
    (?:(?:mr|mrs|ms|miss|mx|dr|prof|doctor|nurse)\.?[ \t]+)?
    (?P<name>[^\W\d_][\w'’\-]*(?:[ \t]+[^\W\d_][\w'’\-.]*){0,2})
""")
ORG_WORDS = frozenset([
    "inc", "inc.", "llc", "ltd", "ltd.", "corp", "corp.", "co", "co.", "company", "group", "gmbh",
    "ag", "sa", "plc", "bank", "hospital", "clinic", "university", "college", "school",
    "institute", "foundation", "orchestra", "band", "investments", "solutions", "systems",
    "technologies", "technology", "partners", "associates", "tv", "radio", "network", "networks",
    "agency", "services", "consulting", "labs", "laboratories", "pharmacy", "pharmaceuticals",
    "records", "studios"
])


def _capitalised(word: str) -> bool:
    w = word.strip(".,'’")
    return bool(w) and (w[0].isupper() or w.isupper()) and not any(c.isdigit() for c in w)


def find_titled_name(text: str, stop: frozenset[str]) -> Iterator[Span]:
    for m in _TITLE_NAME.finditer(text):
        words = m.group("name").split(" ")
        keep = []
        for w in words:
            if not _capitalised(w) or w.lower().strip(".,") in stop:
                break
            keep.append(w)
        if not keep:
            continue
        s = m.start("name")
        e = s + len(" ".join(keep))
        while e > s and text[e - 1] in ".,'’":
            e -= 1
        if text[s:e].endswith(("'s", "’s")):  # "Dr Marsh's note": the name is Marsh
            e -= 2
        yield Span(s, e, "PERSON", 0.75, "titled_name")
    for m in _LABELLED_NAME.finditer(text):
        words = list(re.finditer(r"\S+", m.group("name")))
        keep = []
        for w in words:
            if not _capitalised(w.group()) or w.group().lower().strip(".,") in stop:
                break
            keep.append(w)
        cue = m.group().lower()
        if not keep and "name" in cue and words[0].group().lower() not in stop:
            keep = words[:1]  # "my name is vitoria": the cue says so, whatever the case
        if not keep or keep[-1].group().lower().strip(".,") in ORG_WORDS:
            continue
        s = m.start("name")
        e = s + keep[-1].end()
        while e > s and text[e - 1] in ".,'’":
            e -= 1
        yield Span(s, e, "PERSON", 0.6, "labelled_name")


Finder = Callable[[str], Iterator[Span]]


def base_finders(regions: tuple[str, ...], date_order: str,
                 stop: frozenset[str]) -> list[Finder]:
    from dbclone.transform.text.address import find_address

    return [
        find_email, find_url, find_ip, find_card, find_iban, find_ssn,
        lambda t: find_phone(t, regions),
        lambda t: find_dates(t, date_order),
        find_age, find_zip, find_generic_id,
        lambda t: find_address(t, stop),
        lambda t: find_titled_name(t, stop),
    ]
