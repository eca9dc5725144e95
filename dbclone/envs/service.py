"""The branch-database verbs: up, url, reset, down, list, gc, and building the template.

Dialect-free: every server-specific step goes through a :class:`Provisioner`. The rules
that keep other people's databases safe live here, once, for every dialect:

- a database is only dropped or replaced when the registry says dbclone created it (and, where
  the server has ids, it is still the very database dbclone created);
- a database of the wanted name that the registry does not know is an error, never touched;
- everything that reads or writes one branch's registry row holds that branch's lock, so two
  ``up`` for the same branch create one database;
- ``up`` copies the template under a shared lock that the template's swap takes exclusively,
  so a copy never sees a half-swapped template, and databases copied from the old template are
  independent of it (a refresh never touches them).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dbclone import pipeline
from dbclone.config import WorkspaceConfig
from dbclone.config.model import DestinationConfig
from dbclone.dialects import parse_url
from dbclone.dialects.base import DatabaseURL
from dbclone.envs.errors import EnvError, ForeignDatabase, TemplateInUse, UnknownBranch
from dbclone.envs.model import (
    CREATING,
    READY,
    RW_LOCK_PREFIX,
    EnvRecord,
    Provisioner,
    control_name,
    open_provisioner,
    utcnow,
)
from dbclone.envs.names import check_prefix, database_name, default_prefix, fit_name
from dbclone.envs.ttl import DEFAULT_TTL, parse_ttl
from dbclone.errors import ConfigError, did_you_mean
from dbclone.introspect.snapshot import Table


@dataclass(frozen=True)
class EnvTarget:
    """Where one workspace's branch databases live and what they are copied from."""

    config: WorkspaceConfig
    url: DatabaseURL  # the destination URL: its server holds template and branches
    template: str  # database name (SQLite: file stem in the destination's directory)
    prefix: str
    ttl: timedelta | None
    control: str

    @property
    def reserved(self) -> set[str]:
        return {self.template, _base_name(self.url), self.control}


@dataclass
class EnvResult:
    record: EnvRecord
    url: DatabaseURL
    created: bool  # False: the branch database existed already

    def as_dict(self, *, with_password: bool = False) -> dict[str, Any]:
        return {**self.record.as_dict(), "name": self.record.database,
                "url": connection_url(self.url, with_password=with_password),
                "new": self.created}


def connection_url(url: DatabaseURL, *, with_password: bool = False) -> str:
    """A URL a client can connect with. Without ``with_password`` it carries no password
    (libpq then uses PGPASSWORD or ~/.pgpass; MySQL clients MYSQL_PWD or an option file)."""
    # URL.set(password=None) keeps the password in SQLAlchemy 2.1 (None reads as 'not
    # given'): replace the field itself.
    u = url.url if with_password else url.url._replace(password=None)
    return u.render_as_string(hide_password=False)


# -- the workspace's target ----------------------------------------------------------------------

def target(config: WorkspaceConfig, control: str | None = None) -> EnvTarget:
    dst = parse_url(config.destination.url, what=f"{config.path}: destination.url")
    tcfg = config.template
    base = _base_name(dst)
    if tcfg is not None and tcfg.name:
        template = _template_name(dst, tcfg.name, where=f"{config.path}: template.name")
    else:
        template = fit_name(base + "_template")
    if template == base:
        raise ConfigError(f"{config.path}: template.name is the destination's name ({base})",
                          hint="the template is a database of its own; name it differently")
    if tcfg is not None and tcfg.prefix is not None:
        prefix = check_prefix(tcfg.prefix, where=f"{config.path}: template.prefix")
    else:
        prefix = default_prefix(base)
    ttl_text = tcfg.ttl if tcfg is not None and tcfg.ttl else DEFAULT_TTL
    ttl = parse_ttl(ttl_text, where=f"{config.path}: template.ttl")
    return EnvTarget(config, dst, template, prefix, ttl, control_name(control))


def _base_name(url: DatabaseURL) -> str:
    return Path(url.database).stem if url.dialect == "sqlite" else url.database


def _template_name(url: DatabaseURL, name: str, *, where: str) -> str:
    if url.dialect == "sqlite":
        if "/" in name or "\\" in name:
            raise ConfigError(f"{where}: '{name}' is a path",
                              hint="SQLite templates sit in the destination's directory: "
                                   "give a file name")
        suffix = Path(url.database).suffix
        if suffix and name.endswith(suffix):
            name = name[: -len(suffix)]
    if len(name.encode("utf-8")) > 63:
        raise ConfigError(f"{where}: '{name}' is longer than 63 bytes",
                          hint="PostgreSQL cuts longer names; choose a shorter one")
    return name


def resolve_ttl(t: EnvTarget, ttl: str | None) -> timedelta | None:
    return t.ttl if ttl is None else parse_ttl(ttl)


# -- template --------------------------------------------------------------------------------

class _LockAtSwap(pipeline.RunObserver):
    """Passes progress on, and takes the template's exclusive lock just before the swap.

    The pipeline reports ``stage("swap")`` immediately before ``writer.swap()``, so branch
    copies (which hold the lock shared) run during the whole build and wait only while the
    old template is replaced."""

    def __init__(self, inner: pipeline.RunObserver | None, prov: Provisioner, key: str,
                 before_swap: Callable[[], None]) -> None:
        self.inner = inner or pipeline.RunObserver()
        self.prov = prov
        self.key = key
        self.before_swap = before_swap
        self.held = contextlib.ExitStack()

    def stage(self, name: str) -> None:
        if name == "swap":
            self.held.enter_context(self.prov.lock(self.key))
            # Raising here makes the pipeline drop the new copy; the old template stays.
            self.before_swap()
        self.inner.stage(name)

    def table_started(self, table: Table, rows: int | None = None) -> None:
        self.inner.table_started(table, rows)

    def rows_copied(self, table: Table, n: int) -> None:
        self.inner.rows_copied(table, n)

    def table_finished(self, table: Table, report: pipeline.TableReport) -> None:
        self.inner.table_finished(table, report)

    def release(self) -> None:
        self.held.close()


def build_template(config: WorkspaceConfig, observer: pipeline.RunObserver | None = None, *,
                   control: str | None = None) -> pipeline.CloneReport:
    """Clone the workspace, masked, into its template (``clone --as-template``, ``template
    refresh``). The new template is built under a temporary name by the normal pipeline and
    swapped in; branch databases made from the old one are separate copies and keep
    working."""
    t = target(config, control)
    with open_provisioner(t.url, t.control) as prov:
        report = _build(prov, t, observer, only_if_missing=False)
    assert report is not None
    return report


def _build(prov: Provisioner, t: EnvTarget, observer: pipeline.RunObserver | None, *,
           only_if_missing: bool) -> pipeline.CloneReport | None:
    with prov.lock("build:" + t.template):
        exists = prov.exists(t.template)
        claimed = prov.template_claimed(t.template)
        if exists and not claimed:
            raise ForeignDatabase(
                f"database '{t.template}' on {_where(t)} exists, but dbclone did not build it "
                "as a template",
                hint="dbclone never overwrites it: drop it yourself, or name another "
                     "template in the workspace (template: {name: ...})")
        if exists and only_if_missing:
            return None
        if exists:
            _check_template_free(prov, t)  # fail before a long build, not after it
        prov.claim_template(t.template, t.config.name)
        cfg = dataclasses.replace(t.config, destination=DestinationConfig(
            url=prov.database_url(t.template).url.render_as_string(hide_password=False)))
        swap_lock = _LockAtSwap(observer, prov, RW_LOCK_PREFIX + t.template,
                                lambda: _check_template_free(prov, t))
        try:
            report = pipeline.run(cfg, swap_lock)
        except BaseException:
            swap_lock.release()
            if not prov.exists(t.template):
                prov.unclaim_template(t.template)
            raise
        swap_lock.release()
        prov.template_built(t.template, utcnow())
        return report


def _check_template_free(prov: Provisioner, t: EnvTarget) -> None:
    """The swap drops the old template, which would end the sessions of whoever is connected
    to it (someone looking at the template in psql, say): refuse and name them instead."""
    holders = prov.holders(t.template)
    if holders:
        raise TemplateInUse(
            f"cannot replace template '{t.template}' on {_where(t)}: other sessions are "
            f"connected to it: {'; '.join(holders)}",
            hint="close those sessions and run the refresh again; dbclone ends nobody's "
                 "session on its template (branch databases are not affected)")


def _ensure_template(prov: Provisioner, t: EnvTarget,
                     observer: pipeline.RunObserver | None) -> None:
    if prov.exists(t.template) and prov.template_claimed(t.template):
        return
    _build(prov, t, observer, only_if_missing=True)


# -- branch databases --------------------------------------------------------------------------

def branch_name(config: WorkspaceConfig, branch: str, control: str | None = None) -> str:
    t = target(config, control)
    return _name_for(t, branch)


def _name_for(t: EnvTarget, branch: str) -> str:
    name = database_name(branch, t.prefix)
    if name in t.reserved:
        raise EnvError(f"branch '{branch}' maps to database '{name}', which is the workspace's "
                       "template, destination or control database",
                       hint="use another branch name, or set template.prefix in the workspace")
    return name


def up(config: WorkspaceConfig, branch: str, *, ttl: str | None = None,
       now: datetime | None = None, control: str | None = None,
       observer: pipeline.RunObserver | None = None) -> EnvResult:
    """Create the branch's database from the template (building the template first if there
    is none), or return the one that exists. A second ``up`` pushes the expiry out to
    now + ttl, never earlier."""
    t = target(config, control)
    life = resolve_ttl(t, ttl)
    name = _name_for(t, branch)
    when = now or utcnow()
    expires = None if life is None else when + life
    with open_provisioner(t.url, t.control) as prov, prov.lock("branch:" + name):
        rec = prov.record(name)
        if rec is not None and rec.status == READY and prov.exists(name):
            _check_identity(prov, t, rec)
            later = _later(rec.expires, expires)
            if later != rec.expires:
                rec.expires = later
                prov.save(rec)
            return EnvResult(rec, prov.database_url(name), created=False)
        if rec is None and prov.exists(name):
            raise _foreign(t, name)
        if rec is not None and rec.status == CREATING:
            # An earlier up died half-way; the half-made copy is dbclone's: start over.
            prov.drop(name)
        _ensure_template(prov, t, observer)
        rec = EnvRecord(name, branch, t.template, t.config.name, when, expires, CREATING)
        _create(prov, t, rec)
        return EnvResult(rec, prov.database_url(name), created=True)


def _create(prov: Provisioner, t: EnvTarget, rec: EnvRecord, *,
            previous: EnvRecord | None = None) -> None:
    """Copy the template into ``rec.database`` (replacing the existing copy ``previous``
    describes, if any), recording the database as 'creating' while it is made: should this
    process die, the next ``up`` knows the half-made database is dbclone's."""
    prov.save(rec)
    try:
        with prov.lock(RW_LOCK_PREFIX + t.template, shared=True):
            if not prov.exists(t.template):
                raise EnvError(f"the template '{t.template}' on {_where(t)} disappeared",
                               hint=f"run: dbclone template refresh {t.config.path}")
            if previous is not None:
                prov.recreate_from_template(rec.database, t.template)
            else:
                prov.create_from_template(rec.database, t.template)
    except BaseException:
        if not prov.exists(rec.database):
            prov.forget(rec.database)
        elif previous is not None and prov.identity(rec.database) == previous.identity:
            prov.save(previous)  # the old copy is still there, untouched
        raise
    rec.identity = prov.identity(rec.database)
    rec.status = READY
    prov.save(rec)


def url(config: WorkspaceConfig, branch: str, *, control: str | None = None) -> EnvResult:
    t = target(config, control)
    name = _name_for(t, branch)
    with open_provisioner(t.url, t.control) as prov:
        rec = _recorded(prov, t, branch, name)
        if rec.status != READY or not prov.exists(name):
            raise EnvError(f"the database of branch '{branch}' ({name}) is recorded but does "
                           f"not exist (any more) on {_where(t)}",
                           hint=f"run: dbclone env up --branch '{branch}'")
        return EnvResult(rec, prov.database_url(name), created=False)


def reset(config: WorkspaceConfig, branch: str, *, now: datetime | None = None,
          control: str | None = None,
          observer: pipeline.RunObserver | None = None) -> EnvResult:
    """Replace the branch's database by a fresh copy of the template; its time to live starts
    again (with the same length)."""
    t = target(config, control)
    name = _name_for(t, branch)
    when = now or utcnow()
    with open_provisioner(t.url, t.control) as prov, prov.lock("branch:" + name):
        rec = _recorded(prov, t, branch, name)
        exists = prov.exists(name)
        if exists and rec.status == CREATING:
            prov.drop(name)  # an earlier up or reset died half-way: its copy is dbclone's
            exists = False
        if exists:
            _check_identity(prov, t, rec)
        _ensure_template(prov, t, observer)
        life = None if rec.expires is None else rec.expires - rec.created
        fresh = dataclasses.replace(rec, template=t.template, created=when,
                                    expires=None if life is None else when + life,
                                    status=CREATING)
        _create(prov, t, fresh, previous=rec if exists and rec.status == READY else None)
        return EnvResult(fresh, prov.database_url(name), created=True)


def down(config: WorkspaceConfig, branch: str, *, missing_ok: bool = False,
         control: str | None = None) -> EnvRecord | None:
    """Drop the branch's database and forget it. Only a database the registry says dbclone
    created is dropped."""
    t = target(config, control)
    name = _name_for(t, branch)
    with open_provisioner(t.url, t.control) as prov, prov.lock("branch:" + name):
        rec = prov.record(name)
        if rec is None:
            if missing_ok:
                return None
            raise _unknown(prov, t, branch, name)
        _drop_recorded(prov, t, rec)
        return rec


def list_envs(config: WorkspaceConfig, *, all_templates: bool = False,
              control: str | None = None) -> list[dict[str, Any]]:
    """The branch databases made from this workspace's template (or, with
    ``all_templates``, every one on the server), with their size on disk."""
    t = target(config, control)
    with open_provisioner(t.url, t.control) as prov:
        out = []
        for rec in sorted(prov.records(), key=lambda r: (r.template, r.branch)):
            if not all_templates and rec.template != t.template:
                continue
            present = prov.exists(rec.database)
            out.append({**rec.as_dict(), "name": rec.database,
                        "size": prov.size(rec.database) if present else None,
                        "exists": present,
                        "url": connection_url(prov.database_url(rec.database))})
        return out


def gc(config: WorkspaceConfig, *, dry_run: bool = False, now: datetime | None = None,
       all_templates: bool = False, control: str | None = None) -> list[EnvRecord]:
    """Drop the branch databases whose time to live has run out (made from this workspace's
    template, or from any with ``all_templates``). Returns what was (or would be) dropped."""
    t = target(config, control)
    when = now or utcnow()
    dropped = []
    with open_provisioner(t.url, t.control) as prov:
        for rec in sorted(prov.records(), key=lambda r: r.database):
            if not rec.expired(when) or (not all_templates and rec.template != t.template):
                continue
            if dry_run:
                dropped.append(rec)
                continue
            with prov.lock("branch:" + rec.database):
                again = prov.record(rec.database)  # an up may have extended it meanwhile
                if again is None or not again.expired(when):
                    continue
                _drop_recorded(prov, t, again)
                dropped.append(again)
    return dropped


# -- helpers ---------------------------------------------------------------------------------

def _drop_recorded(prov: Provisioner, t: EnvTarget, rec: EnvRecord) -> None:
    if prov.exists(rec.database):
        if rec.status == READY:
            _check_identity(prov, t, rec, forget=True)
        prov.drop(rec.database)
    prov.forget(rec.database)


def _check_identity(prov: Provisioner, t: EnvTarget, rec: EnvRecord, *,
                    forget: bool = False) -> None:
    """The database under the recorded name must be the one dbclone created (where the
    server gives databases ids): someone may have dropped it and made their own."""
    if rec.identity is None:
        return
    now_id = prov.identity(rec.database)
    if now_id is not None and now_id != rec.identity:
        if forget:
            prov.forget(rec.database)
        raise ForeignDatabase(
            f"database '{rec.database}' on {_where(t)} is not the one dbclone created for "
            f"branch '{rec.branch}' (it was dropped and created again by someone else)",
            hint="dbclone leaves it alone" + ("; its registry entry was removed" if forget
                                              else ": drop or rename it yourself"))


def _recorded(prov: Provisioner, t: EnvTarget, branch: str, name: str) -> EnvRecord:
    rec = prov.record(name)
    if rec is None:
        raise _unknown(prov, t, branch, name)
    return rec


def _unknown(prov: Provisioner, t: EnvTarget, branch: str, name: str) -> UnknownBranch:
    known = [r.branch for r in prov.records() if r.template == t.template]
    hint = did_you_mean(branch, known) if known else None
    return UnknownBranch(
        f"no branch database is recorded for branch '{branch}' ({name}) on {_where(t)}",
        hint=hint or ("run 'dbclone env list' for the recorded ones, or "
                      f"'dbclone env up --branch {branch}' to create it"))


def _foreign(t: EnvTarget, name: str) -> ForeignDatabase:
    return ForeignDatabase(
        f"database '{name}' on {_where(t)} exists, but dbclone did not create it",
        hint="dbclone never overwrites it: drop or rename it yourself, or set "
             "template.prefix in the workspace so branch databases get other names")


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return None
    return max(a, b)


def _where(t: EnvTarget) -> str:
    if t.url.dialect == "sqlite":
        return str(Path(t.url.database).expanduser().resolve().parent)
    return f"{t.url.host or 'localhost'}:{t.url.port or ''}".rstrip(":")
