"""The optional C hot path (``dbclone/_native.c``), or None where it was not built.

``pip install`` builds it when a C compiler and OpenSSL's headers are there, and goes on
without it when not; every caller then takes the pure-Python path, which gives the same
bytes. ``DBCLONE_NATIVE=off`` forces the Python path (to compare the two, or to rule the C
code out when chasing a problem).
"""

from __future__ import annotations

import os
from types import ModuleType

_OFF = ("off", "0", "false", "no")
_ON = ("", "on", "1", "true", "yes")


def _setting() -> str:
    return os.environ.get("DBCLONE_NATIVE", "").strip().lower()


def _load() -> ModuleType | None:
    if _setting() in _OFF:
        return None
    try:
        from dbclone import _native
    except ImportError:
        return None
    return _native


module: ModuleType | None = _load()


def status() -> str:
    """For reports: whether masking runs through the C code, or why not."""
    if module is not None:
        return "on"
    return "off (DBCLONE_NATIVE)" if _setting() in _OFF else "off (not built)"


def check_setting() -> str | None:
    """A problem with DBCLONE_NATIVE's value, if it has one (the CLI reports it)."""
    value = _setting()
    if value in _OFF or value in _ON:
        return None
    return (f"DBCLONE_NATIVE={os.environ.get('DBCLONE_NATIVE', '')!r} is neither on nor off: "
            "the C module is used when built")
