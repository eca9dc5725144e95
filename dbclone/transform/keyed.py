"""Keyed hashing: the one source of pseudo-randomness for masking.

With a secret, the same input gives the same output in every run, table and database; without
one a random per-run key keeps output consistent within the run only.

The hash of a value in a domain (a generator and its options) is HMAC-SHA256(K_d, value)
with K_d = HMAC-SHA256(key, "dbclone:" || domain). A database can compute the outer HMAC
from K_d alone (SHA-256 of padded keys), so simple generators can run server-side and agree
with this code value for value while the secret itself never leaves this process.
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
        # One HMAC state per domain, keyed with K_d: a value then costs one copy, one update
        # and one digest.
        self._domains: dict[str, hmac.HMAC] = {}

    def domain_key(self, domain: str) -> bytes:
        """K_d: enough to compute this domain's mapping, and nothing else."""
        return hmac.digest(self._key, b"dbclone:" + domain.encode("utf-8"), "sha256")

    def digest(self, domain: str, value: str) -> bytes:
        h = self._domains.get(domain)
        if h is None:
            if len(self._domains) > 4096:  # salted re-draw domains: keep the cache bounded
                self._domains.clear()
            h = hmac.new(self.domain_key(domain), digestmod=hashlib.sha256)
            self._domains[domain] = h
        h = h.copy()
        h.update(value.encode("utf-8", "surrogatepass"))
        return h.digest()

    def number(self, domain: str, value: str) -> int:
        """A 64-bit integer drawn from the keyed hash of ``value``."""
        return int.from_bytes(self.digest(domain, value)[:8], "big")
