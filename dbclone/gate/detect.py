"""Which columns hold personal data: a pure function of a column's name, its type, the names
of its neighbours and a bounded sample of its values.

The same detector serves ``dbclone init`` (suggest a rule), the drift gate (a column the
workspace does not mention) and the leak audit (a kept column that looks sensitive). A
:class:`Detection` carries counts and a reason, never a sampled value.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dbclone.gate import recognize as rz
from dbclone.gate.names import wordset
from dbclone.introspect.snapshot import TypeCategory

TEXTUAL = frozenset({TypeCategory.TEXT, TypeCategory.OTHER})
NUMERIC = frozenset({TypeCategory.INTEGER, TypeCategory.NUMERIC})
DATES = frozenset({TypeCategory.DATE, TypeCategory.TIMESTAMP})

# Below this many non-empty sampled values a column name alone may decide; above it the
# values must not contradict the name (an 'email_template' column holds no e-mails).
MIN_VALUES = 5


@dataclass(frozen=True)
class Kind:
    name: str
    noun: str  # "... sampled values look like {noun}"
    categories: frozenset[TypeCategory]  # the column types this kind is looked for in


def _k(name: str, noun: str, *cats: Iterable[TypeCategory]) -> Kind:
    return Kind(name, noun, frozenset(c for group in cats for c in group))


_U = frozenset({TypeCategory.UUID})
_B = frozenset({TypeCategory.BINARY})
KINDS: dict[str, Kind] = {k.name: k for k in (
    _k("email", "e-mail addresses", TEXTUAL),
    _k("phone", "phone numbers", TEXTUAL, NUMERIC),
    _k("ssn", "social security numbers", TEXTUAL, NUMERIC),
    _k("national_id", "national ID numbers", TEXTUAL, NUMERIC),
    _k("passport", "passport numbers", TEXTUAL),
    _k("drivers_licence", "driver's licence numbers", TEXTUAL),
    _k("credit_card", "card numbers (Luhn-valid)", TEXTUAL, NUMERIC),
    _k("iban", "IBANs (valid checksum)", TEXTUAL),
    _k("bank_account", "bank account numbers", TEXTUAL, NUMERIC),
    _k("first_name", "given names", TEXTUAL),
    _k("middle_name", "given names", TEXTUAL),
    _k("last_name", "family names", TEXTUAL),
    _k("full_name", "person names", TEXTUAL),
    _k("username", "user names", TEXTUAL),
    _k("credential", "passwords or secrets", TEXTUAL, _B),
    _k("street_address", "street addresses", TEXTUAL),
    _k("address_line2", "address lines", TEXTUAL),
    _k("city", "city names", TEXTUAL),
    _k("county", "county names or codes", TEXTUAL, NUMERIC),
    _k("birthplace", "places", TEXTUAL),
    _k("zip", "postal codes", TEXTUAL, NUMERIC),
    _k("geo", "coordinates", TEXTUAL, NUMERIC),
    _k("birth_date", "dates", TEXTUAL, DATES),
    _k("death_date", "dates", TEXTUAL, DATES),
    _k("ip", "IP addresses", TEXTUAL, frozenset({TypeCategory.OTHER})),
    _k("mac", "MAC addresses", TEXTUAL, frozenset({TypeCategory.OTHER})),
    _k("photo", "images", TEXTUAL, _B),
    _k("member_id", "member or record numbers", TEXTUAL, NUMERIC, _U),
    _k("free_text", "text containing personal data", TEXTUAL),
    _k("json", "JSON holding personal data", TEXTUAL, frozenset({TypeCategory.JSON})),
)}


@dataclass(frozen=True)
class ColumnFacts:
    """What the detector knows about a column besides its values."""

    name: str
    category: TypeCategory
    siblings: tuple[str, ...] = ()  # the other column names of the table
    references_other_table: bool = False  # a foreign-key column: its values are another key


@dataclass(frozen=True)
class Detection:
    kind: str
    reason: str  # counts and names only, e.g. "97% of 1,000 sampled values look like ..."
    matched: int = 0  # sampled values that fit the kind
    sampled: int = 0  # non-empty sampled values
    by_name: bool = False  # the column name said so
    paths: dict[str, str] = field(default_factory=dict)  # json: path -> kind

    @property
    def noun(self) -> str:
        return KINDS[self.kind].noun


# -- column names ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hint:
    kind: str
    phrases: tuple[str, ...]  # word sequences, e.g. "first name"; also matched run together
    strong: bool = True  # enough on its own when the values do not contradict it
    exact: bool = False  # the column name must be just the phrase ("first", "last")


# Order matters: the first hint that matches wins ("ip_address" is an IP, not an address).
HINTS: tuple[Hint, ...] = (
    Hint("email", ("email", "e mail", "mail", "email address", "mail address")),
    Hint("ip", ("ip", "ip address", "ip addr", "remote addr", "client ip", "ipv4", "ipv6")),
    Hint("mac", ("mac address", "mac addr", "mac")),
    Hint("ssn", ("ssn", "social security", "social security number", "social security no",
                 "sozialversicherungsnummer", "sv nummer")),
    Hint("passport", ("passport", "passport number", "passport no", "passport nr")),
    Hint("drivers_licence", ("drivers", "driver license", "drivers license",
                             "driver licence", "drivers licence", "driving licence",
                             "driving license", "dl number", "licence number",
                             "license number")),
    Hint("national_id", ("national id", "national identifier", "nin", "nino", "sin", "tin",
                         "tax id", "tax number", "taxpayer id", "vat number", "nir", "bsn",
                         "dni", "nie", "cpf", "cnpj", "aadhaar", "pan number", "pesel",
                         "personnummer", "steuer id", "steuernummer", "id card",
                         "identity card", "identity number", "id number", "personal number",
                         "citizen id", "health card", "medicare number", "nhs number")),
    Hint("credit_card", ("credit card", "card number", "card no", "cc number", "cc num",
                         "creditcard", "pan", "card")),
    Hint("iban", ("iban",)),
    Hint("bank_account", ("bank account", "account number", "account no", "routing number",
                          "bic", "swift", "sort code")),
    Hint("member_id", ("member id", "member number", "memberid", "mrn", "medical record",
                       "medical record number", "patient number", "policy number",
                       "insurance number", "subscriber id", "beneficiary id")),
    Hint("birth_date", ("birth", "birthdate", "birth date", "date of birth", "dob", "born",
                        "birthday", "geburtsdatum", "date naissance")),
    Hint("death_date", ("death", "deathdate", "death date", "date of death", "deceased",
                        "died", "dod")),
    Hint("birthplace", ("birthplace", "birth place", "place of birth", "birth city")),
    Hint("first_name", ("first name", "firstname", "given name", "forename", "fname",
                        "vorname", "prenom", "nombre", "christian name")),
    Hint("first_name", ("first",), exact=True),
    Hint("middle_name", ("middle name", "middlename", "middle initial")),
    Hint("middle_name", ("middle",), exact=True),
    Hint("last_name", ("last name", "lastname", "surname", "family name", "lname", "maiden",
                       "maiden name", "nachname", "apellido", "nom de famille")),
    Hint("last_name", ("last",), exact=True),
    Hint("username", ("username", "user name", "login", "login name", "screen name",
                      "nickname", "nick name", "handle", "account name", "user login")),
    Hint("credential", ("password", "passwd", "pwd", "password hash", "pass hash", "secret",
                        "api key", "access token", "refresh token", "auth token", "token",
                        "private key", "otp secret", "pin", "security answer")),
    Hint("photo", ("photo", "picture", "avatar", "portrait", "selfie", "signature",
                   "fingerprint", "face image", "headshot", "mugshot")),
    Hint("address_line2", ("address2", "address 2", "address line 2", "address line2",
                           "addr2", "line2", "line 2", "street2")),
    Hint("street_address", ("address", "addr", "street", "street address", "address line",
                            "address line 1", "address1", "addr1", "line1", "line 1",
                            "home address", "mailing address", "adresse", "anschrift",
                            "strasse", "direccion")),
    Hint("zip", ("zip", "zipcode", "zip code", "postal", "postal code", "postcode",
                 "post code", "plz", "postleitzahl", "cep")),
    Hint("phone", ("phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax",
                   "msisdn", "phone number", "phone no", "contact number", "telefon",
                   "telefono", "handy")),
    # Weak: only with address columns beside them, or with values that agree.
    Hint("city", ("city", "town", "municipality", "locality", "suburb", "ort", "stadt",
                  "ville", "ciudad"), strong=False),
    Hint("county", ("county", "fips", "county code", "county fips"), strong=False),
    Hint("geo", ("lat", "latitude", "lon", "lng", "longitude", "geo", "coordinates",
                 "geolocation", "geo location"), strong=False),
    Hint("full_name", ("name", "full name", "fullname", "display name", "contact name",
                       "owner name", "person name", "patient name", "customer name",
                       "employee name", "holder name", "card holder", "cardholder",
                       "account holder", "beneficiary", "recipient", "sender",
                       "spouse", "guardian", "next of kin", "emergency contact"),
         strong=False),
)

# Words that turn a matching name into something else: 'email_verified', 'phone_type',
# 'address_id', 'last_update', 'token_count', 'name_length'.
DISQUALIFIERS = wordset("""
    id ids uuid key fk ref count cnt number_of type types kind flag flags is has enabled
    disabled status verified verify verification confirmed confirm sent at on template
    format formats domain domains opt optin optout consent valid validated bounced bounce
    length len size pref prefs preference preferences policy changed updated update created
    modified deleted expires expiry expiration attempts attempt failures reset required
    hint strength algo algorithm salt version visible public private mask masked encrypted
    checksum country state region province language lang locale timezone tz code_type
    category categories table column schema file files host server url link uri path
    product products item items company business org organisation organization brand
    event group team role tag tags title model class project app service database db
    """)
# ... except where the word is part of what the phrase means
_ALLOWED_WITH = {
    "national_id": {"number", "no", "nr"},
    "member_id": {"number", "no"},
    "credential": {"hash", "hashed", "digest", "salt"},
    "zip": {"code"},
    "geo": {"code"},
    "county": {"code"},
    "photo": {"url", "path", "file", "data", "blob"},
}
# Words that may sit next to a hint without changing it (customer_email, email_1, home_phone)
_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def name_tokens(column: str) -> list[str]:
    """'billingEmailAddress' -> billing, email, address; 'address_2' -> address, 2."""
    out = []
    for part in re.split(r"[^A-Za-z0-9]+", column):
        out.extend(t.lower() for t in _TOKEN.findall(part))
    return [t for t in out if t]


def hint_for(column: str) -> Hint | None:
    tokens = name_tokens(column)
    if not tokens:
        return None
    for hint in HINTS:
        for phrase in hint.phrases:
            rest = _match(tokens, phrase.split())
            if rest is None:
                continue
            if hint.exact and rest:
                continue
            allowed = _ALLOWED_WITH.get(hint.kind, set())
            if any(t in DISQUALIFIERS and t not in allowed for t in rest):
                continue
            return hint
    return None


def _match(tokens: list[str], phrase: list[str]) -> list[str] | None:
    """The tokens left over when ``phrase`` occurs in ``tokens`` (as words or run together,
    digits ignored for the comparison of 'address1' with 'address 1'); None if it does not."""
    n = len(phrase)
    for i in range(len(tokens) - n + 1):
        if tokens[i:i + n] == phrase:
            return tokens[:i] + tokens[i + n:]
    joined = "".join(phrase)
    for i, t in enumerate(tokens):
        if t == joined:
            return tokens[:i] + tokens[i + 1:]
    # 'address1' tokenises as address, 1: compare run together as well
    for i in range(len(tokens)):
        for j in range(i + 1, min(len(tokens), i + 5) + 1):
            if "".join(tokens[i:j]) == joined:
                return tokens[:i] + tokens[j:]
    return None


# -- values ------------------------------------------------------------------------------------

# The share of sampled values that must look like a kind for the values alone to decide.
VALUE_THRESHOLDS = {
    "email": 0.5, "ssn": 0.5, "credit_card": 0.5, "iban": 0.5, "ip": 0.6, "mac": 0.6,
    "phone": 0.6, "street_address": 0.5, "full_name": 0.6,
}
# Kinds one sampled value is enough for (their checks rarely pass by chance).
_CERTAIN = frozenset({"email", "ssn", "credit_card", "iban", "mac"})
# What a hinted column's values must look like ("" means: anything; the name decides).
ADDRESS_WORDS = ("address", "addr", "street", "zip", "postal", "postcode", "plz")


def _validator(kind: str):
    return {
        "email": lambda v: rz.EMAIL.match(v.strip()) is not None,
        "phone": lambda v: rz.phone_shape(v) is not None,
        "ssn": lambda v: re.fullmatch(r"\d{3}[- ]?\d{2}[- ]?\d{4}", v.strip()) is not None,
        "credit_card": lambda v: rz.is_card(v),
        "iban": lambda v: rz.iban_ok(v),
        "ip": lambda v: rz.is_ip(v),
        "zip": lambda v: re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 -]{1,9}", v.strip()) is not None
        and any(ch.isdigit() for ch in v),
        "first_name": _name_word,
        "middle_name": _name_word,
        "last_name": _name_word,
        "full_name": lambda v: rz.person_name_shape(v, strict=False),
        "city": _place,
        "county": lambda v: _place(v) or v.strip().isdigit(),
        "birthplace": _place,
        "street_address": lambda v: rz.street_shape(v) is not None
        or re.match(r"^\d+\s+\S", v.strip()) is not None,
        "birth_date": rz.is_date_text,
        "death_date": rz.is_date_text,
        "geo": lambda v: re.fullmatch(r"[+-]?\d{1,3}(?:\.\d+)?", v.strip()) is not None,
        "passport": _id_like,
        "drivers_licence": _id_like,
        "national_id": _id_like,
        "member_id": _id_like,
        "bank_account": _id_like,
        "username": lambda v: " " not in v.strip() and len(v) <= 64,
    }.get(kind)


def _name_word(v: str) -> bool:
    words = rz.name_words(v)
    return 1 <= len(words) <= 3 and len(v) <= 40 and not any(ch in v for ch in "@/:;=")


def _place(v: str) -> bool:
    s = v.strip()
    return bool(s) and len(s) <= 60 and sum(ch.isalpha() for ch in s) >= len(s) / 2


def _id_like(v: str) -> bool:
    s = v.strip()
    return 4 <= len(s) <= 40 and any(ch.isdigit() for ch in s) and " " not in s.strip()


def _pct(n: int, total: int) -> str:
    p = 100 * n / total if total else 0
    return f"{p:.0f}%" if p >= 1 or n == 0 else "<1%"


def _values_reason(n: int, total: int, noun: str) -> str:
    return f"{_pct(n, total)} of {total:,} sampled values look like {noun}"


def classify(col: ColumnFacts, values: Sequence[str | None]) -> Detection | None:
    """Decide whether a column holds personal data, and of which kind."""
    cat = col.category
    if cat in (TypeCategory.BOOLEAN, TypeCategory.BIT, TypeCategory.ENUM, TypeCategory.TIME):
        return None
    vals = [v for v in values if v is not None and v.strip() != ""]
    hint = hint_for(col.name)
    if hint is not None and cat not in KINDS[hint.kind].categories:
        hint = None
    if cat is TypeCategory.JSON:
        return classify_json(vals, col.name)
    if cat in (TypeCategory.BINARY, TypeCategory.UUID) or cat in DATES or cat in NUMERIC:
        return _by_name_only(col, hint, vals)
    if col.references_other_table:
        # a foreign-key column holds another table's key: only its values can tell
        return _by_values(vals, None, hint=None)
    if vals and vals[0].lstrip()[:1] in "{[":
        doc = classify_json(vals, col.name)
        if doc is not None:
            return doc
    return _by_values(vals, col, hint)


def _by_name_only(col: ColumnFacts, hint: Hint | None,
                  vals: list[str]) -> Detection | None:
    if hint is None:
        return None
    if hint.kind == "geo" and not _has_address_sibling(col):
        return None
    if not hint.strong and hint.kind not in ("geo", "county"):
        return None
    if hint.kind == "county" and not _has_address_sibling(col):
        return None
    return Detection(hint.kind, f"column name '{col.name}' ({col.category.value})",
                     sampled=len(vals), by_name=True)


def _has_address_sibling(col: ColumnFacts) -> bool:
    for s in col.siblings:
        h = hint_for(s)
        if h is not None and h.kind in ("street_address", "zip", "address_line2"):
            return True
    return False


def _by_values(vals: list[str], col: ColumnFacts | None,
               hint: Hint | None) -> Detection | None:
    n = len(vals)
    kinds = Counter(rz.value_kind(v) for v in vals)
    top, top_n = None, 0
    for kind, count in kinds.most_common():
        if kind is not None and kind not in ("uuid", "street_named"):
            top, top_n = kind, count
            break
    # 1. the name says it and the values agree
    if hint is not None and col is not None:
        check = _validator(hint.kind)
        fits = sum(1 for v in vals if check(v)) if check else n
        context_ok = (hint.kind not in ("city", "county", "geo")
                      or _has_address_sibling(col))
        if n < MIN_VALUES and hint.strong and context_ok:
            reason = f"column name '{col.name}'"
            if n:
                reason = f"{reason}; {_values_reason(fits, n, KINDS[hint.kind].noun)}"
            else:
                reason += " (no values to sample)"
            return Detection(hint.kind, reason, fits, n, by_name=True)
        need = 0.2 if hint.strong else 0.5
        if n and fits / n >= need and context_ok and (hint.strong or fits >= 2 or
                                                         hint.kind != "full_name"):
            return Detection(hint.kind, f"{_values_reason(fits, n, KINDS[hint.kind].noun)}; "
                             f"column name '{col.name}'", fits, n, by_name=True)
        if n == 0 and not hint.strong and context_ok and hint.kind != "full_name":
            return Detection(hint.kind, f"column name '{col.name}' beside an address "
                             "(no values to sample)", 0, 0, by_name=True)
    # 2. the values alone
    if top is not None:
        share = top_n / n
        enough = top_n >= 1 if top in _CERTAIN else top_n >= 3
        if share >= VALUE_THRESHOLDS.get(top, 0.6) and enough:
            return Detection(top, _values_reason(top_n, n, KINDS[top].noun), top_n, n)
    # 3. free text that carries personal data inside it
    return _free_text(vals)


def _free_text(vals: list[str]) -> Detection | None:
    if not vals:
        return None
    texts = [v for v in vals if len(v) >= 20 and len(v.split()) >= 3]
    if len(texts) < max(2, len(vals) // 4):
        return None
    strong = names = 0
    kinds: Counter[str] = Counter()
    for t in texts:
        found = rz.text_kinds(t)
        kinds.update(found)
        if found - {"full_name"}:
            strong += 1
        elif found:
            names += 1
    hits = strong + names
    # Names alone in short texts (titles, credits: "Meet the Smiths") are weak evidence;
    # in notes a few mentioned names are enough.
    lengths = sorted(len(t) for t in texts)
    short = lengths[len(lengths) // 2] < 60
    if strong >= 1 or names >= max(2, len(texts) // (5 if short else 50)):
        what = ", ".join(KINDS[k].noun if k in KINDS else k for k, _ in kinds.most_common(3))
        return Detection("free_text", f"{_pct(hits, len(texts))} of {len(texts):,} sampled "
                         f"texts contain personal data ({what})", hits, len(texts))
    return None


# -- JSON ----------------------------------------------------------------------------------


def classify_json(vals: list[str], column: str) -> Detection | None:
    """Find the paths inside JSON documents that hold personal data, by key name and value."""
    leaves: dict[str, list[str]] = {}
    parsed = 0
    for v in vals:
        try:
            doc = json.loads(v)
        except ValueError:
            continue
        parsed += 1
        _walk(doc, "", leaves)
    if not parsed:
        return None
    paths: dict[str, str] = {}
    for path, leaf_values in leaves.items():
        key = path.rsplit(".", 1)[-1].replace("[*]", "") or column
        det = _by_values(leaf_values, ColumnFacts(key, TypeCategory.TEXT), hint_for(key))
        if det is not None:
            paths[path] = det.kind
    if not paths:
        return None
    what = ", ".join(f"{p} ({KINDS[k].noun})" for p, k in sorted(paths.items())[:4])
    more = f" and {len(paths) - 4} more" if len(paths) > 4 else ""
    return Detection("json", f"{len(paths)} path{'s' if len(paths) > 1 else ''} in {parsed:,} "
                     f"sampled documents hold personal data: {what}{more}", len(paths),
                     parsed, paths=paths)


_SAFE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ -]*$")


def _walk(node: object, path: str, out: dict[str, list[str]], depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            if not _SAFE_KEY.match(str(k)):
                continue  # a key the json generator's paths cannot name
            _walk(v, f"{path}.{k}" if path else str(k), out, depth + 1)
    elif isinstance(node, list):
        for v in node[:50]:
            _walk(v, f"{path}[*]", out, depth + 1)
    elif isinstance(node, (str, int, float)) and not isinstance(node, bool) and path:
        bucket = out.setdefault(path, [])
        if len(bucket) < 1000:
            bucket.append(str(node))
