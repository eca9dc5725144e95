"""A gazetteer of given names and family names, built from Faker's person providers for
many locales (Faker is a dependency already), and the name finder that uses it.

The small spaCy model calls many people ORG ("Scott is very reliable") and misses names it
has not seen; a name list catches the common ones and relabels such NER spans.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import cache

from dbclone.transform.text.recognizers import Span

_LOCALES = (
    "en_US", "en_GB", "en_IE", "en_IN", "en_NZ", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CH",
    "es_ES", "es_MX", "es_AR", "es_CO", "es_CL", "it_IT", "pt_PT", "pt_BR", "nl_NL", "nl_BE",
    "sv_SE", "no_NO", "da_DK", "fi_FI", "pl_PL", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "hr_HR",
    "sl_SI", "el_GR", "ru_RU", "uk_UA", "tr_TR", "et_EE", "lv_LV", "lt_LT", "is_IS", "bg_BG",
    "ja_JP", "zh_CN", "ko_KR", "hi_IN", "ar_AA", "he_IL", "fa_IR", "id_ID", "vi_VN", "th_TH",
    "zu_ZA", "ka_GE", "hy_AM", "az_AZ")
# first names that are also everyday words: never a name on their own
_COMMON = frozenset([
    "will", "may", "can", "mark", "grace", "hope", "joy", "faith", "june", "april", "august",
    "summer", "autumn", "winter", "rose", "lily", "iris", "ivy", "holly", "daisy", "violet",
    "ruby", "amber", "pearl", "crystal", "dawn", "eve", "sunny", "star", "rich", "bill", "art",
    "page", "case", "rock", "stone", "river", "ray", "guy", "hunter", "chase", "miles", "major",
    "king", "lane", "wood", "green", "brown", "black", "white", "gray", "grey", "young", "long",
    "short", "little", "hall", "street", "park", "field", "doctor", "nurse", "patient", "sage",
    "penny", "bob", "jack", "job", "frank", "earl", "duke", "prince", "baron", "christian",
    "justice", "trinity", "destiny", "harmony", "melody", "autumn", "sky", "storm", "cash",
    "gene", "dean", "sterling", "honey", "precious", "sandy", "rusty", "buck", "love", "day",
    "carry", "english", "german", "french", "spanish", "italian", "dutch", "polish", "swedish",
    "danish", "russian", "american", "british", "irish", "scottish", "welsh", "karma", "lucid",
    "power", "credit", "clean", "major", "general", "happy"
])
_TITLES = frozenset([
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "dame", "lady", "lord", "rev",
    "fr", "sr", "sra", "herr", "frau", "mme", "mlle", "doctor", "nurse", "captain", "capt",
    "judge", "officer"
])
_PARTICLES = frozenset([
    "van", "von", "der", "den", "de", "da", "del", "della", "di", "du", "la", "le", "ten", "ter",
    "bin", "al", "el", "y"
])


def _names(v: object) -> list[str]:
    if isinstance(v, dict):
        v = list(v)
    if isinstance(v, (tuple, list, set, frozenset)):
        return [x.lower() for x in v if isinstance(x, str)]
    return []


@cache
def gazetteer() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), lower case."""
    first: set[str] = set()
    last: set[str] = set()
    for loc in _LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        except (ImportError, AttributeError):
            continue
        for attr, value in vars(provider).items():
            if "first_name" in attr or "first_romanized" in attr:
                first.update(_names(value))
            elif "last_name" in attr or "last_romanized" in attr:
                last.update(_names(value))
    return frozenset(first - _COMMON), frozenset(last - _COMMON)


_WORD = re.compile(r"[^\W\d_][\w'’\-]*\.?")


def _cap(w: str) -> bool:
    return w[:1].isupper()


def _sentence_start(text: str, pos: int) -> bool:
    before = text[max(0, pos - 3):pos].rstrip(" \t\"'(>")
    return not before or before[-1] in ".!?:\n"


def find_names(text: str, stop: frozenset[str]) -> Iterator[Span]:
    """Runs of name-like words whose first word is a known given name (or, for two and
    more words, whose last word is a known family name)."""
    first, last = gazetteer()
    if not any(c.isupper() for c in text):
        # an all-lower-case document ("selma is from stillwater"): read every word as if
        # capitalised; the name lists and stop words still decide (same length, so offsets
        # hold)
        text = re.sub(r"(?<![\w'’])[^\W\d_]", lambda m: m.group().upper(), text)
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        w = words[i].group().rstrip(".")
        low = w.lower()
        if low in stop or (low not in first and low not in last):
            i += 1
            continue
        # extend over capitalised words, initials and particles on the same line
        j = i
        lower_run = w.islower()
        while j + 1 < len(words):
            nxt = words[j + 1]
            gap = text[words[j].end():nxt.start()]
            if gap not in (" ", "  ") or "\n" in gap:
                break
            nw = nxt.group().rstrip(".")
            nlow = nw.lower()
            if len(nw) == 1 and (nw.isupper() or lower_run):
                j += 1  # a middle initial: "Martim A Pereira", "emidio p lombardo"
                continue
            if nlow in stop and nlow not in _PARTICLES:
                break
            if lower_run:
                if not (nw.islower() and nlow in last):
                    break
            elif not (_cap(nw) or nlow in _PARTICLES):
                break
            j += 1
        run = [m.group().rstrip(".") for m in words[i:j + 1]]
        while len(run) > 1 and (run[-1].lower() in _PARTICLES or len(run[-1]) == 1):
            run.pop()
            j -= 1
        s, e = words[i].start(), words[j].end()
        # a given name we do not know before a family name we do: "Dobrosław Tomaszewski"
        if not lower_run and i > 0 and low in last and low not in first:
            prev = words[i - 1]
            pw = prev.group().rstrip(".")
            if text[prev.end():s] == " " and _cap(pw) and not pw.isupper() and \
                    pw.lower() not in stop and len(pw) > 1 and pw.lower() not in _TITLES:
                s = prev.start()
                run.insert(0, pw)
        if text[e - 1] == "." and len(run[-1]) > 1:
            e -= 1
        n = len(run)
        if lower_run:
            # lower case only as a given name + family name pair: "eva kleist"
            score = 0.55 if n >= 2 and low in first else 0.0
        elif not _cap(w) or (w.isupper() and n == 1):
            score = 0.0
        elif n >= 2 and (low in first or run[-1].lower() in last):
            score = 0.7
        elif low in first:
            score = 0.4 if _sentence_start(text, s) else 0.55
        else:  # a lone family name, mid-sentence
            score = 0.0 if _sentence_start(text, s) else 0.4
        if score:
            yield Span(s, e, "PERSON", score, "name_list")
        i = j + 1


_HEAD_LINE = re.compile(r"\A[\s>]*(?P<name>[^\W\d_][\w'’\-]+(?:[ ][^\W\d_]\.?)?"
                        r"(?:[ ][^\W\d_][\w'’\-]+){1,2})[ \t]*\n")


def find_head_name(text: str, stop: frozenset[str]) -> Iterator[Span]:
    """A letter head or signature: a document whose first line is two or three capitalised
    words and nothing else ("Maureen Thibault\n\n41086 Kiannonkatu 98 ...")."""
    m = _HEAD_LINE.match(text)
    if m is None:
        return
    words = m.group("name").split()
    from dbclone.transform.text.recognizers import ORG_WORDS

    if all(w[0].isupper() and not w.isupper() and w.lower() not in stop
           and w.lower() not in ORG_WORDS for w in words):
        yield Span(m.start("name"), m.end("name"), "PERSON", 0.5, "head_name")


def looks_like_person(span_text: str, label: str = "ORGANIZATION") -> bool:
    """An NER ORG/LOCATION span that is more likely a person: 1-3 words, the first a known
    given name, or two words ending in a known family name."""
    first, last = gazetteer()
    words = [w.strip(".,") for w in span_text.split()]
    if not 1 <= len(words) <= 3 or not all(w[:1].isupper() for w in words if w):
        return False
    if words[0].lower() in first:
        return True
    if len(words) >= 2 and words[-1].lower() in last and words[0].lower() not in _COMMON:
        return True
    # "Tomomi Nishiyama" (ORG to the small model): two or three capitalised words, none
    # of them a company word, read as a person
    from dbclone.transform.text.recognizers import ORG_WORDS

    return label == "ORGANIZATION" and len(words) >= 2 and not any(
        w.lower() in ORG_WORDS or w.isupper() for w in words)
