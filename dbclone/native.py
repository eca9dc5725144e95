"""The optional C hot path (``dbclone/_native.c``), or None where it was not built.

``pip install`` builds it when a C compiler and OpenSSL's headers are there, and goes on
without it when not; every caller then takes the pure-Python path, which gives the same
bytes. ``DBCLONE_NATIVE=off`` forces the Python path (to compare the two, or to rule the C
code out when chasing a problem).
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("DBCLONE_NATIVE", "").strip().lower() in ("off", "0", "false", "no"):
        return None
    try:
        from dbclone import _native
    except ImportError:
        return None
    return _native


module: ModuleType | None = _load()


def status() -> str:
    """For reports: whether masking runs through the C code."""
    if module is not None:
        return "on"
    return "off (DBCLONE_NATIVE)" if os.environ.get("DBCLONE_NATIVE") else "off (not built)"
