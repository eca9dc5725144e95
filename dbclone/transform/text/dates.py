"""Dates in text: finding them in common numeric and written forms, and shifting them by a
number of days while keeping their written form (separators, padding, month names, case)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbclone.transform.text.recognizers import Span

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+\-]\d{2}:?\d{2})?)?"

_ISO = re.compile(rf"(?<![\d\-/.])(?P<y>\d{{4}})(?P<s>[\-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})"
                  rf"(?P<t>{_TIME})(?![\d]|[\-/.]\d)")
_NUMERIC = re.compile(rf"(?<![\d\-/.])(?P<a>\d{{1,2}})(?P<s>[/.\-])(?P<b>\d{{1,2}})(?P=s)"
                      rf"(?P<y>\d{{4}}|\d{{2}})(?P<t>{_TIME})(?![\d]|[\-/.]\d)")
_MDY = re.compile(rf"(?i)\b(?P<mon>{_MONTH})(?P<dot>\.?)(?P<sp>[ ]+)(?P<d>\d{{1,2}})"
                  rf"(?P<ord>st|nd|rd|th)?"
                  rf"(?:(?P<c>,?[ ]+)(?P<y>\d{{4}}))?(?![\w])")
_DMY = re.compile(rf"(?i)(?<![\w])(?P<d>\d{{1,2}})(?P<ord>st|nd|rd|th)?(?P<of>[ ]+of)?[ ]+"
                  rf"(?P<mon>{_MONTH})(?P<dot>\.?)(?:(?P<c>,?[ ]+)(?P<y>\d{{4}}))?(?![\w])")
_MY = re.compile(rf"(?i)\b(?P<mon>{_MONTH})(?P<dot>\.?)(?P<c>,?[ ]+)(?P<y>\d{{4}})(?![\w])")
_WEEKDAY = re.compile(r"(?i)\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
_YEAR = re.compile(r"(?<![\w$£€.,\-/])(?P<y>(?:19|20)\d{2})(?:'?s)?(?![\w%]|[.,]\d|-\d|/\d)")
_YEAR_CONTEXT = re.compile(
    r"(?i)(?:\b(?:in|since|during|of|from|until|till|to|by|year|born|circa|before|after|"
    r"around|early|late|mid|a|an|the|and|or|between|spring|summer|autumn|fall|winter|"
    r"january|february|march|april|may|june|july|august|september|october|november|"
    r"december)|[(,])[ ]*$")
_UNIT_AFTER = re.compile(r"(?i)[ ]?(?:mg|mcg|ml|g|kg|mm|cm|m|km|iu|units?|cc|kcal|cal|"
                         r"mmol|mol|x|times|patients|people|cases|beds|steps)\b")


def _valid(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _year4(y: str) -> int:
    n = int(y)
    if len(y) == 2:
        n += 2000 if n < 50 else 1900
    return n


def numeric_order(a: int, b: int, date_order: str) -> tuple[int, int] | None:
    """(month, day) of 'a/b' under the preferred order, or the other order when only that
    one is a real date."""
    first = (a, b) if date_order == "mdy" else (b, a)
    second = (first[1], first[0])
    for m, d in (first, second):
        if 1 <= m <= 12 and 1 <= d <= 31:
            return m, d
    return None


def _order(sep: str, date_order: str) -> str:
    # 12.10.2021 is written day-first wherever dots are used
    return "dmy" if sep == "." else date_order


def _month_index(name: str) -> int:
    low = name.lower().rstrip(".")
    for i, full in enumerate(MONTHS):
        if full.startswith(low[:3]):
            return i + 1
    raise ValueError(name)


def find_dates(text: str, date_order: str = "mdy") -> Iterator[Span]:
    from dbclone.transform.text.recognizers import Span

    for m in _ISO.finditer(text):
        if _valid(int(m["y"]), int(m["m"]), int(m["d"])):
            yield Span(m.start(), m.end(), "DATE", 0.9, "date")
    for m in _NUMERIC.finditer(text):
        md = numeric_order(int(m["a"]), int(m["b"]), _order(m["s"], date_order))
        if md and _valid(_year4(m["y"]), *md):
            # 1.2.34 and 12-10-21 are weaker than 12/10/2021
            score = 0.85 if len(m["y"]) == 4 or m["s"] == "/" else 0.5
            yield Span(m.start(), m.end(), "DATE", score, "date")
    for rx in (_MDY, _DMY):
        for m in rx.finditer(text):
            if m["mon"].lower() == "may" and m["mon"] != "May" and not m["y"]:
                continue  # "may 3 times": only a capitalised May, or one with a year
            if 1 <= int(m["d"]) <= 31:
                yield Span(m.start(), m.end(), "DATE", 0.85, "date")
    for m in _MY.finditer(text):
        yield Span(m.start(), m.end(), "DATE", 0.8, "date")
    for m in _WEEKDAY.finditer(text):
        yield Span(m.start(), m.end(), "DATE", 0.4, "date")
    for m in _YEAR.finditer(text):
        if _UNIT_AFTER.match(text, m.end()):
            continue
        before = text[max(0, m.start() - 16): m.start()]
        score = 0.45 if _YEAR_CONTEXT.search(before) else 0.25
        yield Span(m.start(), m.end(), "DATE", score, "year")


# --- shifting -------------------------------------------------------------------------------


def _case_like(word: str, model: str) -> str:
    if model.isupper():
        return word.upper()
    if model.islower():
        return word.lower()
    return word[:1].upper() + word[1:].lower()


def _month_word(n: int, model: str) -> str:
    """Month ``n`` written like ``model``: full or abbreviated, same case."""
    core = model.rstrip(".")
    full = MONTHS[n - 1]
    if len(core) == 3:
        word = full[:3]
    elif core.lower() == "sept":
        word = "sept" if n == 9 else full[:3]
    else:
        word = full
    return _case_like(word, core)


def _pad(n: int, like: str) -> str:
    return str(n).zfill(len(like))


def shift_date_text(text: str, days: int, date_order: str = "mdy") -> str | None:
    """``text`` (one date as found) moved by ``days``, in the same written form; None when
    it does not parse."""
    delta = dt.timedelta(days=days)
    try:
        if m := _ISO.fullmatch(text):
            d = dt.date(int(m["y"]), int(m["m"]), int(m["d"])) + delta
            return (f"{d.year:04d}{m['s']}{_pad(d.month, m['m'])}{m['s']}{_pad(d.day, m['d'])}"
                    f"{m['t']}")
        if m := _NUMERIC.fullmatch(text):
            a, b = int(m["a"]), int(m["b"])
            order = _order(m["s"], date_order)
            md = numeric_order(a, b, order)
            if md is None:
                return None
            d = dt.date(_year4(m["y"]), *md) + delta
            y = f"{d.year % 100:02d}" if len(m["y"]) == 2 else f"{d.year:04d}"
            month_first = (md == (a, b)) if a != b else order == "mdy"
            x, z = (d.month, d.day) if month_first else (d.day, d.month)
            return f"{_pad(x, m['a'])}{m['s']}{_pad(z, m['b'])}{m['s']}{y}{m['t']}"
        for rx in (_MDY, _DMY):
            if m := rx.fullmatch(text):
                year = int(m["y"]) if m["y"] else 2001  # any non-leap year keeps Feb 29 out
                d = dt.date(year, _month_index(m["mon"]), int(m["d"])) + delta
                mon = _month_word(d.month, m["mon"]) + m["dot"]
                ordn = _ordinal(d.day, m["ord"]) if m["ord"] else ""
                day = _pad(d.day, m["d"]) + ordn
                tail = f"{m['c']}{d.year}" if m["y"] else ""
                if rx is _MDY:
                    return f"{mon}{m['sp']}{day}{tail}"
                return f"{day}{m['of'] or ''} {mon}{tail}"
        if m := _MY.fullmatch(text):
            d = dt.date(int(m["y"]), _month_index(m["mon"]), 15) + delta
            return f"{_month_word(d.month, m['mon'])}{m['dot']}{m['c']}{d.year}"
        if _WEEKDAY.fullmatch(text):
            i = (WEEKDAYS.index(text.lower()) + days) % 7
            return _case_like(WEEKDAYS[i], text)
        if m := _YEAR.fullmatch(text):
            d = dt.date(int(m["y"]), 7, 1) + delta
            return str(d.year) + text[4:]
    except (ValueError, OverflowError):
        return None
    return None


def _ordinal(n: int, model: str) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return suffix.upper() if model.isupper() else suffix
