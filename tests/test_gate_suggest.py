"""What the gate suggests for keys: a unique column nothing references keeps its kind's
unique-safe generator; a referenced key, or a new key nothing is known about, gets a
one-to-one mapping."""

from __future__ import annotations

from dbclone.gate.detect import Detection
from dbclone.gate.suggest import key_generator, suggest
from dbclone.introspect.snapshot import Column, TypeCategory

EMAIL = Detection("email", "100% of 40 sampled values look like e-mail addresses", 40, 40)
TEXT = Column("email", "varchar(120)", TypeCategory.TEXT, max_length=120)


def test_a_unique_email_nothing_references_stays_an_email() -> None:
    got = suggest(EMAIL, TEXT, is_key=True, referenced=False)
    assert (got.generator, got.note) == ("fake_email", "unique: collision-free by construction")


def test_a_referenced_email_key_gets_a_one_to_one_hash() -> None:
    assert suggest(EMAIL, TEXT, is_key=True, referenced=True).generator == "hash"
    assert suggest(EMAIL, TEXT, is_key=True).generator == "hash"  # unknown: the safe choice


def test_a_new_integer_key_gets_integer_key_not_noise() -> None:
    col = Column("id", "integer", TypeCategory.INTEGER)
    assert key_generator(col).generator == "integer_key"
