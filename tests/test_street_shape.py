"""Street addresses as the privacy gate recognises them (gate/recognize.street_shape), on
the compound street names of German, Dutch and Nordic addresses, whose pattern is searched
anywhere in the value."""

from __future__ import annotations

import pytest

from dbclone.gate.recognize import street_shape, value_kind


@pytest.mark.parametrize("text", ["Hauptstraße 5", "Hauptstr. 12a", "Am Kanalweg 7",
                                  "x Lindenallee 3", "Kalverstraat 12", "Storgatan 4 b",
                                  "Nørregade Ringvej 9"])
def test_a_compound_street_with_a_number_is_an_address(text: str) -> None:
    assert street_shape(text) == "numbered"
    assert value_kind(text) == "street_address"


@pytest.mark.parametrize("text", ["9e107d9d372bb6826bd81d3542a419d6", "a" * 100 + "weg",
                                  "Hauptstraße", "weg 5x5", "12.50"])
def test_a_token_that_only_contains_a_street_word_is_not(text: str) -> None:
    assert street_shape(text) is None
