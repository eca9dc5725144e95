"""Rule-based street addresses: a street core (house number + street words + suffix, or the
continental "street name + number" forms, PO boxes, military addresses), extended left over a
unit ("flat 3b,") and right over units, city, state, ZIP and country lines. The whole address
is one ADDRESS span (case 31): NER alone tags the house number as a date and only the city
as a place, leaving the street and ZIP in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from dbclone.transform.text import lexicon
from dbclone.transform.text.recognizers import Span

# words that follow a number in a note but never name a street ("3 falls", "5 day course")
_NOT_STREET = frozenset([
    "day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours", "hr",
    "hrs", "minute", "minutes", "min", "mins", "second", "seconds", "time", "times", "mg", "mcg",
    "ml", "g", "kg", "lb", "lbs", "oz", "mm", "cm", "km", "mile", "miles", "tablet", "tablets",
    "tab", "tabs", "pill", "pills", "capsule", "capsules", "dose", "doses", "unit", "units",
    "point", "points", "session", "sessions", "cycle", "cycles", "visit", "visits", "fall",
    "falls", "episode", "episodes", "step", "steps", "flight", "flights", "block", "blocks",
    "cup", "cups", "glass", "glasses", "drink", "drinks", "cigarette", "cigarettes", "pack",
    "packs", "pound", "pounds", "inch", "inches", "foot", "feet", "meter", "meters", "percent",
    "patient", "patients", "people", "person", "persons", "case", "cases", "bed", "beds", "ward",
    "wards", "floor", "floors", "level", "levels", "stage", "stages", "grade", "grades", "type",
    "types", "out", "over"
])

_SP = r"[ \t]+"
_NUM = r"\d{1,6}[A-Za-z]?(?:[\-/]\d{1,4}[A-Za-z]?)?"
_ORD = r"\d{1,3}(?:st|nd|rd|th)"
_ANYW = r"[^\W\d_][\w'’\-]*\.?"


def _alt(words: frozenset[str] | tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@cache
def _patterns(stop: frozenset[str]) -> dict[str, re.Pattern[str]]:
    skip = _alt(stop | _NOT_STREET)
    w = rf"(?!(?:{skip})(?![\w'’\-]))[^\W\d_][\w'’\-]*\.?"
    suffix = rf"(?:{_alt(lexicon.STREET_SUFFIXES)})\.?(?![\w'’\-])"
    endings = _alt(lexicon.STREET_ENDINGS)
    streetword = (rf"(?:(?:[^\W\d_][\w'’\-]*)?(?:{endings})(?![\w'’\-])|"
                  rf"(?:{_alt(lexicon.STREET_WORDS)})(?![\w'’\-]))")
    prefix = rf"(?:{_alt(lexicon.STREET_PREFIXES)})(?![\w'’\-])"
    lead = r"(?<![\w\-/.,:])"
    unit = (rf"(?:{_alt(lexicon.UNIT_WORDS)})(?![^\W\d_])\.?[ \t]*\#?[ \t]*"
            rf"(?:\d[\dA-Za-z\-]{{0,5}}|[A-Za-z]\d{{0,4}})(?![\w])")
    return {
        "us": re.compile(rf"(?i){lead}{_NUM}(?:{_SP}{_NUM})?(?:{_SP}(?:{_ORD}|{w}|\d{{1,5}}))"
                         rf"{{1,4}}{_SP}{suffix}"),
        # the lookahead (a word, then a number) is only a quick necessary condition: it
        # spares the street-word alternation a try at every word of the text
        "eu_word": re.compile(rf"(?i){lead}(?:{_NUM}{_SP})?(?=[^\W\d_][\w'’\-]*\.?[ \t]+\d)"
                              rf"{streetword}\.?{_SP}{_NUM}\.?(?![\w])"),
        "eu_prefix": re.compile(rf"(?i){lead}(?:{_NUM}{_SP})?(?P<pre>{prefix}){_SP}"
                                rf"(?:{_ANYW}{_SP}){{0,4}}{_NUM}(?![\w])"),
        "numcap": re.compile(rf"{lead}\d{{2,6}}{_SP}(?P<words>{_ANYW}(?:{_SP}{_ANYW}){{0,2}})"
                             rf"{_SP}{_NUM}(?![\w])(?![ \t]*(?:mg|mcg|ml|g|kg|%|units?)\b)"),
        "named": re.compile(rf"(?<![\w\-])(?P<words>{_ANYW}(?:{_SP}{_ANYW}){{0,2}}){_SP}"
                            rf"(?P<suf>{_alt(lexicon.STRONG_SUFFIXES)})\.?(?![\w'’\-])", re.I),
        "military": re.compile(
            r"(?i)(?<![\w])(?:(?:PSC|CMR|Unit)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{3,5}|"
            r"(?:USNS|USNV|USS|USCGC)[ \t]+[^\W\d_][\w]+(?:[ \t]+[^\W\d_][\w]+)?"
            r"(?=[ \t]*\n?[ \t]*[ADF]PO\b))"
            r"(?:[ \t]*\n?[ \t]*[ADF]PO[ \t]+A[AEP][ \t]+\d{5})?"),
        # after a place cue: "is on Pod Floriánem 1677", "at Nieuwe Baan 473"
        "cued": re.compile(rf"(?i)\b(?:at|on|to|address(?:[ \t]+is)?:?|lives[ \t]+at)[ \t]+"
                           rf"(?P<addr>(?-i:[^\W\d_a-z][^\W\d_]*(?:['’\-][^\W\d_]+)*)"
                           rf"(?:{_SP}(?-i:[^\W\d_a-z][^\W\d_]*(?:['’\-][^\W\d_]+)*)){{1,3}}"
                           rf"{_SP}\d{{1,5}}[A-Za-z]?)(?![\w])"),
        "pobox": re.compile(rf"(?i)(?<![\w])(?:\d{{1,6}}{_SP})?P\.?[ \t]?O\.?[ \t]*Box[ \t]+"
                            rf"\d{{1,6}}"
                            rf"(?:{_SP}{w}(?:{_SP}{w}){{0,2}}{_SP}{suffix})?"),
        "tail": re.compile(rf"(?i){_SP}(?:{w}{_SP}){{0,3}}{suffix}"),
        "unit": re.compile(rf"(?i)(?:[ \t]*,[ \t]*|[ \t]*\n[ \t>?]*|{_SP})?{unit}"),
        "num_before": re.compile(rf"(?<![\w\-/.,:])\d{{1,6}}{_SP}$"),
        "unit_before": re.compile(rf"(?i)(?<![\w]){unit}[ \t]*,?[ \t]*$"),
        "corner_before": re.compile(r"(?i)(?<![\w])(?:the[ \t]+)?corner[ \t]+of[ \t]+$"),
        "corner_after": re.compile(rf"(?i){_SP}and{_SP}{w}(?:{_SP}{w}){{0,3}}"),
        # a comma or line break; quoted lines keep their "> " marks
        "sep": re.compile(r"[ \t]*(?:,[ \t]*(?:\n[ \t>?]*)*|\n[ \t>?]*(?:,[ \t]*)?"
                          r"(?:\n[ \t>?]*)*)"),
        # a line of its own: never the start of the phone number on the next line
        "state_zip": re.compile(r"[A-Za-z]{2,3}\.?[ \t]+(?:\d{4,5}(?:-\d{3,4})?|\d{2}-\d{3})"
                                r"(?![\w])(?![ \t]*[\d\-(+])"),
        "zip": re.compile(r"(?:\d{4,5}(?:-\d{3,4})?|\d{2}-\d{3}|\d{3}[ ]\d{2}|"
                          r"[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]\d[A-Z][ ]\d[A-Z]\d)"
                          r"(?![\w])(?![ \t]*[\d\-(+.])"),
        "state": re.compile(r"(?:[A-Z]{2,3}|nan|\d{2})(?![\w])(?![ \t]*[\d\-(+.])"),
        "place": re.compile(rf"{_ANYW}(?:{_SP}{_ANYW}){{0,3}}(?:{_SP}(?:\d{{4,5}}(?:-\d{{3,4}})?))?"
                            rf"(?![\w])"),
        "prefix_tail": re.compile(rf"(?:{_SP}{_ANYW}){{1,4}}"),
        "and_before": re.compile(rf"(?<![\w])({_ANYW}){_SP}and{_SP}$"),
        "word_before": re.compile(rf"(?<![\w])({_ANYW}){_SP}$"),
        "cue": re.compile(r"(?i)\b(?:address|addresses|lives|live|lived|living|resides|reside|"
                          r"moved|located|deliver|delivered|sent|send|ship|mail|visit|at|to|"
                          r"on)\b[\s:]*$"),
    }


_MONTHS = frozenset([
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday"
])


def _caps(words: str, stop: frozenset[str]) -> bool:
    for word in words.split():
        core = word.strip(".,'’")
        if not core or not core[0].isupper() or core.lower() in stop or \
                core.lower() in _MONTHS or core.lower() in _NOT_STREET:
            return False
    return True


def find_address(text: str, stop: frozenset[str]) -> Iterator[Span]:
    p = _patterns(stop)
    seen: list[tuple[int, int]] = []
    for kind, score in (("military", 0.9), ("pobox", 0.85), ("us", 0.8), ("eu_word", 0.7),
                        ("eu_prefix", 0.7), ("numcap", 0.6), ("named", 0.5), ("cued", 0.5)):
        for m in p[kind].finditer(text):
            s, e = m.span("addr") if kind == "cued" else m.span()
            if kind == "cued" and not _caps(m["addr"].rsplit(None, 1)[0], stop):
                continue
            if kind == "numcap" and not _caps(m["words"], stop):
                continue
            if kind == "named":
                # "walk to the park": only capitalised street names; "on Marina Fort Street"
                # loses its leading small words
                if not _caps(m["suf"], stop):
                    continue
                words = m["words"].split()
                while words and not _caps(words[0], stop):
                    words.pop(0)
                if not words or not _caps(" ".join(words), stop):
                    continue
                s = e - len(m["suf"]) - 1
                s = text.rfind(words[0], m.start(), s)
            if kind == "eu_prefix" and m["pre"].lower().rstrip(".") in (
                    "via", "place", "plaza", "boulevard", "route", "al", "av", "bd") and \
                    not m["pre"][0].isupper():
                continue
            if any(a <= s and e <= b for a, b in seen):
                continue
            s, e = _extend(text, s, e, kind, p, stop)
            seen.append((s, e))
            cue = p["cue"].search(text, max(0, s - 24), s)
            yield Span(s, e, "ADDRESS", min(1.0, score + (0.1 if cue else 0.0)), "address")


_PARTICLES = frozenset([
    "de", "du", "da", "do", "des", "del", "della", "di", "la", "le", "las", "los", "van", "von",
    "der", "den", "al", "el", "y", "e", "et"
])
_PREFIX_SUFFIXES = frozenset(["rue", "avenue", "via", "boulevard", "calle"])


def _place_ok(seg: str, lower: bool, stop: frozenset[str]) -> bool:
    words = seg.split()
    if not words:
        return False
    head = " ".join(w for w in words if not w.isdigit()).lower()
    if head in lexicon.COUNTRIES:
        return True
    if words[0].lower() in stop or words[0].lower().rstrip(".") in lexicon.UNIT_WORDS:
        return False
    for i, w in enumerate(words):
        if w[0].isupper() or w[0].isdigit() or (lower and w.islower()):
            continue
        if i and w.lower() in _PARTICLES:
            continue
        return False
    return True


def _place_end(text: str, at: int, p: dict[str, re.Pattern[str]], lower: bool,
               stop: frozenset[str]) -> int:
    """Where a city/country line starting at ``at`` ends (0: none): its longest run of
    words that reads as a place ("Tunisia" of "Tunisia last night")."""
    seg = p["place"].match(text, at)
    if seg is None:
        return 0
    words = list(re.finditer(r"\S+", seg.group()))
    for n in range(len(words), 0, -1):
        part = seg.group()[: words[n - 1].end()]
        if _place_ok(part, lower, stop):
            return at + len(part)
    return 0


def _extend(text: str, s: int, e: int, kind: str, p: dict[str, re.Pattern[str]],
            stop: frozenset[str]) -> tuple[int, int]:
    lower = text[s:e] == text[s:e].lower()
    core_start = s
    # left: a unit ("flat 3b, 17 quarry row"), "the corner of"; before a continental street
    # that starts with its name: a capitalised word ("Brucker Bundesstrasse 31") or "X and"
    unit_seen = False
    for _ in range(4):
        before = text[max(0, s - 40): s]
        m = p["unit_before"].search(before) or p["corner_before"].search(before)
        if m:
            s -= len(before) - m.start()
            unit_seen = True
            continue
        if not unit_seen and kind in ("eu_word", "eu_prefix", "cued") and text[s].isalpha():
            m = p["and_before"].search(before)
            if m and m.group(1)[:1].isupper():
                s -= len(before) - m.start()
                continue
            m = p["word_before"].search(before)
            if m and _caps(m.group(1), stop) and s - core_start > -30:
                s -= len(before) - m.start()
                continue
            m = p["num_before"].search(before)
            if m:
                s -= len(before) - m.start()
                break
        break
    corner = bool(re.match(r"(?i)(?:the[ \t]+)?corner", text[s:e]))
    last_word = text[s:e].split()[-1].lower().rstrip(".")
    if kind == "us" and last_word in _PREFIX_SUFFIXES:
        # "31 Rue Al Imam Al Bakri", "63 Avenue du Golf Arabe": the name follows
        if m := p["prefix_tail"].match(text, e):
            words = m.group().split()
            keep = 0
            for w in words:
                low = w.lower().rstrip(".")
                if low in lexicon.UNIT_WORDS or (low in stop and low not in _PARTICLES):
                    break
                if not (w[0].isupper() or low in _PARTICLES or (lower and w.islower())):
                    break
                keep += 1
            while keep and words[keep - 1].lower() in _PARTICLES:
                keep -= 1
            if keep:
                e = text.index(words[keep - 1], e) + len(words[keep - 1])
    m = p["tail"].match(text, e)
    if m and kind not in ("us", "named"):
        e = m.end()
    if corner and (m := p["corner_after"].match(text, e)):
        e = m.end()
    # right: units and up to six comma/newline separated lines of city, state, ZIP, country;
    # after a unit also a place on the same line ("Suite 503 Armenomonastiro Cyprus")
    after_unit = False
    for _ in range(8):
        if m := p["unit"].match(text, e):
            e = m.end()
            after_unit = True
            continue
        sep = p["sep"].match(text, e)
        if sep is None or sep.end() == e:
            if after_unit and (m := re.compile(r"[ \t]+").match(text, e)):
                end = _place_end(text, m.end(), p, lower, stop)
                if end:
                    e = end
                    after_unit = False
                    continue
            break
        after_unit = False
        at = sep.end()
        seg = (p["state_zip"].match(text, at) or p["zip"].match(text, at)
               or p["state"].match(text, at))
        if seg is not None:
            e = seg.end()
            continue
        end = _place_end(text, at, p, lower, stop)
        if not end:
            break
        e = end
    while e > s and text[e - 1] in " \t\n,>?":
        e -= 1
    return s, e
