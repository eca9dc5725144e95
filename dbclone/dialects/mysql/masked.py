"""A masked value, in the masker's canonical text, as a MySQL column stores it: BIT as its
integer, binary from ``\\x`` + hex (as PostgreSQL writes bytea) or else the text's own bytes.
Shared by the INSERT path (writer.py) and the client pipe (client_pipe.py)."""

from __future__ import annotations

import contextlib

from dbclone.errors import CloneFailed
from dbclone.introspect.snapshot import Table


def bit_value(text: str, table: Table, column: str, number: int) -> int:
    """``text`` as the integer a BIT column stores ('0b101' and '0x1f' too)."""
    try:
        return int(text, 0) if text[:2].lower() in ("0b", "0x") else int(text)
    except ValueError:
        raise CloneFailed(
            f"{table.ref}.{column}: the masked value of row {number} is not a whole number "
            "for a BIT column",
            hint="use a generator that yields integers below 2^n for BIT(n)") from None


def binary_value(text: str) -> bytes:
    """``text`` as the bytes a binary column stores."""
    if text.startswith("\\x"):
        with contextlib.suppress(ValueError):
            return bytes.fromhex(text[2:])
    return text.encode("utf-8", "surrogateescape")
