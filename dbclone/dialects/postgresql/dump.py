"""Schema DDL through the PostgreSQL client programs: ``pg_dump --schema-only`` (inside the
source's exported snapshot) piped into ``psql`` on the temporary destination database; or,
for the post-data section (indexes, keys, triggers), written as an archive that
``pg_restore -j`` replays on several connections, building indexes side by side.

pg_dump already knows every object kind and the order to create it in; doing it ourselves
would mean re-implementing it. Passwords go in the environment, never in argv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import IO

from dbclone.dialects.base import DatabaseURL
from dbclone.dialects.postgresql.connect import client_env, conninfo
from dbclone.dialects.postgresql.errors import psql_error
from dbclone.errors import CloneFailed

# pg_dump options shared by both sections. Ownership, grants, tablespaces, publications,
# subscriptions and security labels describe the production server, not a dev copy.
_DUMP_OPTIONS = ("--schema-only", "--no-owner", "--no-privileges", "--no-tablespaces",
                 "--no-publications", "--no-subscriptions", "--no-security-labels")
# pg_restore applies what an archive holds: the same exclusions again, on its side.
_RESTORE_OPTIONS = ("--no-owner", "--no-privileges", "--no-tablespaces", "--no-publications",
                    "--no-subscriptions", "--no-security-labels")


def client_program(name: str) -> str:
    """Path to pg_dump/psql: $DBCLONE_PG_BINDIR first, then PATH."""
    bindir = os.environ.get("DBCLONE_PG_BINDIR")
    found = (shutil.which(name, path=bindir) if bindir else None) or shutil.which(name)
    if not found:
        raise CloneFailed(f"the PostgreSQL client program '{name}' was not found",
                          hint="install the PostgreSQL client (e.g. postgresql-client) at "
                               "least as new as the source server, or set DBCLONE_PG_BINDIR")
    return found


_STEP = {
    "pre-data": ("creating tables, types and functions (pre-data)",
                 "the destination server needs the extensions the source uses"),
    "post-data": ("adding indexes, constraints and triggers (post-data)",
                  "a unique index or constraint may not hold on the masked values: check the "
                  "rules for the columns it covers"),
}


@dataclass
class DumpPipe:
    """pg_dump | psql, interruptible: ``terminate()`` stops whatever is still running."""

    running: list[subprocess.Popen] = field(default_factory=list)

    def load_section(self, section: str, source: DatabaseURL, snapshot_id: str,
                     filters: list[str], dest: DatabaseURL, dest_db: str) -> None:
        dump_cmd = [client_program("pg_dump"), *_DUMP_OPTIONS, f"--section={section}",
                    f"--snapshot={snapshot_id}", *filters,
                    "--dbname", conninfo(source, password=False,
                                         application_name="dbclone (pg_dump)")]
        psql_cmd = [client_program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "--dbname", conninfo(dest, dbname=dest_db, password=False,
                                         application_name="dbclone (psql)")]
        with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as psql_err:
            dump = subprocess.Popen(dump_cmd, stdout=subprocess.PIPE, stderr=dump_err,
                                    stdin=subprocess.DEVNULL, env=client_env(source))
            self.running.append(dump)
            try:
                psql = subprocess.Popen(psql_cmd, stdin=dump.stdout, stdout=subprocess.DEVNULL,
                                        stderr=psql_err, env=client_env(dest))
            except BaseException:
                self.terminate()
                raise
            self.running.append(psql)
            assert dump.stdout is not None
            dump.stdout.close()  # psql owns the read end; pg_dump sees EPIPE if psql stops
            try:
                psql_rc = psql.wait()
                dump_rc = dump.wait()
            finally:
                self.terminate()
            dump_text = read_all(dump_err)
            psql_text = read_all(psql_err)
        # psql first: when it stops, pg_dump dies of a broken pipe, which says nothing.
        if psql_rc != 0:
            what, hint = _STEP.get(section, (section, ""))
            raise CloneFailed(f"{what} in the destination failed: {psql_error(psql_text)}",
                              hint=f"{hint}; the previous destination is untouched")
        if dump_rc != 0:
            raise _dump_failed(section, dump_text)

    def restore_section(self, section: str, source: DatabaseURL, snapshot_id: str,
                        filters: list[str], dest: DatabaseURL, dest_db: str,
                        jobs: int) -> None:
        """The section as a custom-format archive, replayed by ``pg_restore -j jobs``."""
        with tempfile.TemporaryDirectory(prefix="dbclone-") as tmp:
            archive = os.path.join(tmp, f"{section}.dump")
            self.dump_archive(section, source, snapshot_id, filters, archive)
            self.restore_archive(section, archive, dest, dest_db, jobs)

    def dump_archive(self, section: str, source: DatabaseURL, snapshot_id: str,
                     filters: list[str], archive: str) -> None:
        """The section, as the snapshot sees it, into a custom-format archive file."""
        dump_cmd = [client_program("pg_dump"), *_DUMP_OPTIONS, f"--section={section}",
                    "--format=custom", f"--file={archive}", f"--snapshot={snapshot_id}",
                    *filters, "--dbname", conninfo(source, password=False,
                                                   application_name="dbclone (pg_dump)")]
        rc, text = self._run(dump_cmd, client_env(source))
        if rc != 0:
            raise _dump_failed(section, text)

    def restore_archive(self, section: str, archive: str, dest: DatabaseURL, dest_db: str,
                        jobs: int, use_list: str | None = None) -> None:
        """Replay an archive (only the entries of ``use_list``, a ``pg_restore -l`` listing,
        when given) with ``jobs`` connections."""
        restore_cmd = restore_command(section, archive, dest, dest_db, jobs, use_list)
        rc, text = self._run(restore_cmd, client_env(dest))
        if rc != 0:
            raise restore_failed(section, text)

    def _run(self, cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                    stdin=subprocess.DEVNULL, env=env)
            self.running.append(proc)
            try:
                rc = proc.wait()
            finally:
                self.terminate()
            return rc, read_all(err)

    def terminate(self) -> None:
        stop(self.running)
        self.running.clear()


def restore_command(section: str, archive: str, dest: DatabaseURL, dest_db: str, jobs: int,
                    use_list: str | None = None) -> list[str]:
    listing = [f"--use-list={use_list}"] if use_list is not None else []
    return [client_program("pg_restore"), *_RESTORE_OPTIONS, "--exit-on-error",
            f"--section={section}", f"--jobs={jobs}", *listing, "--dbname",
            conninfo(dest, dbname=dest_db, password=False,
                     application_name="dbclone (pg_restore)"), archive]


def restore_failed(section: str, text: str) -> CloneFailed:
    what, hint = _STEP.get(section, (section, ""))
    return CloneFailed(f"{what} in the destination failed: {psql_error(text)}",
                       hint=f"{hint}; the previous destination is untouched")


def archive_listing(archive: str) -> list[str]:
    """``pg_restore -l``: one line per entry of the archive (';' lines are comments)."""
    proc = subprocess.run([client_program("pg_restore"), "--list", archive],
                          capture_output=True, stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise CloneFailed("reading the post-data archive failed: "
                          f"{psql_error(proc.stderr.decode('utf-8', 'replace'))}")
    return proc.stdout.decode("utf-8", "replace").splitlines()


def _dump_failed(section: str, text: str) -> CloneFailed:
    hint = ("install a pg_dump at least as new as the source server, or set "
            "DBCLONE_PG_BINDIR" if "version mismatch" in text
            else "check that the source user can read every object in the schemas")
    return CloneFailed(f"pg_dump of the schema ({section}) failed: {psql_error(text)}",
                       hint=hint)


def stop(procs: list[subprocess.Popen]) -> None:
    """End every still-running client program: politely, then by force after 10 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def read_all(f: IO[bytes]) -> str:
    """A client program's captured stderr, from the start."""
    f.seek(0)
    return f.read().decode("utf-8", "replace")
