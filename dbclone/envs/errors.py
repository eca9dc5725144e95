"""Errors of the branch-database commands. Each names the branch, database or server it is
about and says what to do; none carries row values or passwords."""

from __future__ import annotations

from dbclone.errors import ConfigError, DbcloneError


class EnvError(DbcloneError):
    """A branch database could not be created, found, reset or dropped."""

    exit_code = 6


class UnknownBranch(EnvError):
    """No branch database is recorded for this branch."""


class ForeignDatabase(EnvError):
    """A database of the wanted name exists but dbclone did not create it: never touched."""


class TemplateInUse(EnvError):
    """Other sessions hold the template open, so the server will not copy it."""


class ProvisionFailed(EnvError):
    """The server refused to create, copy or drop a database (privileges, disk, ...)."""


class LockTimeout(EnvError):
    """Another dbclone process held the lock for longer than we were willing to wait."""


class BadTTL(ConfigError):
    """A time-to-live that does not parse."""
