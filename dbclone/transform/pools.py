"""Pre-built pools of fake values, drawn by keyed hash instead of calling Faker per row.

Faker produces about ten thousand values a second; indexing a pool is a list lookup. Pools are
built once per process and locale from a fixed Faker seed, so a pool (and hence every
deterministic mapping) is the same in every run with the same Faker version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
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
    """Distinct values of one kind, in a fixed order: read from the pool cache when this
    Faker version and this module drew them before, else drawn and cached."""
    path = _cached_path(kind, locale)
    if path is not None:
        values = _read_cached(path)
        if values is not None:
            return values
    values = _draw(kind, locale)
    if path is not None:
        _write_cached(path, values)
    return values


def _draw(kind: str, locale: str) -> tuple[str, ...]:
    fake = _faker(locale)
    fake.seed_instance(_SEED + zlib.crc32(kind.encode()))  # each pool reproducible alone
    make = _PROVIDERS[kind]
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < POOL_SIZE and tries < POOL_SIZE * 5:
        seen.setdefault(make(fake).strip(), None)
        tries += 1
    return tuple(v for v in seen if v)


# -- the pool cache -------------------------------------------------------------------------
# Drawing the two name pools costs about half a second a run (Faker's weighted choice
# recomputes its weights on every call), paid by every clone that masks a name or an
# e-mail. A pool depends only on Faker's version and this module, so it is kept on disk
# under a key made of both: any other Faker, or an edit here, draws afresh. The files
# hold fake values only, never a source value.


def cache_dir() -> Path | None:
    """DBCLONE_CACHE_DIR, else $XDG_CACHE_HOME/dbclone, else ~/.cache/dbclone; None when
    DBCLONE_CACHE_DIR is empty or off (no cache)."""
    own = os.environ.get("DBCLONE_CACHE_DIR")
    if own is not None:
        return None if own.strip().lower() in ("", "off") else Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dbclone"


@cache
def _cache_key() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        faker_version = version("faker")
    except PackageNotFoundError:  # no version known: no cache
        return ""
    source = zlib.crc32(Path(__file__).read_bytes())
    return f"faker-{faker_version}-{source:08x}-{POOL_SIZE}-{_SEED}"


def _cached_path(kind: str, locale: str) -> Path | None:
    base, key = cache_dir(), _cache_key()
    if base is None or not key or not re.fullmatch(r"[A-Za-z_]+", locale + kind):
        return None
    return base / "pools" / key / f"{locale}.{kind}.json"


def _digest(values: list[str]) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()


def _read_cached(path: Path) -> tuple[str, ...] | None:
    """The pool a file holds, if it is whole: its values with their SHA-256 and count, so
    an edited, truncated or foreign file (another pool's, a shorter list) is drawn again
    rather than silently changing every masked value drawn from it."""
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None  # none yet, unreadable or damaged: draw again
    if not isinstance(doc, dict) or doc.get("pool") != path.name:
        return None
    values = doc.get("values")
    if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)
            and doc.get("count") == len(values) and doc.get("sha256") == _digest(values)):
        return None
    return tuple(values)


def _write_cached(path: Path, values: tuple[str, ...]) -> None:
    """Atomically (a concurrent run reads the old file or the new one, never half); a
    directory that cannot be written only means no cache."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pool-", suffix=".tmp")
        doc = {"pool": path.name, "count": len(values), "sha256": _digest(list(values)),
               "values": list(values)}
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


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
