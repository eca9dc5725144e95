"""What the branch-database commands work with: the registry record and the interface each
dialect's provisioner implements (in ``dbclone/dialects/<dialect>/provision.py``).

Pure data and interfaces: no driver is imported here.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from dbclone.dialects.base import DatabaseURL

DEFAULT_CONTROL = "dbclone_control"
CONTROL_ENV = "DBCLONE_CONTROL_DB"
LOCK_TIMEOUT_ENV = "DBCLONE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 3600.0  # seconds; a template build of a large database takes a while

# Locks whose names start with this are taken shared (copies of a template) as well as
# exclusive (its swap); others are only ever exclusive.
RW_LOCK_PREFIX = "template:"

READY = "ready"
CREATING = "creating"  # the copy is under way (or its process died: the next up redoes it)


def control_name(explicit: str | None = None) -> str:
    """The control database (PostgreSQL, MySQL) or registry file stem (SQLite)."""
    return explicit or os.environ.get(CONTROL_ENV) or DEFAULT_CONTROL


def lock_timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV)
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        return DEFAULT_LOCK_TIMEOUT


def utcnow() -> datetime:
    return datetime.now(UTC)


def lock_key(control: str, key: str) -> str:
    """A short stable token for a lock name: the servers limit lock names (MySQL: 64
    characters) or want integers (PostgreSQL)."""
    return hashlib.sha256(f"{control}\0{key}".encode()).hexdigest()


@dataclass
class EnvRecord:
    """One branch database as the registry has it."""

    database: str
    branch: str
    template: str
    workspace: str
    created: datetime
    expires: datetime | None
    status: str = READY
    identity: str | None = None  # the server's id of the database (PostgreSQL: its oid)

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and self.expires <= now

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created"] = iso(self.created)
        d["expires"] = iso(self.expires)
        return d


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat(timespec="seconds")


class Provisioner(ABC):
    """Branch databases on one server (SQLite: one directory): the registry, locks, and the
    server-side copy of a template.

    Every method that changes a database is only ever called by :mod:`dbclone.envs.service`
    for a name the registry says dbclone created, while holding that name's lock.
    """

    def __init__(self, url: DatabaseURL, control: str) -> None:
        self.url = url  # the destination URL of the workspace: it names the server
        self.control = control

    # -- registry ------------------------------------------------------------------------------

    @abstractmethod
    def records(self) -> list[EnvRecord]: ...

    @abstractmethod
    def record(self, database: str) -> EnvRecord | None: ...

    @abstractmethod
    def save(self, rec: EnvRecord) -> None:
        """Insert the record, or replace the one with the same database name."""

    @abstractmethod
    def forget(self, database: str) -> None: ...

    @abstractmethod
    def template_claimed(self, template: str) -> bool:
        """True when dbclone built (or is building) ``template``."""

    @abstractmethod
    def claim_template(self, template: str, workspace: str) -> None: ...

    @abstractmethod
    def template_built(self, template: str, when: datetime) -> None: ...

    @abstractmethod
    def unclaim_template(self, template: str) -> None: ...

    # -- locks ---------------------------------------------------------------------------------

    @abstractmethod
    def lock(self, key: str, *, shared: bool = False) -> AbstractContextManager[None]:
        """Hold a named lock across processes (blocking, up to :func:`lock_timeout`).
        ``shared`` locks exclude only exclusive ones."""

    # -- databases -----------------------------------------------------------------------------

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def identity(self, name: str) -> str | None:
        """The server's id of database ``name`` (None if it has none, or no such database)."""

    @abstractmethod
    def create_from_template(self, name: str, template: str) -> None:
        """Create ``name`` as a copy of ``template``. Fails (never overwrites) if ``name``
        exists. On failure nothing of ``name`` is left behind."""

    def recreate_from_template(self, name: str, template: str) -> None:
        """Replace ``name`` (which dbclone created) by a fresh copy of ``template``.
        Dialects that can build the copy first and swap it in override this."""
        self.drop(name)
        self.create_from_template(name, template)

    @abstractmethod
    def drop(self, name: str) -> None:
        """Drop ``name`` (ending its sessions); no error when it is already gone."""

    def holders(self, name: str) -> list[str]:
        """Other sessions connected to database ``name`` that keep the server from copying or
        replacing it (who they are, never what they run). Only PostgreSQL has such a rule."""
        return []

    @abstractmethod
    def size(self, name: str) -> int | None:
        """Bytes on disk, or None when the server will not say."""

    def database_url(self, name: str) -> DatabaseURL:
        return self.url.with_database(name)

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self) -> Provisioner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_provisioner(url: DatabaseURL, control: str | None = None) -> Provisioner:
    """The provisioner for ``url``'s dialect (imported lazily, like the dialects)."""
    module = importlib.import_module(f"dbclone.dialects.{url.dialect}.provision")
    return module.open_provisioner(url, control_name(control))
