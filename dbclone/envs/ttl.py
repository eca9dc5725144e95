"""Time-to-live values: ``90s``, ``30m``, ``72h``, ``7d``, ``2w``, combinations such as
``1h30m``, or ``never``."""

from __future__ import annotations

import re
from datetime import timedelta

from dbclone.envs.errors import BadTTL

DEFAULT_TTL = "72h"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"(?:\d+\s*[smhdw]\s*)+")
_NEVER = {"never", "none", "forever", "0"}


def parse_ttl(text: str, *, where: str = "--ttl") -> timedelta | None:
    """A duration, or None for 'never expires'. Raises :class:`BadTTL` naming ``where``."""
    raw = text.strip().lower()
    if raw in _NEVER:
        return None
    if not _WHOLE.fullmatch(raw):
        raise BadTTL(f"{where}: '{text}' is not a duration",
                     hint="use a number and a unit: 90s, 30m, 72h, 7d, 2w (or 1h30m), "
                          "or never")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(raw))
    if seconds <= 0:
        raise BadTTL(f"{where}: '{text}' is zero", hint="use never for no expiry")
    if seconds > 3650 * 86400:
        raise BadTTL(f"{where}: '{text}' is longer than ten years", hint="use never")
    return timedelta(seconds=seconds)


def format_ttl(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    left = int(delta.total_seconds())
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        n, left = divmod(left, _UNITS[unit])
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts) or "0s"
