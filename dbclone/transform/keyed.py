"""Keyed hashing: the one source of pseudo-randomness for masking.

With a secret, the same input gives the same output in every run, table and database; without
one a random per-run key keeps output consistent within the run only.
"""

from __future__ import annotations

import hashlib
import hmac
import os


class Keyer:
    def __init__(self, secret: str | bytes | None = None) -> None:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        self.deterministic = bool(secret)
        self._key = secret or os.urandom(32)

    def digest(self, domain: str, value: str) -> bytes:
        msg = domain.encode("utf-8") + b"\x1f" + value.encode("utf-8", "surrogatepass")
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def number(self, domain: str, value: str) -> int:
        """A 64-bit integer drawn from the keyed hash of ``value``."""
        return int.from_bytes(self.digest(domain, value)[:8], "big")
