"""Database names from branch names: deterministic, ``[a-z0-9_]``, at most 63 bytes, unique.

A branch that is already a clean name (``main``, ``feature_login``) keeps it. Any other
branch (upper case, ``/``, ``-``, ``.``, non-ASCII, or too long) is reduced to a readable
slug and gets ``_`` plus 10 hex digits of the SHA-256 of the *full* branch name appended, so
``Release/1.0`` and ``release-1.0``, or two 90-character branches that differ only at the end,
never share a database. A clean name that happens to end like a hash is hashed too, so a clean
name can never equal another branch's hashed one.

63 bytes is PostgreSQL's limit (NAMEDATALEN - 1; longer names are silently truncated by the
server); MySQL allows 64, so one rule serves every dialect.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from dbclone.errors import ConfigError

MAX_NAME_BYTES = 63
HASH_CHARS = 10
MAX_PREFIX = 40  # leaves room for at least a few slug characters and the hash

_CLEAN = re.compile(r"[a-z0-9_]+")
_LOOKS_HASHED = re.compile(rf"_[0-9a-f]{{{HASH_CHARS}}}$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by single underscores: 'fix/Überprüfung'
    -> 'fix_uberprufung'. Letters without an ASCII form are dropped (the hash keeps the
    name unique)."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_text = ascii_text.encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("_", ascii_text).strip("_")


def name_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def check_prefix(prefix: str, *, where: str = "template.prefix") -> str:
    if prefix and not _CLEAN.fullmatch(prefix):
        raise ConfigError(f"{where}: '{prefix}' may only hold a-z, 0-9 and _",
                          hint="e.g. prefix: app_")
    if len(prefix) > MAX_PREFIX:
        raise ConfigError(f"{where}: '{prefix}' is longer than {MAX_PREFIX} characters",
                          hint="branch database names have at most 63 bytes; use a shorter "
                               "prefix")
    return prefix


def default_prefix(base: str) -> str:
    """'app_dev' -> 'app_dev_': branch databases sit next to the destination they come from
    and are easy to recognise."""
    s = slug(base)[:MAX_PREFIX - 1].rstrip("_")
    return f"{s}_" if s else ""


def database_name(branch: str, prefix: str = "") -> str:
    """The database name for ``branch``; the same for the same input on every machine."""
    if not branch or not branch.strip():
        raise ConfigError("--branch: the branch name is empty",
                          hint="pass the git branch, e.g. --branch \"$GITHUB_HEAD_REF\"")
    check_prefix(prefix)
    plain = prefix + branch
    if (_CLEAN.fullmatch(branch) and len(plain) <= MAX_NAME_BYTES
            and not _LOOKS_HASHED.search(plain)):
        return plain
    room = MAX_NAME_BYTES - len(prefix) - 1 - HASH_CHARS
    head = slug(branch)[:room].rstrip("_") or "branch"
    return f"{prefix}{head}_{name_hash(branch)}"


def fit_name(name: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``name`` itself when it fits in ``max_bytes``, else a cut of it plus a hash of the
    whole (cut on a character boundary)."""
    raw = name.encode("utf-8")
    if len(raw) <= max_bytes:
        return name
    head = raw[:max_bytes - 1 - HASH_CHARS].decode("utf-8", "ignore")
    return f"{head}_{name_hash(name)}"
