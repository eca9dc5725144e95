"""The outputs a unique column has produced so far, in memory that barely grows with the table.

The first ``exact_limit`` outputs are kept as 64-bit digests in a set (about 70 bytes each).
Past that, new ones go into Bloom filters of about 10 bits each (a new, twice as large filter
whenever the last one is full). A Bloom filter never forgets an output, so a duplicate is
never let through; it sometimes answers "seen" for a new one (about 1%), and the generator
then simply draws again. Ten million unique values cost ~18 MB instead of ~700 MB.
"""

from __future__ import annotations

import math

EXACT_LIMIT = 1 << 18  # 262,144 digests in the exact set (~18 MB)
FIRST_BLOOM = 1 << 20  # capacity of the first Bloom filter (entries)
_BITS_PER_ENTRY = 10  # ~1% false "seen" at capacity, with 7 probes
_PROBES = 7
_MASK32 = (1 << 32) - 1


class _Bloom:
    __slots__ = ("bits", "capacity", "count", "size")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.size = capacity * _BITS_PER_ENTRY
        self.bits = bytearray(math.ceil(self.size / 8))
        self.count = 0

    def _positions(self, h: int) -> list[int]:
        # double hashing (Kirsch-Mitzenmacher): k positions from the two halves of h
        a, b = h & _MASK32, (h >> 32) | 1
        size = self.size
        return [(a + i * b) % size for i in range(_PROBES)]

    def __contains__(self, h: int) -> bool:
        bits = self.bits
        return all(bits[p >> 3] & (1 << (p & 7)) for p in self._positions(h))

    def add(self, h: int) -> None:
        bits = self.bits
        for p in self._positions(h):
            bits[p >> 3] |= 1 << (p & 7)
        self.count += 1


class SeenSet:
    """``add_if_new(h)``: True (and remembered) when digest ``h`` was never added before;
    False when it was, or, rarely and harmlessly, when a Bloom filter cannot tell."""

    def __init__(self, exact_limit: int = EXACT_LIMIT, first_bloom: int = FIRST_BLOOM) -> None:
        self.exact: set[int] = set()
        self.exact_limit = exact_limit
        self.first_bloom = first_bloom
        self.blooms: list[_Bloom] = []

    def add_if_new(self, h: int) -> bool:
        if h in self.exact:
            return False
        if not self.blooms:
            if len(self.exact) < self.exact_limit:
                self.exact.add(h)
                return True
            self.blooms.append(_Bloom(self.first_bloom))
        for bloom in self.blooms:
            if h in bloom:
                return False
        last = self.blooms[-1]
        if last.count >= last.capacity:
            last = _Bloom(last.capacity * 2)
            self.blooms.append(last)
        last.add(h)
        return True

    def __len__(self) -> int:
        return len(self.exact) + sum(b.count for b in self.blooms)

    @property
    def nbytes(self) -> int:
        """Bytes held by the Bloom filters (the exact set is bounded by exact_limit)."""
        return sum(len(b.bits) for b in self.blooms)
