"""Branch databases on SQLite: files beside the template, each an atomic file copy of it.

The template and the branch files live in the destination's directory, named
``<name><suffix>`` (the destination's suffix, e.g. ``.db``). A copy is written to a hidden
temporary file, fsynced, then linked into place with ``os.link``, which fails if the name is
taken: a file dbclone did not create is never overwritten, and a reader never sees half a
copy. A template left in WAL mode with a non-empty ``-wal`` is copied with SQLite's backup
API instead, so committed pages still in the log are not lost.

The registry is a JSON file beside the template (``dbclone_control.json``, or
``$DBCLONE_CONTROL_DB.json``), rewritten atomically under an exclusive ``flock``. Locks are
``flock`` on small files in ``.dbclone_control.locks/``: per open file, so they exclude
threads as well as processes, and they vanish with the process that held them.

A file's identity is its inode. So that a branch file deleted and created again by someone
else can never get the recorded inode back (file systems reuse freed inode numbers at once),
dbclone keeps a hard link to each branch file it made in ``.dbclone_control.pins/``: the
inode stays in use until ``down``, ``gc`` or ``reset`` lets it go.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dbclone.dialects.base import DatabaseURL
from dbclone.dialects.sqlite.connect import first_line
from dbclone.envs.errors import ForeignDatabase, LockTimeout, ProvisionFailed
from dbclone.envs.model import EnvRecord, Provisioner, lock_key, lock_timeout

_SIDECARS = ("-wal", "-shm", "-journal")
_FORMAT = 1


def open_provisioner(url: DatabaseURL, control: str) -> SQLiteProvisioner:
    return SQLiteProvisioner(url, control)


class SQLiteProvisioner(Provisioner):
    def __init__(self, url: DatabaseURL, control: str) -> None:
        super().__init__(url, control)
        dest = Path(url.database).expanduser().resolve()
        self.dir = dest.parent
        self.suffix = dest.suffix or ".db"
        if not self.dir.is_dir():
            raise ProvisionFailed(f"{self.dir}: the destination's directory does not exist",
                                  hint="create it or fix destination.url")
        self.registry = self.dir / f"{control}.json"
        self.locks = self.dir / f".{control}.locks"
        self.pins = self.dir / f".{control}.pins"

    def path(self, name: str) -> Path:
        return self.dir / f"{name}{self.suffix}"

    def database_url(self, name: str) -> DatabaseURL:
        return self.url.with_database(str(self.path(name)))

    # -- registry ----------------------------------------------------------------------------

    @contextmanager
    def _registry_lock(self, exclusive: bool) -> Iterator[None]:
        with self._flock(self.dir / f".{self.control}.json.lock", exclusive, "the registry"):
            yield

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.registry.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": _FORMAT, "envs": {}, "templates": {}}
        except (OSError, ValueError) as exc:
            raise ProvisionFailed(f"{self.registry}: the registry cannot be read ({exc})",
                                  hint="restore it, or move it away to start a new one "
                                       "(dbclone then forgets its branch files)") from exc
        data.setdefault("envs", {})
        data.setdefault("templates", {})
        return data

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.registry.with_name(f".{self.registry.name}.{secrets.token_hex(4)}")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.registry)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ProvisionFailed(f"{self.registry}: cannot write the registry "
                                  f"({exc.strerror or exc})") from exc

    @contextmanager
    def _edit(self) -> Iterator[dict[str, Any]]:
        with self._registry_lock(True):
            data = self._read()
            yield data
            self._write(data)

    def records(self) -> list[EnvRecord]:
        with self._registry_lock(False):
            return [_record(v) for v in self._read()["envs"].values()]

    def record(self, database: str) -> EnvRecord | None:
        with self._registry_lock(False):
            raw = self._read()["envs"].get(database)
        return None if raw is None else _record(raw)

    def save(self, rec: EnvRecord) -> None:
        with self._edit() as data:
            data["envs"][rec.database] = rec.as_dict() | {
                "created": rec.created.isoformat(),
                "expires": None if rec.expires is None else rec.expires.isoformat()}

    def forget(self, database: str) -> None:
        with self._edit() as data:
            data["envs"].pop(database, None)
        self._unpin(database)

    def template_claimed(self, template: str) -> bool:
        with self._registry_lock(False):
            return template in self._read()["templates"]

    def claim_template(self, template: str, workspace: str) -> None:
        with self._edit() as data:
            data["templates"].setdefault(template, {"workspace": workspace, "built": None})

    def template_built(self, template: str, when: datetime) -> None:
        with self._edit() as data:
            data["templates"].setdefault(template, {})["built"] = when.isoformat()

    def unclaim_template(self, template: str) -> None:
        with self._edit() as data:
            data["templates"].pop(template, None)

    # -- locks -------------------------------------------------------------------------------

    def lock(self, key: str, *, shared: bool = False) -> contextlib.AbstractContextManager[None]:
        try:
            self.locks.mkdir(exist_ok=True)
        except OSError as exc:
            raise ProvisionFailed(f"{self.locks}: cannot create the lock directory "
                                  f"({exc.strerror or exc.__class__.__name__})",
                                  hint="dbclone needs to write in the template's directory"
                                  ) from exc
        return self._flock(self.locks / f"{lock_key(self.control, key)[:32]}.lock",
                           not shared, key.split(":", 1)[-1])

    @contextmanager
    def _flock(self, path: Path, exclusive: bool, what: str) -> Iterator[None]:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        timeout = lock_timeout()
        deadline = time.monotonic() + timeout
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            delay = 0.005
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeout(f"waited {timeout:.0f}s for another dbclone working "
                                          f"on {what} in {self.dir}",
                                          hint="try again later, or raise "
                                               "DBCLONE_LOCK_TIMEOUT") from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # -- databases ---------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def identity(self, name: str) -> str | None:
        try:
            st = self.path(name).stat()
        except FileNotFoundError:
            return None
        return f"{st.st_dev}:{st.st_ino}"  # a copy keeps its inode; a replaced file does not

    def size(self, name: str) -> int | None:
        total = 0
        for p in (self.path(name), Path(f"{self.path(name)}-wal")):
            with contextlib.suppress(FileNotFoundError):
                total += p.stat().st_size
        return total

    def create_from_template(self, name: str, template: str) -> None:
        dst = self.path(name)
        if dst.exists():
            raise ForeignDatabase(f"{dst} exists, but dbclone did not create it",
                                  hint="dbclone never overwrites it")
        self._refuse_sidecars(dst, "belong to an older file of that name")
        tmp = self._copy(template, name)
        try:
            try:
                os.link(tmp, dst)  # fails if dst exists: never overwrite
            except FileExistsError:
                raise ForeignDatabase(f"{dst} was created by someone else a moment ago",
                                      hint="dbclone never overwrites it") from None
            except OSError:
                if dst.exists():  # no hard links here (some network file systems)
                    raise ForeignDatabase(f"{dst} exists, but dbclone did not create it",
                                          hint="dbclone never overwrites it") from None
                os.rename(tmp, dst)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._pin(dst, name)
        _fsync_dir(self.dir)

    def recreate_from_template(self, name: str, template: str) -> None:
        dst = self.path(name)
        self._refuse_sidecars(dst, "mean it is open in WAL mode or mid-transaction")
        tmp = self._copy(template, name)
        try:
            os.replace(tmp, dst)  # readers with the old file open keep reading the old one
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise ProvisionFailed(f"{dst}: cannot put the fresh copy in place "
                                  f"({exc.strerror or exc})") from exc
        self._pin(dst, name)
        _fsync_dir(self.dir)

    def _pin(self, dst: Path, name: str) -> None:
        """Hold ``dst``'s inode with a hidden hard link (see the module's docstring)."""
        pin = self.pins / name
        tmp = self.pins / f".{name}.{secrets.token_hex(4)}"
        try:
            self.pins.mkdir(exist_ok=True)
            os.link(dst, tmp)
            os.replace(tmp, pin)
        except OSError:
            # No hard links on this file system: the inode alone has to do.
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _unpin(self, name: str) -> None:
        with contextlib.suppress(OSError):
            (self.pins / name).unlink()

    def _copy(self, template: str, name: str) -> Path:
        src = self.path(template)
        tmp = self.dir / f".{name}{self.suffix}.dbclone-tmp-{secrets.token_hex(6)}"
        try:
            wal = Path(f"{src}-wal")
            if wal.exists() and wal.stat().st_size > 0:
                _backup(src, tmp)
            else:
                shutil.copyfile(src, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        except FileNotFoundError as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise ProvisionFailed(f"{src}: the template file is missing",
                                  hint="run dbclone template refresh") from exc
        except (OSError, sqlite3.Error) as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            why = first_line(exc) if isinstance(exc, sqlite3.Error) else (exc.strerror or exc)
            raise ProvisionFailed(f"copying {src.name} to {tmp.name} in {self.dir} failed "
                                  f"({why})", hint="check free space and permissions") from exc
        return tmp

    def _refuse_sidecars(self, dst: Path, why: str) -> None:
        for s in ("-wal", "-journal"):
            side = Path(f"{dst}{s}")
            if side.exists() and side.stat().st_size > 0:
                raise ProvisionFailed(f"{side} exists and is not empty: such files {why}",
                                      hint="close programs using the branch database, then "
                                           "retry")

    def drop(self, name: str) -> None:
        dst = self.path(name)
        for p in (dst, *(Path(f"{dst}{s}") for s in _SIDECARS)):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise ProvisionFailed(f"{p}: cannot delete ({exc.strerror or exc})") from exc
        self._unpin(name)


def _backup(src: Path, tmp: Path) -> None:
    """Copy through SQLite itself (committed pages still in the -wal included)."""
    source = sqlite3.connect("file:" + quote(str(src)) + "?mode=ro", uri=True)
    try:
        target = sqlite3.connect(str(tmp))
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can fsync a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _record(raw: dict[str, Any]) -> EnvRecord:
    expires = raw.get("expires")
    return EnvRecord(database=raw["database"], branch=raw["branch"], template=raw["template"],
                     workspace=raw["workspace"], created=datetime.fromisoformat(raw["created"]),
                     expires=None if expires is None else datetime.fromisoformat(expires),
                     status=raw.get("status", "ready"), identity=raw.get("identity"))
