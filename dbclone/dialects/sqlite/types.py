"""SQLite's type affinity rules (https://sqlite.org/datatype3.html#determination_of_column_affinity)
and the coarser :class:`TypeCategory` that generators declare they accept."""

from __future__ import annotations

import re
from enum import StrEnum

from dbclone.introspect.snapshot import TypeCategory


class Affinity(StrEnum):
    INTEGER = "INTEGER"
    TEXT = "TEXT"
    BLOB = "BLOB"
    REAL = "REAL"
    NUMERIC = "NUMERIC"


def affinity(declared: str) -> Affinity:
    """The five rules, in SQLite's order (so "CHARINT" is INTEGER, as SQLite says)."""
    t = declared.upper()
    if "INT" in t:
        return Affinity.INTEGER
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return Affinity.TEXT
    if "BLOB" in t or not t.strip():
        return Affinity.BLOB
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return Affinity.REAL
    return Affinity.NUMERIC


# Declared names that say more than their affinity does: "DATE" has NUMERIC affinity but
# holds dates, and a date generator should be allowed on it.
_BY_NAME = {
    "DATE": TypeCategory.DATE,
    "DATETIME": TypeCategory.TIMESTAMP,
    "TIMESTAMP": TypeCategory.TIMESTAMP,
    "TIMESTAMPTZ": TypeCategory.TIMESTAMP,
    "TIME": TypeCategory.TIME,
    "BOOLEAN": TypeCategory.BOOLEAN,
    "BOOL": TypeCategory.BOOLEAN,
    "UUID": TypeCategory.UUID,
    "GUID": TypeCategory.UUID,
    "JSON": TypeCategory.JSON,
    "JSONB": TypeCategory.JSON,
}

_BY_AFFINITY = {
    Affinity.INTEGER: TypeCategory.INTEGER,
    Affinity.TEXT: TypeCategory.TEXT,
    Affinity.REAL: TypeCategory.NUMERIC,
    Affinity.NUMERIC: TypeCategory.NUMERIC,
}

_BASE_NAME = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)")
_ONE_ARG = re.compile(r"\(\s*(\d+)\s*\)")
_TWO_ARGS = re.compile(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)")


def category(declared: str) -> TypeCategory:
    m = _BASE_NAME.match(declared)
    if m and m.group(1).upper() in _BY_NAME:
        return _BY_NAME[m.group(1).upper()]
    aff = affinity(declared)
    if aff is Affinity.BLOB:
        # a column with no declared type holds anything; one declared BLOB holds bytes
        return TypeCategory.BINARY if declared.strip() else TypeCategory.OTHER
    return _BY_AFFINITY[aff]


def size_of(declared: str, cat: TypeCategory) -> tuple[int | None, int | None, int | None]:
    """(max_length, precision, scale) as declared. SQLite enforces none of them, but they
    state the intent, and masked values should respect it like any other database's."""
    if cat is TypeCategory.TEXT:
        m = _ONE_ARG.search(declared)
        return (int(m.group(1)) if m else None), None, None
    if cat is TypeCategory.NUMERIC:
        m2 = _TWO_ARGS.search(declared)
        if m2:
            return None, int(m2.group(1)), int(m2.group(2))
        m = _ONE_ARG.search(declared)
        return None, (int(m.group(1)) if m else None), None
    return None, None, None


_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_REAL_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def from_text(text: str, aff: Affinity) -> int | float | str:
    """A masked value (canonical text) back in the storage class its column prefers, where it
    parses exactly; otherwise the text, as SQLite itself would keep it."""
    if aff in (Affinity.INTEGER, Affinity.NUMERIC) and _INT_TEXT.fullmatch(text):
        n = int(text)
        if -(2**63) <= n < 2**63:
            return n
    if aff in (Affinity.INTEGER, Affinity.REAL, Affinity.NUMERIC) and _REAL_TEXT.fullmatch(text):
        return float(text)
    return text
