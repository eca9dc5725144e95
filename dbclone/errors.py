"""The one error root. The library raises these; only the CLI prints them and exits.

Messages name *where* (file:line, schema.table.column) and *what*, never row values or
passwords. ``hint`` says what to do about it.
"""

from __future__ import annotations


class DbcloneError(Exception):
    """Root of every error dbclone raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(DbcloneError):
    """The workspace file is malformed or names something that does not exist."""

    exit_code = 2


class ConnectionFailed(DbcloneError):
    """A server could not be reached, refused the login, or lacks the database."""

    exit_code = 3


class PlanError(DbcloneError):
    """The workspace cannot be carried out on this schema (found before any data moves)."""

    exit_code = 4

    def __init__(self, message: str, *, hint: str | None = None,
                 problems: list[str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "".join(f"\n  - {p}" for p in self.problems)


class GeneratorError(DbcloneError):
    """A generator was misconfigured or could not produce a value that fits."""

    exit_code = 4


class CloneFailed(DbcloneError):
    """Writing the destination failed; the half-built destination was removed."""

    exit_code = 5


class SchemaDrift(PlanError):
    """Columns the workspace does not cover (sensitive-looking, or new since ``dbclone init``)
    under ``on_unconfigured: fail``; found before any data moves. ``gate`` holds the findings.
    (6 is taken by ``dbclone env``: see dbclone/envs/errors.py.)"""

    exit_code = 7

    def __init__(self, message: str, *, hint: str | None = None,
                 problems: list[str] | None = None, gate: object = None) -> None:
        super().__init__(message, hint=hint, problems=problems)
        self.gate = gate


class LeakDetected(DbcloneError):
    """The leak audit found source values in the masked copy. ``audit`` holds the counts (never
    the values); ``report`` the run's report so far."""

    exit_code = 8

    def __init__(self, message: str, *, hint: str | None = None, audit: object = None,
                 report: object = None) -> None:
        super().__init__(message, hint=hint)
        self.audit = audit
        self.report = report


class Interrupted(DbcloneError):
    """The run was interrupted (Ctrl-C); the half-built destination was removed."""

    exit_code = 130


def did_you_mean(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """A 'did you mean X?' hint for a misspelt name, or None."""
    import difflib

    lowered = {c.lower(): c for c in choices}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean '{lowered[matches[0]]}'?" if matches else None
