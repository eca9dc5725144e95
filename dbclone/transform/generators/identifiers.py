"""Identifiers and finance: UUIDs, card numbers, IBANs, licence plates."""

from __future__ import annotations

import uuid

from pydantic import Field

from dbclone.introspect.snapshot import TypeCategory
from dbclone.transform.base import TEXT_TYPES, Generator, Params, fit_problem, register
from dbclone.transform.generators.structure import shape_replace


@register
class FakeUuid(Generator):
    """A random-looking version 4 UUID drawn from the keyed hash of the value (the same
    source UUID always maps to the same fake one under a secret)."""

    name = "fake_uuid"
    fresh_output = True
    family = "identifiers"
    accepts = frozenset({TypeCategory.UUID, *TEXT_TYPES})
    unique_safe = True

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 36)

    def generate(self, value: str, attempt: int) -> str:
        salt = f"#{attempt}" if attempt else ""
        raw = self.ctx.keyer.digest(self.domain + salt, value)[:16]
        out = str(uuid.UUID(bytes=raw, version=4))
        return out.upper() if value.isupper() else out


def luhn_check_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    digits = "".join(c for c in number if c.isdecimal())
    return len(digits) > 1 and luhn_check_digit(digits[:-1]) == int(digits[-1])


class CardParams(Params):
    keep_prefix: int = Field(default=1, ge=0, le=8)


@register
class FakeCreditCard(Generator):
    """A fake card number that passes the Luhn check, with the source's length, separators and
    first digits (option keep_prefix, default 1: the card network stays Visa/Mastercard/Amex).
    """

    name = "fake_credit_card"
    fresh_output = True
    family = "identifiers"
    Params = CardParams
    unique_safe = True

    def value_space(self) -> int:
        return 10**9

    def generate(self, value: str, attempt: int) -> str:
        from dbclone.transform.generators.contact import digits_replaced
        from dbclone.transform.generators.structure import script_digit

        # isdecimal: a fullwidth digit is a digit to replace too; a superscript is not one
        digits = [c for c in value if c.isdecimal()]
        if len(digits) < 12:
            value = "4000 0000 0000 0000"
            digits = [c for c in value if c.isdecimal()]
        k = self.params.keep_prefix
        body = "".join(digits[:k]) + digits_replaced("".join(digits[k:-1]),
                                                     self.draw(value, attempt))
        # the check digit in the script of the digit it replaces (a fullwidth card stays so)
        number = body + script_digit(digits[-1], luhn_check_digit(body))
        it = iter(number)
        return "".join(next(it) if c.isdecimal() else c for c in value)


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged.upper())
    return f"{98 - int(numeric) % 97:02d}"


def iban_valid(iban: str) -> bool:
    s = iban.replace(" ", "").upper()
    if len(s) < 5 or not s[:2].isalpha():
        return False
    numeric = "".join(str(int(c, 36)) for c in s[4:] + s[:4])
    return int(numeric) % 97 == 1


@register
class FakeIban(Generator):
    """A fake IBAN with a valid checksum: the source's country code, length and spacing kept,
    the account part replaced (letters stay letters, digits stay digits)."""

    name = "fake_iban"
    fresh_output = True
    family = "identifiers"
    unique_safe = True

    def check(self) -> list[str]:
        return fit_problem(self.ctx, self.name, 15)

    def value_space(self) -> int:
        return 10**10

    def generate(self, value: str, attempt: int) -> str:
        compact = value.replace(" ", "")
        if len(compact) < 15 or not compact[:2].isalpha():
            value = "DE89 3704 0044 0532 0130 00"
            compact = value.replace(" ", "")
        country = compact[:2].upper()
        bban = shape_replace(compact[4:], self.draw(value, attempt)).upper()
        new = country + iban_check_digits(country, bban) + bban
        it = iter(new)
        return "".join(c if c == " " else next(it) for c in value)


@register
class FakeLicensePlate(Generator):
    """A fake licence plate in the source's shape (letters stay letters, digits stay digits,
    separators kept)."""

    name = "fake_license_plate"
    fresh_output = True
    family = "identifiers"
    unique_safe = True

    def value_space(self) -> int:
        return 10**6

    def generate(self, value: str, attempt: int) -> str:
        shape = value if any(c.isalnum() for c in value) else "ABC-1234"
        return shape_replace(shape, self.draw(value, attempt))
