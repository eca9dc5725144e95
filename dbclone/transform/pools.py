"""Pre-built pools of fake values, drawn by keyed hash instead of calling Faker per row.

Faker produces about ten thousand values a second; indexing a pool is a list lookup. Pools are
built once per process and locale from a fixed Faker seed, so a pool (and hence every
deterministic mapping) is the same in every run with the same Faker version.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faker import Faker

POOL_SIZE = 1000
_SEED = 20261203

# Reserved for documentation (RFC 2606/6761): a fake address can never reach a real inbox.
SAFE_EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.test", "inbox.test")

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "ko_KR", "ja_JP")


@cache
def _faker(locale: str) -> Faker:
    # imported here: a run that draws from no pool (an unmasked clone or subset) never
    # pays Faker's ~0.1 s import
    from faker import Faker

    return Faker(locale)


def _or(f: Faker, method: str, fallback: str) -> str:
    try:
        return str(getattr(f, method)())
    except AttributeError:
        return str(getattr(f, fallback)())


_PROVIDERS: dict[str, Callable[[Faker], str]] = {
    "first_name": lambda f: f.first_name(),
    "last_name": lambda f: f.last_name(),
    "city": lambda f: f.city(),
    "company": lambda f: f.company(),
    "street_address": lambda f: f.street_address(),
    "street_name": lambda f: f.street_name(),
    "state": lambda f: _or(f, "state", "city"),
    "state_abbr": lambda f: _or(f, "state_abbr", "country_code"),
    "country": lambda f: f.country(),
    "job": lambda f: f.job(),
    "user_name": lambda f: f.user_name(),
    "domain_word": lambda f: f.domain_word(),
    "license_plate": lambda f: f.license_plate(),
}


@cache
def pool(kind: str, locale: str = "en_US") -> tuple[str, ...]:
    """Distinct values of one kind, in a fixed order."""
    fake = _faker(locale)
    fake.seed_instance(_SEED + zlib.crc32(kind.encode()))  # each pool reproducible alone
    make = _PROVIDERS[kind]
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < POOL_SIZE and tries < POOL_SIZE * 5:
        seen.setdefault(make(fake).strip(), None)
        tries += 1
    return tuple(v for v in seen if v)


@cache
def fitting(kind: str, locale: str, max_length: int | None) -> tuple[str, ...]:
    values = pool(kind, locale)
    if max_length is None:
        return values
    return tuple(v for v in values if len(v) <= max_length)


@cache
def known_locale(locale: str) -> bool:
    from faker import Faker

    try:
        Faker(locale)
    except AttributeError:
        return False
    return True
