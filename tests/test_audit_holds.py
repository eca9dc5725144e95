"""The leak audit's same-column check also catches a masked value that still holds the
source value inside it (a generator that appends to its input)."""

from __future__ import annotations

from dbclone.gate.audit import _holds


def test_a_masked_value_holding_the_source_value_is_a_leak() -> None:
    assert _holds("Orla Venn 1#1", "Orla Venn 1")
    assert _holds("ms. ORLA   venn", "Orla Venn")  # case and spacing do not hide it
    assert _holds("+1 (415) 555-0199 ext 2", "415 555 0199")


def test_a_different_value_or_a_common_word_is_not() -> None:
    assert not _holds("Tobin Marsh", "Orla Venn")
    assert not _holds("Orla Marsh", "Orla Venn")  # one word of two is not the value
    assert not _holds("Paris is lovely", "Paris")  # one plain word is never distinctive
    assert not _holds("", "Orla Venn")
