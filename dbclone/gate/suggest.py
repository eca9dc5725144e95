"""Which generator of the catalogue to suggest for a detected kind on a given column.

Keys (a primary key or a unique column) need a one-to-one generator, so that no two rows
collide and foreign keys referencing them keep joining: integer_key, uuid_key or hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dbclone.gate.detect import Detection
from dbclone.introspect.snapshot import Column, TypeCategory
from dbclone.transform import REGISTRY

_BY_KIND: dict[str, tuple[str, dict[str, Any]]] = {
    "email": ("fake_email", {}),
    "phone": ("fake_phone", {}),
    "ssn": ("fake_ssn", {}),
    "national_id": ("format_preserving", {}),
    "passport": ("fake_passport", {}),
    "drivers_licence": ("format_preserving", {}),
    "credit_card": ("fake_credit_card", {}),
    "iban": ("fake_iban", {}),
    "bank_account": ("format_preserving", {}),
    "first_name": ("fake_first_name", {}),
    "middle_name": ("fake_first_name", {}),
    "last_name": ("fake_last_name", {}),
    "full_name": ("fake_name", {}),
    "username": ("fake_username", {}),
    "credential": ("hash", {}),
    "street_address": ("fake_address", {}),
    "address_line2": ("format_preserving", {}),
    "city": ("fake_city", {}),
    "county": ("fake_city", {}),
    "birthplace": ("fake_city", {}),
    "zip": ("fake_zip", {}),
    "geo": ("number_noise", {"absolute": 0.05}),
    "birth_date": ("fake_date_of_birth", {}),
    "death_date": ("date_shift", {}),
    "ip": ("fake_ip", {}),
    "mac": ("fake_mac", {}),
    "photo": ("null", {}),
    "member_id": ("format_preserving", {}),
    "free_text": ("redact", {}),
}
# Free text: the NER redactor when the catalogue has it, else mask every character.
TEXT_REDACTORS = ("text_redact", "redact")


@dataclass(frozen=True)
class Suggestion:
    generator: str
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why this one, when it is not the kind's usual generator

    def spec(self) -> str | dict[str, Any]:
        return {"type": self.generator, **self.options} if self.options else self.generator


def suggest(det: Detection, column: Column, *, is_key: bool,
            referenced: bool = True) -> Suggestion:
    """The generator for a detected kind on this column (its type, length and keyness).

    A unique column that no foreign key follows (``referenced`` false) keeps its kind's
    generator when that one is unique-safe (a unique e-mail stays an e-mail, not 64 hex
    digits); a key that others reference needs a one-to-one mapping."""
    if is_key:
        name, options = _BY_KIND.get(det.kind, ("", {}))
        cls = REGISTRY.get(name)
        if (not referenced and cls is not None and cls.unique_safe
                and column.category in cls.accepts):
            return Suggestion(name, dict(options), "unique: collision-free by construction")
        return key_generator(column)
    if det.kind == "json":
        paths = {p: _leaf_spec(k) for p, k in sorted(det.paths.items())}
        return Suggestion("json", {"paths": paths})
    if det.kind == "free_text":
        name = next(n for n in TEXT_REDACTORS if n in REGISTRY)
        return Suggestion(name)
    name, options = _BY_KIND.get(det.kind, ("redact", {}))
    if name == "number_noise" and column.category not in (TypeCategory.INTEGER,
                                                           TypeCategory.NUMERIC):
        name, options = "format_preserving", {}
    if det.kind == "member_id" and column.category is TypeCategory.UUID:
        name, options = "fake_uuid", {}
    if name == "null" and not column.nullable:
        return Suggestion("constant", {"value": ""}, "NOT NULL: an empty value instead of NULL")
    if column.category not in REGISTRY[name].accepts:
        return for_type(column)
    return Suggestion(name, dict(options))


def _leaf_spec(kind: str) -> str | dict[str, Any]:
    name, options = _BY_KIND.get(kind, ("redact", {}))
    if name in ("null", "number_noise", "date_shift"):
        name, options = "redact", {}
    return {"type": name, **options} if options else name


def key_generator(column: Column) -> Suggestion:
    cat = column.category
    if cat is TypeCategory.INTEGER:
        return Suggestion("integer_key", note="a key: one-to-one, so rows never collide")
    if cat is TypeCategory.UUID:
        return Suggestion("uuid_key", note="a key: one-to-one, so rows never collide")
    limit = column.max_length
    if limit is not None and limit < 32:
        # hash is one-to-one from 32 hex digits on; shorter keys keep their shape instead
        return Suggestion("format_preserving", note="a key too short for a 32-digit hash")
    return Suggestion("hash", note="a key: one-to-one, so rows never collide")


def for_type(column: Column) -> Suggestion:
    """A masking generator for a column nothing is known about but its type (the drift
    gate's default for a new column under on_unconfigured: mask)."""
    cat = column.category
    if cat in (TypeCategory.TEXT, TypeCategory.OTHER):
        return Suggestion("redact")
    if cat in (TypeCategory.INTEGER, TypeCategory.NUMERIC):
        return Suggestion("number_noise")
    if cat in (TypeCategory.DATE, TypeCategory.TIMESTAMP):
        return Suggestion("date_shift")
    if cat is TypeCategory.UUID:
        return Suggestion("fake_uuid")
    if column.nullable:
        return Suggestion("null")
    if cat is TypeCategory.JSON:
        return Suggestion("constant", {"value": "{}"})
    return Suggestion("keep", note=f"no masking generator fits a NOT NULL {column.type_sql}")
