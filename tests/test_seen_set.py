"""The set of outputs a unique column has produced: never lets a duplicate through, and
stays small however many rows go by."""

from __future__ import annotations

import hashlib

from dbclone.transform.seen import SeenSet


def digest(i: int) -> int:
    return int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "big")


def test_a_digest_added_once_is_refused_ever_after_in_the_set_and_in_the_filters() -> None:
    seen = SeenSet(exact_limit=1000, first_bloom=2000)
    added = [i for i in range(10_000) if seen.add_if_new(digest(i))]
    # every digest is refused a second time, whichever structure holds it
    assert not any(seen.add_if_new(digest(i)) for i in added)
    assert len(seen) == len(added)
    # three filters of 2,000 / 4,000 / 8,000 entries after the 1,000 exact ones
    assert [b.capacity for b in seen.blooms] == [2000, 4000, 8000]
    # a filter sometimes says "seen" for a new digest (the generator then draws again):
    # at about 1%, never at a rate that would starve a column
    refused_new = 10_000 - len(added)
    assert refused_new < 10_000 * 0.03


def test_ten_million_outputs_would_cost_megabytes_not_hundreds() -> None:
    seen = SeenSet(exact_limit=100, first_bloom=1 << 20)
    for i in range(2_000):
        seen.add_if_new(digest(i))
    # the filters are sized in advance: 16 bits an entry, doubling
    assert seen.nbytes == (1 << 20) * 16 // 8
    capacity = sum(b.capacity for b in seen.blooms)
    assert capacity == 1 << 20
    # 10M entries: filters of 1M+2M+4M+8M entries at 16 bits each, 30 MB
    assert sum((1 << 20) * 2**k * 16 // 8 for k in range(4)) == 30 * 1024 * 1024


def test_a_full_filter_refuses_few_new_digests() -> None:
    """Block Bloom filters (six bits in one word per digest) at capacity: under 0.5% of
    new digests are taken for seen, each costing the column one more draw."""
    seen = SeenSet(exact_limit=0, first_bloom=1 << 16)
    for i in range(1 << 16):
        seen.add_if_new(digest(i))
    assert [b.capacity for b in seen.blooms] == [1 << 16]
    refused = sum(not seen.add_if_new(digest(i)) for i in range(1 << 16, (1 << 16) + 20_000))
    assert refused < 20_000 * 0.005
