"""What one value looks like: an e-mail, a phone number, a card number (Luhn), an IBAN
(mod-97), an IP... and which of these a piece of free text contains.

Pure functions of one string, compiled once. They answer with a kind name, never with the
value or a part of it.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache

from dbclone.gate.names import HONORIFICS, NOT_PERSON_WORDS, is_family, is_given, wordset

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_EMAIL_IN = re.compile(r"(?<![\w.%+'-])[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
                       r"\.[A-Za-z]{2,}(?![\w-])")
_SSN = re.compile(r"^(?!000|666)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
_SSN_IN = re.compile(r"(?<![\w-])(?!000|666)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])")
_CARD = re.compile(r"^(?:\d[ -]?){12,18}\d$")
_CARD_IN = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}$")
_IBAN_IN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![\w])")
_IPV4_IN = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}"
                      r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])")
_MAC = re.compile(r"^(?:[0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]+(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?$", re.I)
_PHONE_IN = re.compile(r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
                       r"\d{3,4}[ .-]?\d{3,4}(?![\w-])")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")
_DECIMAL = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")

# Street types as they end an address ("12 Elm Street", "Bellerine Street", "47 MySakila
# Drive", "1037 Stehr Park"): the USPS suffixes Faker also uses, with common abbreviations.
STREET_SUFFIXES = wordset("""
    alley aly annex arcade avenue ave av bayou beach bend bluff bluffs bottom boulevard blvd
    branch bridge brook brooks burg burgs bypass camp canyon cape causeway center centers
    circle cir circles cliff cliffs club common commons corner corners course court ct courts
    cove coves creek crescent cres crest crossing crossroad curve dale dam divide drive dr
    drives estate estates expressway extension extensions fall falls ferry field fields flat
    flats ford fords forest forge forges fork forks fort freeway fwy garden gardens gateway
    glen glens green greens grove groves harbor harbors haven heights highway hwy hill hills
    hollow inlet island islands isle junction junctions key keys knoll knolls lake lakes land
    landing lane ln light lights loaf lock locks lodge loop mall manor manors meadow meadows
    mews mill mills mission motorway mount mountain mountains neck orchard oval overpass park
    parks parkway pkwy parkways pass passage path pike pine pines place pl plain plains plaza
    point points port ports prairie radial ramp ranch rapid rapids rest ridge ridges river road
    rd roads route row rue run shoal shoals shore shores skyway spring springs spur spurs
    square sq squares station stravenue stream street st streets summit terrace ter
    throughway trace track trafficway trail trl trailer tunnel turnpike underpass union unions
    valley valleys via viaduct view views village villages ville vista walk walks wall way ways
    well wells close gate grange parade esplanade promenade wynd
    """)
_STREET_PREFIXES = ("rue", "via", "calle", "avenida", "rua", "chemin", "piazza", "plaza",
                    "viale", "carrer", "ulica", "ul")
# \b: a match that starts inside a word implies one at its start, and without it search()
# tried every start with every split of the word (56 us on a 32-character hex token).
_COMPOUND_STREET = re.compile(r"\b\w+(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|ring|"
                              r"gracht|laan|straat|vej|gatan|gata|veien)\s*\d+\s*[a-z]?$", re.I)
_UNIT = re.compile(r"[,\s]+(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|bldg|"
                   r"building|#|no\.?)\s*\.?\s*[\w-]+$", re.I)
_HOUSE_NUMBER = re.compile(r"^\d{1,6}[a-zA-Z]?(?:[-/]\d{1,5})?,?\s+")

# Leading digits of card networks: Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37,
# Discover 6011/644-649/65, JCB 35, Diners 300-305/36/38, UnionPay 62.
_CARD_PREFIX = re.compile(r"^(?:4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|"
                          r"6011|64[4-9]|65|35|30[0-5]|36|38|62)")


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


def is_card(text: str) -> bool:
    digits = re.sub(r"[ -]", "", text)
    return (13 <= len(digits) <= 19 and digits.isdigit() and _CARD_PREFIX.match(digits)
            is not None and luhn_ok(digits) and len(set(digits)) > 2)


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def is_ip(text: str) -> bool:
    s = text.strip()
    if "/" in s:
        s = s.split("/", 1)[0]
    if s.count(".") != 3 and ":" not in s:
        return False
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def phone_shape(text: str) -> str | None:
    """'formatted' for 03 4215 0000, (555) 010-0142, +44 20 7946 0018; 'digits' for a bare run
    of 7 to 15 digits (a phone only if the column name says so); None otherwise."""
    s = text.strip()
    if not _PHONE_CHARS.match(s) or _DATE.match(s) or (_DECIMAL.match(s) and "." in s):
        return None
    main = re.split(r"(?i)\s*(?:x|ext\.?|#)\s*\d", s, maxsplit=1)[0]
    digits = sum(ch.isdigit() for ch in main)
    if not 7 <= digits <= 15:
        return None
    if main.isdigit():
        return "digits"
    groups = [g for g in re.split(r"[\s().+-]+", main) if g]
    if not 2 <= len(groups) <= 6 or not all(g.isdigit() for g in groups):
        return None
    if _SSN.match(main):
        return None
    return "formatted"


def street_shape(text: str) -> str | None:
    """'numbered' for '12 Elm Street', 'Hauptstraße 5', '250 Morar Fork Apt 66'; 'named' for
    'Bellerine Street' (a street type but no number); None otherwise."""
    s = _UNIT.sub("", text.strip())
    if not s or len(s) > 120 or "@" in s:
        return None
    if _COMPOUND_STREET.search(s):
        return "numbered"
    numbered = _HOUSE_NUMBER.match(s) is not None
    rest = _HOUSE_NUMBER.sub("", s) if numbered else s
    words = [w.strip(".,").casefold() for w in rest.split()]
    if not words or len(words) > 7 or not any(ch.isalpha() for ch in rest):
        return None
    if words[0] in _STREET_PREFIXES and len(words) >= 2:
        return "numbered" if numbered or any(w.isdigit() for w in words) else "named"
    if words[-1] in STREET_SUFFIXES and (numbered or len(words) >= 2):
        return "numbered" if numbered else "named"
    return None


def name_words(text: str) -> list[str]:
    """The words of a name with appended digits dropped ('Ted955 Reilly981' -> Ted, Reilly)
    and honorifics removed."""
    words = _WORD.findall(text)
    return [w for w in words if w.casefold().rstrip(".") not in HONORIFICS]


def person_name_shape(text: str, *, strict: bool) -> bool:
    """A full person name: 2-4 words, no organisation words; ``strict`` wants a known given
    name and a known family name, otherwise a known given name first (or family name first
    in 'Last, First') with the rest name-shaped."""
    s = text.strip()
    if not s or len(s) > 60 or any(ch in s for ch in "@/\\:;[]{}<>=#%&*+_|"):
        return False
    if "," in s:
        last, _, first = s.partition(",")
        s = f"{first} {last}"
    words = name_words(s)
    if not 2 <= len(words) <= 4 or len(s.split()) > 6:
        return False
    low = [w.casefold() for w in words]
    if any(w in NOT_PERSON_WORDS for w in low):
        return False
    first_ok = is_given(low[0])
    last_ok = is_family(low[-1])
    if strict:
        return first_ok and last_ok
    return first_ok and all(w[:1].isupper() for w in words)


def value_kind(value: str) -> str | None:
    """The kind of a whole value, or None: email, ssn, credit_card, iban, ip, mac, phone,
    street_address, street_named, full_name, uuid."""
    s = value.strip()
    if not s or len(s) > 256:
        return None
    if "@" in s:
        return "email" if EMAIL.match(s) else None
    if _SSN.match(s):
        return "ssn"
    if _UUID.match(s):
        return "uuid"
    if _MAC.match(s):
        return "mac"
    if is_ip(s):
        return "ip"
    if _CARD.match(s) and is_card(s):
        return "credit_card"
    if _IBAN.match(s.upper()) and s[:2].isalpha() and iban_ok(s):
        return "iban"
    phone = phone_shape(s)
    if phone == "formatted":
        return "phone"
    street = street_shape(s)
    if street == "numbered":
        return "street_address"
    if person_name_shape(s, strict=True):
        return "full_name"
    if street == "named":
        return "street_named"
    return None


# -- free text -------------------------------------------------------------------------------

_CAPITALIZED_PAIR = re.compile(r"\b([A-Z][a-z]+(?:['\u2019-][A-Z]?[a-z]+)?)\d*\s+"
                               r"([A-Z][a-z]+(?:['\u2019-][A-Z]?[a-z]+)?)\d*\b")


def text_kinds(text: str) -> set[str]:
    """The kinds of personal data found inside free text: email, ssn, credit_card, iban, ip,
    phone, full_name. A name counts when a known given name is followed by a known family
    name, both capitalised (so 'a Mad Scientist' is not a name, 'Orla Venn' is)."""
    found: set[str] = set()
    if "@" in text and _EMAIL_IN.search(text):
        found.add("email")
    if _SSN_IN.search(text):
        found.add("ssn")
    if any(is_card(m.group(0)) for m in _CARD_IN.finditer(text)):
        found.add("credit_card")
    if any(iban_ok(m.group(0)) for m in _IBAN_IN.finditer(text)):
        found.add("iban")
    if _IPV4_IN.search(text):
        found.add("ip")
    if any(phone_shape(m.group(0)) == "formatted" for m in _PHONE_IN.finditer(text)):
        found.add("phone")
    for m in _CAPITALIZED_PAIR.finditer(text):
        first, last = m.group(1).casefold(), m.group(2).casefold()
        if first in NOT_PERSON_WORDS or last in NOT_PERSON_WORDS:
            continue
        if is_given(first) and is_family(last) and _not_common_word(first, last):
            found.add("full_name")
            break
    return found


@cache
def _common_words() -> frozenset[str]:
    # Capitalised sentence starts and title words that are also names somewhere ("May",
    # "Will", "Grant", "Mark"); a pair made only of these is too weak to call a person.
    return wordset("""
        a an and are as at be but by can do for from had has have he her his i if in is it
        its may might must no not of on or our she so than that the their them then there
        these they this to under up was we were what when which who will with would you your
        new old good great grant mark bill will may june april august summer winter autumn
        spring hope faith joy rose lily king queen prince young long short white black green
        brown gray grey red hill wood field lane street park price cash bank page major
        """)


def _not_common_word(first: str, last: str) -> bool:
    common = _common_words()
    return not (first in common and last in common)


def is_date_text(value: str) -> bool:
    return _DATE.match(value.strip()) is not None


def words(text: str) -> list[str]:
    return _WORD.findall(text)
