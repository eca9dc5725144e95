"""Server messages made safe to show: no row values, no DETAIL or CONTEXT lines.

PostgreSQL puts values in DETAIL ("Key (email)=(x) already exists", "Failing row contains
(...)"), in CONTEXT ('COPY t, line 3, column c: "x"'), and in some primary messages of the
data-exception class ('invalid input syntax for type integer: "x"'). We keep the primary
message, cut a trailing quoted value, and add where it happened (table, line, column).
"""

from __future__ import annotations

import re

import psycopg

_QUOTED_TAIL = re.compile(r':\s*".*"\s*$', re.DOTALL)
_KEY_VALUES = re.compile(r"\(([^()]*)\)=\(.*?\)(?=\s|$|\.)")
_COPY_CONTEXT = re.compile(r"^COPY (?P<table>.+?), line (?P<line>\d+)"
                           r"(?:, column (?P<column>.+?)(?::|$))?")


def scrub(text: str) -> str:
    """Strip values from one message line (a primary message or a client's ERROR line)."""
    text = text.strip().splitlines()[0] if text.strip() else ""
    text = _QUOTED_TAIL.sub("", text)
    text = _KEY_VALUES.sub(r"(\1)=(…)", text)
    return text[:300]


def safe_message(exc: BaseException) -> str:
    if not isinstance(exc, psycopg.Error):
        return exc.__class__.__name__
    diag = exc.diag
    primary = diag.message_primary
    if not primary:  # client-side errors (connection lost, ...) carry no values
        return scrub(str(exc)) or exc.__class__.__name__
    msg = scrub(primary)
    where = []
    m = _COPY_CONTEXT.match((diag.context or "").strip())
    if m:
        where.append(f"row {m['line']}")
        if m["column"]:
            where.append(f"column {m['column']}")
    elif diag.column_name:
        where.append(f"column {diag.column_name}")
    if diag.constraint_name and diag.constraint_name not in msg:
        where.append(f"constraint {diag.constraint_name}")
    suffix = f" ({', '.join(where)})" if where else ""
    code = f" [{exc.sqlstate}]" if exc.sqlstate else ""
    return f"{msg}{suffix}{code}"


def psql_error(stderr: str) -> str:
    """The first ERROR line a client program printed, scrubbed (never its DETAIL lines)."""
    for line in stderr.splitlines():
        if "ERROR:" in line or "FATAL:" in line or "error:" in line:
            # "pg_dump: error: query failed: ERROR:  x": the server's words come last
            return scrub(re.split(r"ERROR:|FATAL:|error:", line)[-1])
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    return scrub(lines[0]) if lines else "no error message"
