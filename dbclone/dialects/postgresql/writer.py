"""The destination side: build ``<dest>__dbclone_tmp_<random>``, then swap it in.

Order, and why:
1. pre-data DDL (types, tables, sequences, views; no indexes, keys or triggers yet), so
2. COPY loads with nothing to check and no trigger to fire (case 13), in any table order;
3. post-data DDL: indexes, keys, FKs, triggers with their ENABLE/DISABLE state;
4. sequences set to the source's values, read in the source transaction (case 10), and the
   source database's ``ALTER DATABASE ... SET`` settings copied;
5. materialized views refreshed from the destination's (masked) rows, never copied (case 12);
6. ANALYZE, then drop the old destination and rename the temporary database.
Until step 6 the previous destination is untouched; ``abort()`` drops the temporary database.
Steps 4-5 live in :mod:`post_load`.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Sequence

import psycopg
from psycopg import sql

from dbclone.dialects.base import (
    TMP_MARK,
    CopyEvents,
    CopyJob,
    DatabaseURL,
    DestinationWriter,
    Finding,
    Progress,
    RowMasker,
    RowSelection,
    SourceReader,
    TableCopyResult,
    leftover_copies,
)
from dbclone.dialects.postgresql import parallel as par
from dbclone.dialects.postgresql import post_load as post
from dbclone.dialects.postgresql.connect import (
    MAINTENANCE_DBS,
    apply_session_settings,
    connect,
    where,
)
from dbclone.dialects.postgresql.copy_text import CopyFormatError
from dbclone.dialects.postgresql.dump import DumpPipe
from dbclone.dialects.postgresql.early_indexes import EarlyIndexes
from dbclone.dialects.postgresql.errors import safe_message
from dbclone.dialects.postgresql.reader import DatabaseLocale, PgSourceReader, table_pages
from dbclone.dialects.postgresql.transfer import transfer, transfer_selected
from dbclone.errors import CloneFailed, ConfigError, ConnectionFailed
from dbclone.introspect.snapshot import SchemaSnapshot, Table, TableRef

_MAX_NAME_BYTES = 63  # NAMEDATALEN - 1: longer names are silently truncated by the server


def temp_name(dest: str) -> str:
    suffix = TMP_MARK + secrets.token_hex(4)
    head = dest.encode("utf-8")[: _MAX_NAME_BYTES - len(suffix)].decode("utf-8", "ignore")
    return head + suffix


def _ident(ref: TableRef) -> sql.Identifier:
    return sql.Identifier(ref.schema, ref.name)


class PgDestinationWriter(DestinationWriter):
    def __init__(self, url: DatabaseURL, source_url: DatabaseURL) -> None:
        self.url = url
        self.source_url = source_url
        self.tmp_name: str | None = None
        self._admin: psycopg.Connection | None = None
        self._conn: psycopg.Connection | None = None
        self._pipe = DumpPipe()
        self._findings: list[Finding] = []
        self._renamed = False  # the temporary database now is the destination
        self._keep_tmp = False  # the old destination is gone: never drop the only copy
        self._push = True  # the job being copied lets the source compute its masking
        self._pushed = 0  # masked columns the source computed for the last table
        self._early: EarlyIndexes | None = None  # indexes built while other tables load

    # -- connections ------------------------------------------------------------------------

    def _admin_conn(self) -> psycopg.Connection:
        if self._admin is not None and not self._admin.closed:
            return self._admin
        last: ConnectionFailed | None = None
        for maint in MAINTENANCE_DBS:
            if maint == self.url.database:
                continue  # never sit in the database we are about to replace
            try:
                self._admin = connect(self.url, dbname=maint,
                                      application_name="dbclone (destination admin)")
                return self._admin
            except ConnectionFailed as exc:
                if "does not exist" not in exc.message:
                    raise
                last = exc
        assert last is not None
        raise last

    def _tmp_conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            assert self.tmp_name is not None
            self._conn = connect(self.url, dbname=self.tmp_name,
                                 application_name="dbclone (destination load)")
            apply_session_settings(self._conn)
            # copied database settings may include a read-only default: not for the loader
            self._conn.execute("SET default_transaction_read_only = off")
            self._conn.execute("SET statement_timeout = 0")
        return self._conn

    # -- prepare ------------------------------------------------------------------------------

    def prepare(self) -> None:
        try:
            self._prepare()
        except psycopg.Error as exc:
            self._close_admin()
            raise CloneFailed(f"checking the destination server {where(self.url)} failed: "
                              f"{safe_message(exc)}") from exc
        except BaseException:
            self._close_admin()
            raise

    def _prepare(self) -> None:
        admin = self._admin_conn()
        user, can_create, is_super = admin.execute(
            "SELECT current_user, rolcreatedb, rolsuper FROM pg_catalog.pg_roles "
            "WHERE rolname = current_user").fetchone()
        if not (can_create or is_super):
            raise CloneFailed(f"destination user '{user}' cannot create databases on "
                              f"{where(self.url)}",
                              hint=f"ALTER ROLE {user} CREATEDB (the clone is built under a "
                                   "temporary name, then renamed)")
        row = admin.execute(
            "SELECT pg_catalog.pg_get_userbyid(datdba), oid FROM pg_catalog.pg_database "
            "WHERE datname = %s", (self.url.database,)).fetchone()
        if row is not None:
            owner, dest_oid = row
            if owner != user and not is_super:
                raise CloneFailed(
                    f"destination database '{self.url.database}' belongs to '{owner}', so "
                    f"'{user}' cannot replace it",
                    hint="clone as its owner, or choose another destination name")
            self._refuse_if_source(dest_oid)

    def _refuse_if_source(self, dest_oid: int) -> None:
        """Belt and braces over the URL comparison: 'localhost' and '127.0.0.1' name the
        same server, so compare what the servers say about themselves."""
        if self.url.database != self.source_url.database:
            return
        probe = ("SELECT pg_catalog.pg_postmaster_start_time()::text, oid "
                 "FROM pg_catalog.pg_database WHERE datname = current_database()")
        admin = self._admin_conn()
        dest_start = admin.execute("SELECT pg_catalog.pg_postmaster_start_time()::text"
                                   ).fetchone()[0]
        with connect(self.source_url, application_name="dbclone (identity check)") as src:
            src_start, src_oid = src.execute(probe).fetchone()
        if (src_start, src_oid) == (dest_start, dest_oid):
            # a workspace mistake (as on MariaDB), found before anything is written
            raise ConfigError(f"destination {self.url} is the source database",
                              hint="point destination.url at another database name")

    # -- schema -----------------------------------------------------------------------------

    def create_schema(self, source: SourceReader, snapshot: SchemaSnapshot) -> None:
        reader = _pg_reader(source)
        reader.check_sequences_readable(sorted(snapshot.sequences))
        self._create_database(reader.database_locale())
        conn = self._tmp_conn()
        # pg_dump emits CREATE EXTENSION ... WITH SCHEMA s even when s itself is excluded.
        for schema in reader.extension_schemas():
            if schema in reader.all_schemas and schema not in reader.schemas:
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(schema)))
        self._load_section("pre-data", reader)

    def _create_database(self, loc: DatabaseLocale) -> None:
        admin = self._admin_conn()
        self.tmp_name = temp_name(self.url.database)
        base = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
            sql.Identifier(self.tmp_name), sql.Literal(loc.encoding))
        exact = sql.SQL(" LC_COLLATE {} LC_CTYPE {}").format(sql.Literal(loc.collate),
                                                           sql.Literal(loc.ctype))
        if loc.provider == "i" and loc.icu_locale:
            exact = sql.SQL(" LOCALE_PROVIDER icu ICU_LOCALE {}").format(
                sql.Literal(loc.icu_locale)) + exact
        attempts = [(base + exact, None),
                    (base, "the server's default locale"),
                    (base + sql.SQL(" LOCALE 'C'"), "the C locale")]
        last: psycopg.Error | None = None
        for stmt, fallback in attempts:
            try:
                admin.execute(stmt)
            except psycopg.errors.InvalidParameterValue as exc:
                last = exc
                continue  # a locale this server does not have: try a plainer one
            except psycopg.Error as exc:
                raise CloneFailed(f"cannot create the temporary database on "
                                  f"{where(self.url)}: {safe_message(exc)}",
                                  hint="check the destination user's CREATEDB right") from exc
            if fallback:
                self._findings.append(Finding(
                    "warning", self.url.database,
                    f"the destination server lacks the source's locale ({loc.collate}); "
                    f"the clone uses {fallback}, so text may sort differently"))
            self._findings.extend(self._leftovers(admin))
            return
        raise CloneFailed(f"cannot create the temporary database with encoding {loc.encoding} "
                          f"on {where(self.url)}: {safe_message(last)}",
                          hint="the destination server needs a locale for that encoding")

    def _leftovers(self, admin: psycopg.Connection) -> list[Finding]:
        """Half-built copies of this destination that killed runs left (see
        dbclone.dialects.base.leftover_copies)."""
        assert self.tmp_name is not None
        names = [r[0] for r in admin.execute(
            "SELECT d.datname FROM pg_catalog.pg_database d WHERE "
            "pg_catalog.starts_with(d.datname, %s) AND NOT EXISTS (SELECT 1 FROM "
            "pg_catalog.pg_stat_activity a WHERE a.datid = d.oid)",
            (self.tmp_name[:-8],)).fetchall()]
        return leftover_copies(names, self.tmp_name, self.url.database, lambda n: sql.SQL(
            "DROP DATABASE {};").format(sql.Identifier(n)).as_string(admin))

    def _load_section(self, section: str, reader: PgSourceReader) -> None:
        assert self.tmp_name is not None
        self._pipe.load_section(section, reader.url, reader.snapshot_id, reader.dump_filters(),
                                self.url, self.tmp_name)

    # -- data -------------------------------------------------------------------------------

    def copy_table(self, source: SourceReader, table: Table, masker: RowMasker | None,
                   progress: Progress,
                   selection: RowSelection | None = None) -> TableCopyResult:
        reader = _pg_reader(source)
        started = time.monotonic()
        try:
            if not table.writable_columns:
                rows = self._copy_rows_without_columns(reader, table, selection)
                progress(rows)
            elif (ranges := self._ranges(reader, table, masker, selection)) is not None:
                assert self.tmp_name is not None
                ends = par.Endpoints(reader.url, reader.snapshot_id, self.url, self.tmp_name)
                rows = par.copy_in_ranges(ends, table, masker, ranges, progress)
            else:
                rows = self._stream(reader, table, masker, progress, selection)
        except psycopg.Error as exc:
            raise CloneFailed(f"copying {table.ref} failed: {safe_message(exc)}",
                              hint="the half-built destination was removed; the previous "
                                   "destination is untouched") from exc
        except CopyFormatError as exc:
            raise CloneFailed(f"copying {table.ref} failed: {exc}") from exc
        pushed, self._pushed = self._pushed, 0
        return TableCopyResult(rows, rows, time.monotonic() - started, pushed=pushed)

    def copy_tables(self, source: SourceReader, jobs: Sequence[CopyJob],
                    events: CopyEvents) -> None:
        """Big isolated tables (and ranges of big splittable ones) go to worker processes,
        longest first; the rest is copied here meanwhile, in load order. Tables whose masked
        rows other tables' generators record are copied first, before any worker is forked,
        so every worker inherits what they recorded."""
        reader = _pg_reader(source)
        if par.WORKERS < 2 or len(jobs) == 0:
            for job in jobs:
                self._copy_here(source, job, events)
            return
        assert self.tmp_name is not None
        ends = par.Endpoints(reader.url, reader.snapshot_id, self.url, self.tmp_name)
        tables = [j.table for j in jobs]
        if not _fk_cycle(tables):  # else post-data runs in one session (finish)
            self._early = EarlyIndexes(self._pipe, reader.url, reader.snapshot_id,
                                       reader.dump_filters(), self.url, self.tmp_name,
                                       reader.conn, tables)
        early = self._early
        pages = table_pages(reader.conn, tables)
        parts: list[par.Part] = []
        inline: list[CopyJob] = []
        for job in jobs:
            if getattr(job.masker, "observers", ()):
                self._copy_here(source, job, events)  # first: others read what it records
            elif self._forkable(job, pages.get(job.table.ref, 0)):
                parts.extend(self._parts(reader, job, pages[job.table.ref]))
            else:
                inline.append(job)
        left = Counter(p.table.ref for p in parts)
        rows: Counter[TableRef] = Counter()
        begun: dict[TableRef, float] = {}
        fewest: dict[TableRef, int] = {}

        def started(part: par.Part) -> None:
            if part.table.ref not in begun:
                begun[part.table.ref] = time.monotonic()
                events.started(part.table)

        def progress(part: par.Part, n: int) -> None:
            started(part)
            events.progress(part.table, n)
            if early is not None:
                early.pump()

        def done(part: par.Part, n: int, pushed: int) -> None:
            progress(part, 0)  # an empty table still starts
            ref = part.table.ref
            rows[ref] += n
            left[ref] -= 1
            fewest[ref] = min(fewest.get(ref, pushed), pushed)  # a part may have fallen back
            if not left[ref]:
                events.finished(part.table, TableCopyResult(
                    rows[ref], rows[ref], time.monotonic() - begun[ref],
                    workers=sum(1 for p in parts if p.table.ref == ref),
                    pushed=fewest[ref]))
                if early is not None:
                    early.table_done(ref)

        par.run_parts(ends, parts,
                      [lambda j=job: self._copy_here(source, j, events) for job in inline],
                      progress, done, started=started)

    def _copy_here(self, source: SourceReader, job: CopyJob, events: CopyEvents) -> None:
        events.started(job.table)
        table = job.table
        self._push = job.pushdown
        events.finished(table, self.copy_table(source, table, job.masker,
                                               lambda n: events.progress(table, n),
                                               job.selection))
        if self._early is not None:
            self._early.table_done(table.ref)

    @staticmethod
    def _forkable(job: CopyJob, pages: int) -> bool:
        """Worth a worker process: an isolated table with enough pages (a subset's table:
        enough selected rows) that a fork and two connections cost less than the copy."""
        if not (job.isolated and job.table.writable_columns
                and job.table.kind in ("table", "partitioned")):
            return False
        if job.selection is not None:
            return job.selection.expected >= par.FORK_ROWS
        return pages >= par.FORK_PAGES

    @staticmethod
    def _parts(reader: PgSourceReader, job: CopyJob, pages: int) -> list[par.Part]:
        masked = len(job.masker.masked_positions) if job.masker is not None else 0
        if job.selection is not None:  # whole, by key batches: no page ranges of a subset
            cost = job.selection.expected / par.ROWS_PER_PAGE * (1 + 4 * masked)
            return [par.Part(job.table, job.masker, cost=cost, push=job.pushdown,
                             selection=job.selection)]
        cost = pages * (1 + 4 * masked)  # masking costs far more per row than copying
        # Unmasked rows go whole, through one psql pipe, loaded frozen: two ranges would
        # only share the same two cores' server work. Masked rows are split whether Python
        # or the source's SELECT masks them: either way it is CPU work for two processes
        # (1M rows, three columns pushed down: 15.4 s whole, 10.8 s in two ranges).
        ranges = (par.page_ranges(reader.conn, job.table)
                  if masked and par.splittable(job.table, job.masker) else None)
        if not ranges:
            return [par.Part(job.table, job.masker, cost=cost, push=job.pushdown)]
        return [par.Part(job.table, job.masker, lo, hi, cost / len(ranges), job.pushdown)
                for lo, hi in ranges]

    @staticmethod
    def _ranges(reader: PgSourceReader, table: Table, masker: RowMasker | None,
                selection: RowSelection | None) -> list[tuple[int, int | None]] | None:
        """Page ranges for copying a big table in parallel worker processes, or None."""
        if selection is not None or not par.splittable(table, masker):
            return None
        return par.page_ranges(reader.conn, table)

    def _stream(self, reader: PgSourceReader, table: Table, masker: RowMasker | None,
                progress: Progress, selection: RowSelection | None = None) -> int:
        conn = self._tmp_conn()
        if selection is None:
            rows, self._pushed = transfer(reader.conn, conn, table, masker, progress,
                                          push=self._push,
                                          serial=not par.splittable(table, masker))
            return rows
        return transfer_selected(reader.conn, conn, table, masker, selection, progress)

    def _copy_rows_without_columns(self, reader: PgSourceReader, table: Table,
                                   selection: RowSelection | None = None) -> int:
        """A table with nothing to write (no columns, or only generated ones) still has
        rows: insert that many rows of defaults."""
        n = reader.count_rows(table) if selection is None else selection.count
        assert n is not None  # the selection counts a table without columns ahead
        self._tmp_conn().execute(
            sql.SQL("INSERT INTO {} SELECT FROM pg_catalog.generate_series(1, %s)").format(
                _ident(table.ref)), (n,))
        return n

    # -- finish -----------------------------------------------------------------------------

    def finish(self, source: SourceReader, snapshot: SchemaSnapshot) -> list[Finding]:
        reader = _pg_reader(source)
        findings = list(self._findings)
        if self._early is not None:
            # what copy_tables did not build early, side by side, as pg_restore -j does
            self._close_tmp()  # sessions of ours would only wait on pg_restore's locks
            early, self._early = self._early, None
            try:
                early.finish(self._pipe, par.WORKERS)
            finally:
                early.close()
        elif par.WORKERS >= 2 and not _fk_cycle(list(snapshot.tables.values())):
            # indexes and keys built side by side, as pg_restore -j does
            assert self.tmp_name is not None
            self._close_tmp()  # sessions of ours would only wait on pg_restore's locks
            self._pipe.restore_section("post-data", reader.url, reader.snapshot_id,
                                       reader.dump_filters(), self.url, self.tmp_name,
                                       par.WORKERS)
        else:
            self._load_section("post-data", reader)
        if self.keys_built is not None:
            self.keys_built()  # what is left takes no lock a reader waits on, nor one it holds
        post.set_sequences(self._tmp_conn(), reader, snapshot)
        settings = reader.database_settings()
        if settings:
            assert self.tmp_name is not None
            findings.extend(post.copy_database_settings(self._admin_conn(), self.tmp_name,
                                                        settings, self.url.database))
            self._close_tmp()  # settings apply to new sessions: refresh as the app would
        findings.extend(post.refresh_matviews(self._tmp_conn(), snapshot))
        findings.extend(post.trigger_notes(snapshot))
        try:
            self._tmp_conn().execute("ANALYZE")
        except psycopg.Error as exc:
            findings.append(Finding("warning", self.url.database,
                                    f"ANALYZE failed: {safe_message(exc)}"))
        return findings

    # -- swap / abort -----------------------------------------------------------------------

    def staged_url(self) -> DatabaseURL | None:
        return self.url.with_database(self.tmp_name) if self.tmp_name else None

    def swap(self) -> None:
        assert self.tmp_name is not None
        self._close_tmp()
        admin = self._admin_conn()
        dest = sql.Identifier(self.url.database)
        try:
            exists = admin.execute("SELECT 1 FROM pg_catalog.pg_database WHERE datname = %s",
                                   (self.url.database,)).fetchone()
            if exists:
                # Only ever the destination's exact name: FORCE ends its sessions.
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(dest))
        except psycopg.Error as exc:
            raise CloneFailed(f"cannot drop the previous destination {self.url.database}: "
                              f"{safe_message(exc)}",
                              hint="the previous destination is untouched") from exc
        self._keep_tmp = True
        try:
            admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(self.tmp_name), dest))
        except psycopg.Error as exc:
            raise CloneFailed(
                f"the clone is complete as database '{self.tmp_name}' but could not be "
                f"renamed to '{self.url.database}': {safe_message(exc)}",
                hint=f'ALTER DATABASE "{self.tmp_name}" RENAME TO "{self.url.database}"'
            ) from exc
        self._renamed = True
        self._close_admin()

    def abort(self) -> None:
        self._pipe.terminate()
        if self._early is not None:
            self._early.close()
            self._early = None
        self._close_tmp()
        if self.tmp_name is None or self._keep_tmp or self._renamed:
            self._close_admin()
            return
        try:
            if (self._admin is not None and self._admin.info.transaction_status
                    != psycopg.pq.TransactionStatus.IDLE):
                self._close_admin()  # a connection interrupted mid-statement is unusable
            self._admin_conn().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                                       .format(sql.Identifier(self.tmp_name)))
        except (psycopg.Error, ConnectionFailed):
            pass  # best effort: the original error is what the user needs to see
        finally:
            self._close_admin()

    def _close_tmp(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _close_admin(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None


def _fk_cycle(tables: Sequence[Table]) -> bool:
    """Whether foreign keys between different tables form a cycle. pg_restore -j may then
    add two of its constraints at once, each locking both tables in the other order, and
    deadlock (seen in CI): such a schema's post-data is replayed by one session."""
    import networkx as nx

    edges = [(fk.table, fk.ref_table) for t in tables
             for fk in t.foreign_keys if fk.table != fk.ref_table]
    return not nx.is_directed_acyclic_graph(nx.DiGraph(edges))


def _pg_reader(source: SourceReader) -> PgSourceReader:
    if not isinstance(source, PgSourceReader):
        raise TypeError("the PostgreSQL writer needs a PostgreSQL source")
    return source
