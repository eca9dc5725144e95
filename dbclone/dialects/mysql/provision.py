"""Branch databases on MySQL/MariaDB: a server-side copy of the template.

MySQL has no CREATE DATABASE ... TEMPLATE, so the copy is done as the clone writer does it,
but with every row staying on the server: CREATE DATABASE with the template's character set,
sequences, each table from its own SHOW CREATE TABLE text (keys, FKs, checks, partitions,
AUTO_INCREMENT counter), ``INSERT INTO b.t (cols) SELECT cols FROM tpl.t`` with foreign key
and unique checks off (the template's rows satisfy them already), then routines, views,
triggers and events from SHOW CREATE, after the data so no trigger fires on copied rows. The
DDL helpers and the object creation order are the writer's own.

The registry is the control database (``dbclone_control`` or ``$DBCLONE_CONTROL_DB``) on the
same server. Exclusive locks are GET_LOCK; the template's shared/exclusive lock is an InnoDB
row lock (``LOCK IN SHARE MODE`` / ``FOR UPDATE``) held by a connection of its own, since
named locks have no shared mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pymysql

from dbclone.dialects.base import DatabaseURL
from dbclone.dialects.mysql.connect import connect, error_code, q, scrub, where
from dbclone.dialects.mysql.ddl import requalify
from dbclone.dialects.mysql.reader import MySQLSource
from dbclone.dialects.mysql.writer import SYSTEM_DATABASES, MySQLWriter
from dbclone.envs.errors import ForeignDatabase, LockTimeout, ProvisionFailed
from dbclone.envs.model import (
    RW_LOCK_PREFIX,
    EnvRecord,
    Provisioner,
    lock_key,
    lock_timeout,
)
from dbclone.errors import CloneFailed, DbcloneError

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS envs ("
    " `database` VARCHAR(64) NOT NULL PRIMARY KEY,"
    " branch TEXT NOT NULL,"
    " template VARCHAR(255) NOT NULL,"
    " workspace VARCHAR(255) NOT NULL,"
    " created DATETIME(6) NOT NULL,"
    " expires DATETIME(6) NULL,"
    " status VARCHAR(16) NOT NULL DEFAULT 'ready',"
    " identity VARCHAR(64) NULL"
    ") ENGINE=InnoDB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS templates ("
    " template VARCHAR(255) NOT NULL PRIMARY KEY,"
    " workspace VARCHAR(255) NOT NULL,"
    " claimed DATETIME(6) NOT NULL,"
    " built DATETIME(6) NULL"
    ") ENGINE=InnoDB CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS locks (name CHAR(64) NOT NULL PRIMARY KEY) ENGINE=InnoDB",
)
_COLUMNS = "`database`, branch, template, workspace, created, expires, status, identity"
_ER_DB_CREATE_EXISTS = 1007
_ER_LOCK_WAIT_TIMEOUT = 1205
_PRIVILEGE_ERRORS = (1044, 1045, 1142, 1227)


def open_provisioner(url: DatabaseURL, control: str) -> MySQLProvisioner:
    return MySQLProvisioner(url, control)


def _utc(value: object) -> datetime | None:
    """The connection hands back the server's text ('2024-05-01 10:00:00.000000'); the
    registry stores UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _naive_utc(when: datetime | None) -> datetime | None:
    return None if when is None else when.astimezone(UTC).replace(tzinfo=None)


class _Copier(MySQLWriter):
    """The writer's connection (load sql_mode, FK checks off), error wrapping and object
    creation, pointed at a branch database that is filled from the template on the server."""

    created = False  # CREATE DATABASE succeeded: the database is ours to drop on failure

    def copy(self, src: MySQLSource) -> None:
        snapshot = src.introspect(None)
        name, template = self.dest, self.source_db
        charset, collation = src.database_charset()
        self._exec(f"CREATE DATABASE {q(name)} CHARACTER SET {charset} COLLATE {collation}",
                   doing=f"creating database {name}")
        self.created = True
        self._exec(f"USE {q(name)}", doing=f"using {name}")
        self._exec("SET SESSION unique_checks = 0", doing="setting unique_checks")
        for ref in sorted(snapshot.sequences):
            rows = src.fetch(f"SHOW CREATE SEQUENCE {q(ref.schema)}.{q(ref.name)}")
            self._exec(str(rows[0][1]), doing=f"creating sequence {ref.name}", names=[ref.name])
            self._exec(f"SELECT SETVAL({q(name)}.{q(ref.name)}, "
                       f"{int(src.sequence_next_value(ref))}, 0)",
                       doing=f"setting sequence {ref.name}", names=[ref.name])
        tables = sorted(snapshot.tables.values(), key=lambda t: t.ref)
        for table in tables:
            ddl = requalify(src.show_create_table(table.ref), template, name)
            self._exec(ddl, doing=f"creating table {table.ref.name}",
                       names=[table.ref.name, *table.column_names])
        for table in tables:
            cols = ", ".join(q(c.name) for c in table.writable_columns)
            if not cols:
                continue
            self._exec(f"INSERT INTO {q(name)}.{q(table.ref.name)} ({cols}) "
                       f"SELECT {cols} FROM {q(template)}.{q(table.ref.name)}",
                       doing=f"copying the rows of {table.ref.name}",
                       names=[table.ref.name, *table.column_names])
        self._create_all(src.server_objects(snapshot), name)


class MySQLProvisioner(Provisioner):
    def __init__(self, url: DatabaseURL, control: str) -> None:
        super().__init__(url, control)
        self.at = where(url)
        if control.lower() in SYSTEM_DATABASES:
            raise ProvisionFailed(f"'{control}' is a system database",
                                  hint="set DBCLONE_CONTROL_DB to a database of its own")
        self._conn = connect(url, database=None, what="destination")
        try:
            self._ensure_control()
        except BaseException:
            self._conn.close()
            raise

    # -- control database --------------------------------------------------------------------

    def _ensure_control(self) -> None:
        try:
            with self._conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {q(self.control)} "
                            "CHARACTER SET utf8mb4")
                cur.execute(f"USE {q(self.control)}")
                for stmt in _SCHEMA:
                    cur.execute(stmt)
        except pymysql.MySQLError as exc:
            raise ProvisionFailed(
                f"cannot set up the control database '{self.control}' on {self.at}: "
                f"{scrub(exc, [self.control])}",
                hint=f"create it once as an admin and GRANT ALL ON `{self.control}`.* to the "
                     "dbclone user") from exc

    def _q(self, query: str, args: tuple = ()) -> list[tuple]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(query, args or None)
                return list(cur.fetchall() or ())
        except pymysql.MySQLError as exc:
            raise ProvisionFailed(f"the registry in '{self.control}' on {self.at}: "
                                  f"{scrub(exc, [self.control])}") from exc

    # -- registry ----------------------------------------------------------------------------

    def records(self) -> list[EnvRecord]:
        return [_record(r) for r in self._q(f"SELECT {_COLUMNS} FROM {q(self.control)}.envs")]

    def record(self, database: str) -> EnvRecord | None:
        rows = self._q(f"SELECT {_COLUMNS} FROM {q(self.control)}.envs WHERE `database` = %s",
                       (database,))
        return _record(rows[0]) if rows else None

    def save(self, rec: EnvRecord) -> None:
        self._q(f"REPLACE INTO {q(self.control)}.envs ({_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (rec.database, rec.branch, rec.template, rec.workspace,
                 _naive_utc(rec.created), _naive_utc(rec.expires), rec.status, rec.identity))

    def forget(self, database: str) -> None:
        self._q(f"DELETE FROM {q(self.control)}.envs WHERE `database` = %s", (database,))

    def template_claimed(self, template: str) -> bool:
        return bool(self._q(f"SELECT 1 FROM {q(self.control)}.templates WHERE template = %s",
                            (template,)))

    def claim_template(self, template: str, workspace: str) -> None:
        self._q(f"INSERT IGNORE INTO {q(self.control)}.templates (template, workspace, claimed) "
                "VALUES (%s, %s, UTC_TIMESTAMP(6))", (template, workspace))

    def template_built(self, template: str, when: datetime) -> None:
        self._q(f"UPDATE {q(self.control)}.templates SET built = %s WHERE template = %s",
                (_naive_utc(when), template))

    def unclaim_template(self, template: str) -> None:
        self._q(f"DELETE FROM {q(self.control)}.templates WHERE template = %s", (template,))

    # -- locks -------------------------------------------------------------------------------

    @contextmanager
    def lock(self, key: str, *, shared: bool = False) -> Iterator[None]:
        token = "dbclone_" + lock_key(self.control, key)[:40]
        if key.startswith(RW_LOCK_PREFIX):
            with self._row_lock(key, token, shared):
                yield
            return
        timeout = lock_timeout()
        got = self._q("SELECT GET_LOCK(%s, %s)", (token, timeout))
        if not got or got[0][0] in (None, 0, "0"):
            raise LockTimeout(f"waited {timeout:.0f}s for another dbclone working on "
                              f"{key.split(':', 1)[-1]} on {self.at}",
                              hint="try again later, or raise DBCLONE_LOCK_TIMEOUT")
        try:
            yield
        finally:
            try:
                self._q("SELECT RELEASE_LOCK(%s)", (token,))
            except DbcloneError:
                self._conn.close()  # a closed session releases its locks

    @contextmanager
    def _row_lock(self, key: str, token: str, shared: bool) -> Iterator[None]:
        conn = connect(self.url, database=self.control, what="destination")
        mode = "LOCK IN SHARE MODE" if shared else "FOR UPDATE"
        timeout = max(1, int(lock_timeout()))
        try:
            with conn.cursor() as cur:
                cur.execute("SET SESSION innodb_lock_wait_timeout = %s", (timeout,))
                cur.execute("INSERT IGNORE INTO locks (name) VALUES (%s)", (token,))
                cur.execute("START TRANSACTION")
                cur.execute(f"SELECT name FROM locks WHERE name = %s {mode}", (token,))
        except pymysql.MySQLError as exc:
            conn.close()
            if error_code(exc) == _ER_LOCK_WAIT_TIMEOUT:
                raise LockTimeout(f"waited {timeout}s for another dbclone working on "
                                  f"{key.split(':', 1)[-1]} on {self.at}",
                                  hint="try again later, or raise DBCLONE_LOCK_TIMEOUT") from exc
            raise ProvisionFailed(f"cannot take a lock in '{self.control}' on {self.at}: "
                                  f"{scrub(exc, [self.control])}") from exc
        try:
            yield
        finally:
            try:
                conn.rollback()
                conn.close()
            except pymysql.MySQLError:
                conn._force_close()

    # -- databases ---------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return bool(self._q("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                            (name,)))

    def identity(self, name: str) -> str | None:
        return None  # MySQL gives databases no id: the registry and the name are all we have

    def size(self, name: str) -> int | None:
        rows = self._q("SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES "
                       "WHERE TABLE_SCHEMA = %s", (name,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def create_from_template(self, name: str, template: str) -> None:
        if name.lower() in SYSTEM_DATABASES:
            raise ProvisionFailed(f"'{name}' is a system database", hint="use another branch")
        try:
            src = MySQLSource(self.url.with_database(template))
        except DbcloneError as exc:
            raise ProvisionFailed(f"cannot read template '{template}' on {self.at}: {exc}",
                                  hint=exc.hint) from exc
        copier = _Copier(self.url.with_database(name), self.url.with_database(template))
        try:
            copier.copy(src)
        except BaseException as exc:
            copier._close()
            if copier.created:  # never drop what CREATE DATABASE did not make for us
                self.drop(name)
            if isinstance(exc, CloneFailed):
                code = error_code(exc.__cause__) if exc.__cause__ else None
                raise self._copy_error(exc, code, name, template) from exc
            raise
        finally:
            src.close()
            copier._close()

    def _copy_error(self, exc: CloneFailed, code: int | None, name: str,
                    template: str) -> DbcloneError:
        if code == _ER_DB_CREATE_EXISTS:
            return ForeignDatabase(f"database '{name}' on {self.at} was created by someone "
                                   "else a moment ago", hint="dbclone never overwrites it")
        user = self.url.username or ""
        if code in _PRIVILEGE_ERRORS:
            return ProvisionFailed(
                f"user '{user}' may not create or fill database '{name}' on {self.at}: "
                f"{exc.message.split(' failed: ', 1)[-1]}",
                hint="GRANT CREATE, DROP, INSERT, ALTER, CREATE VIEW, CREATE ROUTINE, TRIGGER, "
                     "EVENT ON *.* (or on the branch databases' names) to this user")
        return ProvisionFailed(f"copying template '{template}' into '{name}' on {self.at} "
                               f"failed: {exc.message.split(': ', 1)[-1]}",
                               hint="the half-made copy was dropped")

    def drop(self, name: str) -> None:
        self._q(f"DROP DATABASE IF EXISTS {q(name)}")

    def close(self) -> None:
        try:
            self._conn.close()
        except pymysql.MySQLError:
            self._conn._force_close()


def _record(row: tuple) -> EnvRecord:
    database, branch, template, workspace, created, expires, status, identity = row
    created_at = _utc(created)
    assert created_at is not None
    return EnvRecord(str(database), str(branch), str(template), str(workspace), created_at,
                     _utc(expires), str(status), None if identity is None else str(identity))
