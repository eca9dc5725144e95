"""The outputs a unique column has produced so far, in memory that barely grows with the table.

The first ``exact_limit`` outputs are kept as 64-bit digests in a set (about 70 bytes each).
Past that, new ones go into Bloom filters of 16 bits each (a new, twice as large filter
whenever the last one is full). A Bloom filter never forgets an output, so a duplicate is
never let through; it sometimes answers "seen" for a new one (under 0.5%), and the generator
then simply draws again. Ten million unique values cost ~48 MB instead of ~700 MB.
"""

from __future__ import annotations

import math
from array import array

EXACT_LIMIT = 1 << 18  # 262,144 digests in the exact set (~18 MB)
FIRST_BLOOM = 1 << 20  # capacity of the first Bloom filter (entries)
_BITS_PER_ENTRY = 16  # ~0.2% false "seen" at capacity: a block Bloom needs more than 10


def _bits(h: int) -> int:
    """The six bits of a 64-bit word that stand for digest ``h``: from its top 36 bits,
    clear of the low bits that choose the word."""
    return ((1 << ((h >> 28) & 63)) | (1 << ((h >> 34) & 63)) | (1 << ((h >> 40) & 63))
            | (1 << ((h >> 46) & 63)) | (1 << ((h >> 52) & 63)) | (1 << (h >> 58)))


class _Bloom:
    """A blocked Bloom filter: each digest sets six bits of one 64-bit word, so a lookup is
    one word read and a mask instead of seven scattered bit probes (~6 us a value in
    Python before, under 1 us now)."""

    __slots__ = ("capacity", "count", "mask", "words")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        # a power of two of words (the index is the digest's low bits), at most 2**28
        nwords = 1 << min(28, max(6, math.ceil(math.log2(capacity * _BITS_PER_ENTRY / 64))))
        self.words = array("Q", bytes(8 * nwords))
        self.mask = nwords - 1
        self.count = 0

    def __contains__(self, h: int) -> bool:
        bits = _bits(h)
        return self.words[h & self.mask] & bits == bits

    def add(self, h: int) -> None:
        self.words[h & self.mask] |= _bits(h)
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
        bits = _bits(h)
        for bloom in self.blooms:
            if bloom.words[h & bloom.mask] & bits == bits:
                return False
        last = self.blooms[-1]
        if last.count >= last.capacity:
            last = _Bloom(last.capacity * 2)
            self.blooms.append(last)
        last.words[h & last.mask] |= bits
        last.count += 1
        return True

    def __len__(self) -> int:
        return len(self.exact) + sum(b.count for b in self.blooms)

    @property
    def nbytes(self) -> int:
        """Bytes held by the Bloom filters (the exact set is bounded by exact_limit)."""
        return sum(b.words.itemsize * len(b.words) for b in self.blooms)


def new_seen() -> SeenSet:
    """An empty set of outputs: the C one where dbclone/_native is built (the same answers,
    dbclone/csrc/seen.c), else this module's."""
    from dbclone import native

    if native.module is not None:
        return native.module.Seen()  # type: ignore[no-any-return]
    return SeenSet()
