"""Branch databases on PostgreSQL: ``CREATE DATABASE b TEMPLATE t STRATEGY FILE_COPY``.

FILE_COPY copies the template's files at the file-system level (3-4x faster than the default
WAL_LOG for large templates); the server refuses it while anyone else is connected to the
template, so dbclone never connects to a template itself (it works from the control
database), and when someone else is, it names them (pid, user, application, client address;
never what they run).

The registry is two tables in the control database (``dbclone_control``, or
``$DBCLONE_CONTROL_DB``) on the same server; locks are advisory locks held by the session on
that database (shared ones for copies of a template, exclusive ones for its swap).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from dbclone.dialects.base import DatabaseURL
from dbclone.dialects.postgresql.connect import MAINTENANCE_DBS, connect, where
from dbclone.dialects.postgresql.errors import safe_message
from dbclone.dialects.postgresql.writer import temp_name
from dbclone.envs.errors import (
    ForeignDatabase,
    LockTimeout,
    ProvisionFailed,
    TemplateInUse,
)
from dbclone.envs.model import EnvRecord, Provisioner, lock_key, lock_timeout
from dbclone.errors import ConnectionFailed

ENVS_TABLE = "dbclone_envs"
TEMPLATES_TABLE = "dbclone_templates"
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {ENVS_TABLE} ("
    " database text PRIMARY KEY,"
    " branch text NOT NULL,"
    " template text NOT NULL,"
    " workspace text NOT NULL,"
    " created timestamptz NOT NULL,"
    " expires timestamptz,"
    " status text NOT NULL DEFAULT 'ready',"
    " identity text)",
    f"CREATE TABLE IF NOT EXISTS {TEMPLATES_TABLE} ("
    " template text PRIMARY KEY,"
    " workspace text NOT NULL,"
    " claimed timestamptz NOT NULL DEFAULT now(),"
    " built timestamptz)",
)
_COLUMNS = "database, branch, template, workspace, created, expires, status, identity"
_APP = "dbclone (env)"
_FILE_COPY_SINCE = 150000  # STRATEGY arrived in PostgreSQL 15; before, every copy was FILE_COPY


def open_provisioner(url: DatabaseURL, control: str) -> PgProvisioner:
    return PgProvisioner(url, control)


def _lock_id(control: str, key: str) -> int:
    return int.from_bytes(bytes.fromhex(lock_key(control, key)[:16]), "big", signed=True)


class PgProvisioner(Provisioner):
    def __init__(self, url: DatabaseURL, control: str) -> None:
        super().__init__(url, control)
        self.at = where(url)
        self._conn = self._open_control()
        try:
            self._ensure_tables()
        except BaseException:
            self._conn.close()
            raise

    # -- control database --------------------------------------------------------------------

    def _open_control(self) -> psycopg.Connection:
        try:
            return connect(self.url, dbname=self.control, application_name=_APP)
        except ConnectionFailed as exc:
            if "does not exist" not in exc.message:
                raise
        self._create_control_database()
        return connect(self.url, dbname=self.control, application_name=_APP)

    def _create_control_database(self) -> None:
        last: ConnectionFailed | None = None
        for maint in MAINTENANCE_DBS:
            try:
                admin = connect(self.url, dbname=maint, application_name=_APP)
            except ConnectionFailed as exc:
                last = exc
                continue
            with admin:
                try:
                    admin.execute(sql.SQL("CREATE DATABASE {}").format(
                        sql.Identifier(self.control)))
                except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                    pass  # another dbclone created it a moment ago
                except psycopg.Error as exc:
                    raise ProvisionFailed(
                        f"cannot create the control database '{self.control}' on {self.at}: "
                        f"{safe_message(exc)}",
                        hint=f"create it once as an admin (CREATE DATABASE {self.control} "
                             "OWNER <the dbclone user>), or grant the user CREATEDB") from exc
            return
        assert last is not None
        raise last

    def _ensure_tables(self) -> None:
        have = self._conn.execute("SELECT to_regclass(%s) IS NOT NULL AND "
                                  "to_regclass(%s) IS NOT NULL",
                                  (ENVS_TABLE, TEMPLATES_TABLE)).fetchone()
        if have and have[0]:
            return
        try:
            with self._conn.transaction():
                # CREATE TABLE IF NOT EXISTS races with itself (a duplicate pg_type row):
                # serialize the first runs.
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)",
                                   (_lock_id(self.control, "schema"),))
                for stmt in _SCHEMA:
                    self._conn.execute(stmt)
        except psycopg.Error as exc:
            raise ProvisionFailed(f"cannot create the registry tables in '{self.control}' on "
                                  f"{self.at}: {safe_message(exc)}",
                                  hint=f"the dbclone user needs CREATE on database "
                                       f"{self.control}'s public schema") from exc

    def _q(self, query: str, args: tuple = ()) -> list[tuple]:
        try:
            cur = self._conn.execute(query, args)
            return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise ProvisionFailed(f"the registry in '{self.control}' on {self.at}: "
                                  f"{safe_message(exc)}") from exc

    # -- registry ----------------------------------------------------------------------------

    def records(self) -> list[EnvRecord]:
        return [_record(r) for r in self._q(f"SELECT {_COLUMNS} FROM {ENVS_TABLE}")]

    def record(self, database: str) -> EnvRecord | None:
        rows = self._q(f"SELECT {_COLUMNS} FROM {ENVS_TABLE} WHERE database = %s",
                       (database,))
        return _record(rows[0]) if rows else None

    def save(self, rec: EnvRecord) -> None:
        self._q(f"INSERT INTO {ENVS_TABLE} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (database) DO UPDATE SET branch = EXCLUDED.branch, "
                "template = EXCLUDED.template, workspace = EXCLUDED.workspace, "
                "created = EXCLUDED.created, expires = EXCLUDED.expires, "
                "status = EXCLUDED.status, identity = EXCLUDED.identity",
                (rec.database, rec.branch, rec.template, rec.workspace, rec.created,
                 rec.expires, rec.status, rec.identity))

    def forget(self, database: str) -> None:
        self._q(f"DELETE FROM {ENVS_TABLE} WHERE database = %s", (database,))

    def template_claimed(self, template: str) -> bool:
        return bool(self._q(f"SELECT 1 FROM {TEMPLATES_TABLE} WHERE template = %s",
                            (template,)))

    def claim_template(self, template: str, workspace: str) -> None:
        self._q(f"INSERT INTO {TEMPLATES_TABLE} (template, workspace) VALUES (%s, %s) "
                "ON CONFLICT (template) DO NOTHING", (template, workspace))

    def template_built(self, template: str, when: datetime) -> None:
        self._q(f"UPDATE {TEMPLATES_TABLE} SET built = %s WHERE template = %s",
                (when, template))

    def unclaim_template(self, template: str) -> None:
        self._q(f"DELETE FROM {TEMPLATES_TABLE} WHERE template = %s", (template,))

    # -- locks -------------------------------------------------------------------------------

    @contextmanager
    def lock(self, key: str, *, shared: bool = False) -> Iterator[None]:
        lid = _lock_id(self.control, key)
        kind = "_shared" if shared else ""
        timeout = lock_timeout()
        try:
            self._conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
            self._conn.execute(f"SELECT pg_advisory_lock{kind}(%s)", (lid,))
        except psycopg.errors.LockNotAvailable as exc:
            raise LockTimeout(f"waited {timeout:.0f}s for another dbclone working on "
                              f"{key.split(':', 1)[-1]} on {self.at}",
                              hint="try again later, or raise DBCLONE_LOCK_TIMEOUT") from exc
        except psycopg.Error as exc:
            raise ProvisionFailed(f"cannot take a lock in '{self.control}' on {self.at}: "
                                  f"{safe_message(exc)}") from exc
        finally:
            if not self._conn.closed and self._conn.info.transaction_status == \
                    psycopg.pq.TransactionStatus.IDLE:
                self._conn.execute("SET lock_timeout = 0")
        try:
            yield
        finally:
            if not self._conn.closed:
                try:
                    self._conn.execute(f"SELECT pg_advisory_unlock{kind}(%s)", (lid,))
                except psycopg.Error:
                    self._conn.close()  # closing the session releases its locks

    # -- databases ---------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s",
                            (name,)))

    def identity(self, name: str) -> str | None:
        rows = self._q("SELECT oid::text FROM pg_catalog.pg_database WHERE datname = %s",
                       (name,))
        return str(rows[0][0]) if rows else None

    def size(self, name: str) -> int | None:
        try:
            row = self._conn.execute("SELECT pg_catalog.pg_database_size(%s)",
                                     (name,)).fetchone()
        except psycopg.Error:
            return None  # no CONNECT right, or dropped meanwhile
        return int(row[0]) if row and row[0] is not None else None

    def create_from_template(self, name: str, template: str) -> None:
        stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                               sql.Identifier(template))
        if self._conn.info.server_version >= _FILE_COPY_SINCE:
            stmt += sql.SQL(" STRATEGY FILE_COPY")
        for attempt in (1, 2):
            try:
                self._conn.execute(stmt)
                return
            except psycopg.errors.ObjectInUse as exc:
                # The server already waited 5 s for the template's sessions to go away.
                holders = self.holders(template)
                if holders or attempt == 2:
                    raise TemplateInUse(
                        f"cannot copy template '{template}' on {self.at}: other sessions are "
                        f"connected to it: {'; '.join(holders) or 'gone by now'}",
                        hint="close those sessions (or pg_terminate_backend(pid) them); "
                             "a template must have no connections while it is copied") from exc
            except psycopg.errors.DuplicateDatabase as exc:
                raise ForeignDatabase(f"database '{name}' on {self.at} was created by someone "
                                      "else a moment ago",
                                      hint="dbclone never overwrites it") from exc
            except psycopg.errors.InsufficientPrivilege as exc:
                raise self._privilege_error(exc, template) from exc
            except psycopg.Error as exc:
                raise ProvisionFailed(f"cannot create database '{name}' from template "
                                      f"'{template}' on {self.at}: {safe_message(exc)}") from exc

    def holders(self, database: str) -> list[str]:
        """Who is connected to ``database``: pid, user, application, client; never the
        text of their queries (it may hold values)."""
        rows = self._q("SELECT pid, usename, application_name, host(client_addr), "
                       "client_hostname FROM pg_catalog.pg_stat_activity "
                       "WHERE datname = %s AND pid <> pg_backend_pid() ORDER BY pid",
                       (database,))
        out = [f"pid {pid} (user {user or '?'}, application '{app or ''}', client "
               f"{addr or host or 'local socket'})" for pid, user, app, addr, host in rows]
        prepared = self._q("SELECT gid, owner FROM pg_catalog.pg_prepared_xacts "
                           "WHERE database = %s", (database,))
        out.extend(f"prepared transaction {gid} (user {owner})" for gid, owner in prepared)
        return out

    def _privilege_error(self, exc: psycopg.Error, template: str) -> ProvisionFailed:
        user = self._q("SELECT current_user")[0][0]
        if "copy database" in (exc.diag.message_primary or ""):
            return ProvisionFailed(
                f"user '{user}' may not copy template '{template}' on {self.at}",
                hint=f"run dbclone as the template's owner, or ALTER DATABASE {template} "
                     "IS_TEMPLATE true to let CREATEDB users copy it")
        return ProvisionFailed(f"user '{user}' may not create databases on {self.at}",
                               hint=f"ALTER ROLE {user} CREATEDB")

    def recreate_from_template(self, name: str, template: str) -> None:
        """Copy first, under a temporary name; only then drop the old copy and rename. A
        failed copy (template in use, disk full) leaves the branch database as it was."""
        tmp = temp_name(name)
        self.create_from_template(tmp, template)
        try:
            self.drop(name)
        except BaseException:
            self.drop(tmp)
            raise
        try:
            self._conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(tmp), sql.Identifier(name)))
        except psycopg.Error as exc:
            self.drop(tmp)
            raise ProvisionFailed(f"the fresh copy of '{template}' could not be renamed to "
                                  f"'{name}' on {self.at}: {safe_message(exc)}",
                                  hint="run dbclone env up again") from exc

    def drop(self, name: str) -> None:
        try:
            # FORCE ends the branch's own sessions (a test run, an app): this is the database
            # dbclone created for the branch, nothing else.
            self._conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        except psycopg.Error as exc:
            raise ProvisionFailed(f"cannot drop database '{name}' on {self.at}: "
                                  f"{safe_message(exc)}",
                                  hint="only its owner (or a superuser) may drop it") from exc

    def close(self) -> None:
        self._conn.close()


def _record(row: tuple[Any, ...]) -> EnvRecord:
    return EnvRecord(*row)
