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
from collections.abc import Callable
from typing import Any

from dbclone import native

_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class Keyer:
    def __init__(self, secret: str | bytes | None = None) -> None:
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        self.deterministic = bool(secret)
        self._key = secret or os.urandom(32)
        # Per domain, SHA-256 states already fed with K_d's inner and outer pads (RFC 2104):
        # a value then costs two C-level copies and updates, and no Python HMAC object.
        self._domains: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}
        self._numbers: dict[str, Callable[[str], int]] = {}  # numberer() by domain
        self._keyed: dict[str, Any] = {}  # native Keyed objects by domain

    def __getstate__(self) -> dict[str, Any]:
        # the caches hold hash states and C objects, which do not pickle (a spawned worker)
        return {"deterministic": self.deterministic, "key": self._key}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["key"])  # type: ignore[misc]
        self.deterministic = state["deterministic"]

    def domain_key(self, domain: str) -> bytes:
        """K_d: enough to compute this domain's mapping, and nothing else."""
        return hmac.digest(self._key, b"dbclone:" + domain.encode("utf-8"), "sha256")

    def pads(self, domain: str) -> tuple[bytes, bytes]:
        """K_d xor ipad and K_d xor opad (64 bytes each): HMAC-SHA256(K_d, m) is
        SHA-256(outer || SHA-256(inner || m)), which a database can compute."""
        block = self.domain_key(domain).ljust(64, b"\0")
        return block.translate(_IPAD), block.translate(_OPAD)

    def _states(self, domain: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
        if len(self._domains) > 4096:  # salted re-draw domains: keep the cache bounded
            self._domains.clear()
        inner_pad, outer_pad = self.pads(domain)  # K_d is shorter than a block
        inner = hashlib.sha256(inner_pad)
        outer = hashlib.sha256(outer_pad)
        states = (inner.copy, outer.copy)
        self._domains[domain] = states
        return states

    def digest(self, domain: str, value: str) -> bytes:
        """HMAC-SHA256(K_d, value)."""
        if native.module is not None:
            return self._native(domain).digest(value)  # type: ignore[no-any-return]
        states = self._domains.get(domain)
        if states is None:
            states = self._states(domain)
        inner = states[0]()
        inner.update(value.encode("utf-8", "surrogatepass"))
        outer = states[1]()
        outer.update(inner.digest())
        return outer.digest()

    def numberer(self, domain: str) -> Callable[[str], int]:
        """``number(domain, ·)`` as one function, the domain's states bound once: what a
        generator's loop over a block calls per value."""
        found = self._numbers.get(domain)
        if found is not None:
            return found
        if native.module is not None:
            return self._native(domain).number  # type: ignore[no-any-return]
        inner_copy, outer_copy = self._domains.get(domain) or self._states(domain)

        def number(value: str) -> int:
            inner = inner_copy()
            inner.update(value.encode("utf-8", "surrogatepass"))
            outer = outer_copy()
            outer.update(inner.digest())
            return int.from_bytes(outer.digest()[:8], "big")

        if len(self._numbers) > 4096:  # salted re-draw domains: keep the cache bounded
            self._numbers.clear()
        self._numbers[domain] = number
        return number

    def numbers(self, domain: str, values: list[str]) -> list[int]:
        """``[number(domain, v) for v in values]``, in one C call where there is one."""
        if native.module is not None:
            return self._native(domain).numbers(values)  # type: ignore[no-any-return]
        number = self.numberer(domain)
        return [number(v) for v in values]

    def _native(self, domain: str) -> Any:
        """The C HMAC of the domain (dbclone/_native.c), made once per domain."""
        found = self._keyed.get(domain)
        if found is None:
            if len(self._keyed) > 4096:  # salted re-draw domains: keep the cache bounded
                self._keyed.clear()
            keyed = native.module.Keyed  # type: ignore[union-attr]
            found = self._keyed[domain] = keyed(*self.pads(domain))
        return found

    def number(self, domain: str, value: str) -> int:
        """A 64-bit integer drawn from the keyed hash of ``value``."""
        return self.numberer(domain)(value)
