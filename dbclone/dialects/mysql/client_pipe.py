"""A full clone's tables through the ``mariadb`` (or ``mysql``) command-line client.

pymysql parses every field of every row in Python, and a multi-row INSERT is re-parsed by the
server: a 500,000-row table took four times as long as ``mariadb-dump | mariadb``. Here C does
the bulk work. One client session reads every table, one after the other, inside one
``START TRANSACTION WITH CONSISTENT SNAPSHOT`` (so the tables agree with each other, as a
serial read does); a fresh client per table loads it with ``LOAD DATA LOCAL INFILE
'/dev/stdin'``. Python sits between them: it cuts the reader's output into tables at a random
marker line and passes unmasked tables on block by block, without looking at rows; only masked
tables are split into rows, and only their masked fields are decoded and rewritten.

The client's batch output escapes tab, newline, NUL and backslash, exactly what LOAD DATA's
``ESCAPED BY '\\\\'`` reads back, but prints NULL as the word ``NULL``. So a nullable text
column is read as ``COALESCE(col, '<this run's random NULL token>')`` and loaded through a
variable (``CONCAT`` would turn a value longer than max_allowed_packet into NULL); other
nullable columns can never read ``NULL`` as a value (numbers, dates, hex). Binary columns
travel as hex, BIT as its integer.

With LOCAL, the server turns load errors into warnings (it cannot stop the client sending), so
every load ends with ``@@warning_count``, and a warning fails the clone: nothing is truncated
or skipped silently. The data snapshot is the client's, taken a moment after the one dbclone
read the schema in; a subset keeps to one snapshot and uses pymysql (writer.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from dbclone import native
from dbclone.dialects.base import CopyEvents, CopyJob, DatabaseURL, RowMasker, TableCopyResult
from dbclone.dialects.mysql.connect import DEFAULT_PORT, password, q, qt, scrub_text
from dbclone.dialects.mysql.masked import binary_value, bit_value
from dbclone.dialects.mysql.reader import READ_SQL_MODE, select_expr
from dbclone.dialects.postgresql.copy_text import RowSplitter
from dbclone.errors import CloneFailed, ConfigError
from dbclone.introspect.snapshot import Column, Table, TypeCategory

CHUNK = 1 << 20
# Column kinds the client's text form carries exactly; a table with any other (spatial,
# INET6, VECTOR) sends the whole run through pymysql, so all tables share one snapshot.
_CARRIED = frozenset({TypeCategory.TEXT, TypeCategory.INTEGER, TypeCategory.NUMERIC,
                      TypeCategory.DATE, TypeCategory.TIMESTAMP, TypeCategory.TIME,
                      TypeCategory.JSON, TypeCategory.UUID, TypeCategory.BIT,
                      TypeCategory.BINARY, TypeCategory.ENUM})
_MAY_READ_NULL = frozenset({TypeCategory.TEXT, TypeCategory.JSON, TypeCategory.ENUM})
_UNTOUCHED = "the half-built copy was removed; the existing destination is untouched"
_WARNINGS = {1062: "a duplicate key", 1406: "a value too long for its column",
             1265: "a value cut to fit its column", 1264: "a value out of range",
             1366: "a value its column does not accept", 1292: "an invalid date or time",
             1048: "NULL in a NOT NULL column", 1452: "a missing parent row"}


def client_program() -> str | None:
    """The command-line client: ``DBCLONE_MYSQL_CLIENT`` (``off``: none), else mariadb, else
    mysql, else None."""
    chosen = os.environ.get("DBCLONE_MYSQL_CLIENT", "")
    if chosen.lower() in ("0", "off", "none"):
        return None
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            raise ConfigError(f"DBCLONE_MYSQL_CLIENT={chosen}: no such program",
                              hint="set it to a mariadb or mysql client (a path or a name on "
                                   "the PATH), or to off for pymysql")
        return found
    return shutil.which("mariadb") or shutil.which("mysql")


def usable(source: DatabaseURL, dest: DatabaseURL, jobs: Sequence[CopyJob]) -> bool:
    """Whether these jobs can all go through the client (else all go through pymysql)."""
    if any(job.selection is not None for job in jobs):
        return False
    # TLS options are pymysql's spelling; rather than translate them, keep such runs there.
    if any(k.startswith("ssl") for url in (source, dest) for k in url.query):
        return False
    if not (_quotable(source) and _quotable(dest)):
        return False
    return all(c.category in _CARRIED for job in jobs for c in job.table.writable_columns)


@dataclass(frozen=True)
class _Field:
    """How one column is read and loaded."""

    column: Column
    index: int
    null_token: str

    @property
    def kind(self) -> TypeCategory:
        return self.column.category

    @property
    def null_marked(self) -> bool:
        """A NULL is read as the run's token, since the text 'NULL' may be a value."""
        return self.column.nullable and self.kind in _MAY_READ_NULL

    @property
    def select(self) -> str:
        name = q(self.column.name)
        if self.kind is TypeCategory.BINARY:
            return f"HEX({name})"
        if self.kind is TypeCategory.BIT:
            return f"({name} + 0)"
        if self.null_marked:
            return f"COALESCE({name}, '{self.null_token}')"
        return select_expr(self.column)

    @property
    def via_variable(self) -> bool:
        return self.column.nullable or self.kind in (TypeCategory.BINARY, TypeCategory.BIT)

    @property
    def load_target(self) -> str:
        return f"@v{self.index}" if self.via_variable else q(self.column.name)

    def load_set(self) -> str | None:
        if not self.via_variable:
            return None
        v = f"@v{self.index}"
        if self.null_marked:
            value = f"NULLIF({v}, '{self.null_token}')"
        else:
            value = f"NULLIF({v}, 'NULL')" if self.column.nullable else v
            if self.kind is TypeCategory.BINARY:
                value = f"UNHEX({value})"
            elif self.kind is TypeCategory.BIT:
                value = f"CAST({value} AS UNSIGNED)"
        return f"{q(self.column.name)} = {value}"


def _fields(table: Table, null_token: str) -> list[_Field]:
    return [_Field(c, i, null_token) for i, c in enumerate(table.writable_columns)]


def select_sql(table: Table, null_token: str) -> str:
    fields = _fields(table, null_token)
    return f"SELECT {', '.join(f.select for f in fields)} FROM {qt(table.ref)}"


def load_sql(table: Table, database: str, null_token: str) -> str:
    fields = _fields(table, null_token)
    sets = [s for f in fields if (s := f.load_set()) is not None]
    return (f"LOAD DATA LOCAL INFILE '/dev/stdin' INTO TABLE {q(database)}.{q(table.ref.name)} "
            "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' "
            "LINES TERMINATED BY '\\n' "
            f"({', '.join(f.load_target for f in fields)})"
            + (f" SET {', '.join(sets)}" if sets else ""))


# -- the client's text form <-> the masker's canonical text ---------------------------------

_UNESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_UNESCAPED = {b"0": b"\0", b"t": b"\t", b"n": b"\n"}
_TO_ESCAPE = re.compile(rb"[\\\t\n\0]")
_ESCAPED = {b"\\": b"\\\\", b"\t": b"\\t", b"\n": b"\\n", b"\0": b"\\0"}


class _Codec:
    """Decodes and encodes the masked (and read) fields of one table's lines."""

    def __init__(self, table: Table, masker: RowMasker, null_token: str) -> None:
        self.table = table
        self.fields = _fields(table, null_token)
        self._null_token = null_token.encode()
        self.masker = masker
        self.width = len(self.fields)
        reads = getattr(masker, "read_positions", None)
        self.reads = tuple(range(self.width)) if reads is None else tuple(reads)
        self.masked = tuple(masker.masked_positions)
        self.prime = tuple(getattr(masker, "prime_positions", ()))
        # Per position, as plain lists: this runs per field of every masked row.
        # the text form of NULL: the token, the word NULL, or none (a NOT NULL column)
        self._null = [self._null_token if f.null_marked else b"NULL" if f.column.nullable
                      else None for f in self.fields]
        self._binary = [f.kind is TypeCategory.BINARY for f in self.fields]
        self._plain = [f.kind not in (TypeCategory.BINARY, TypeCategory.BIT)
                       for f in self.fields]
        # The C codec (dbclone/_native.c) takes a block whose masking runs column by column
        # and reads only text fields; binary and BIT values keep their conversions here.
        self._native = (native.module is not None and not self.prime
                        and getattr(masker, "by_column", False)
                        and all(self._plain[p] for p in masker.column_reads))

    def decode(self, raw: bytes, pos: int) -> str | None:
        if raw == self._null[pos]:
            return None
        if b"\\" in raw:
            raw = _UNESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), raw)
        text = raw.decode("utf-8", "surrogateescape")
        return "\\x" + text.lower() if self._binary[pos] else text

    def encode(self, value: Any, pos: int, number: int) -> bytes:
        if value is None:
            return b"\\N"
        text = value if value.__class__ is str else str(value)
        if self._plain[pos]:
            data = text.encode("utf-8", "surrogateescape")
            if _TO_ESCAPE.search(data) is not None:
                data = _TO_ESCAPE.sub(lambda m: _ESCAPED[m.group()], data)
            return data
        if self._binary[pos]:
            return binary_value(text).hex().encode()
        return str(bit_value(text, self.table, self.fields[pos].column.name, number)).encode()

    def mask_line(self, line: bytes, number: int) -> bytes:
        return self._mask_block([line], number)[0]

    def mask_block(self, block: bytes, first: int) -> tuple[bytes, int]:
        """Whole lines, each ending in a newline -> the same lines masked, and their count.
        ``first`` numbers the block's first row (for messages)."""
        if self._native:
            m = self.masker
            reads = tuple(m.column_reads)  # type: ignore[attr-defined]
            try:
                return native.module.copy_mask_block(  # type: ignore[union-attr,no-any-return]
                    block, self.width, reads, tuple(m.masked_positions),
                    m.mask_columns, tuple(self._null[p] for p in reads))  # type: ignore[attr-defined]
            except native.module.FormatError as exc:  # type: ignore[union-attr]
                found, expected = exc.args
                raise CloneFailed(f"{self.table.ref}: a row read from the source has {found} "
                                  f"fields, expected {expected}", hint=_UNTOUCHED) from None
        lines = block[:-1].split(b"\n")
        return self.mask_lines(lines, first), len(lines)

    def mask_lines(self, lines: list[bytes], first: int) -> bytes:
        if self.prime:  # text_redact: NER over the whole block's rows first
            columns: dict[int, list[object]] = {p: [] for p in self.prime}
            for line in lines:
                parts = line.split(b"\t")
                for p in self.prime:
                    columns[p].append(self.decode(parts[p], p) if p < len(parts) else None)
            self.masker.prime(columns)  # type: ignore[attr-defined]
        out = self._mask_block(lines, first)
        out.append(b"")
        return b"\n".join(out)

    def _mask_block(self, lines: list[bytes], first: int) -> list[bytes]:
        """Rows ``first``, ``first + 1``, ... masked; the masker gets the whole block at
        once when it takes one (``mask_rows``), else row by row."""
        split, rows = [], []
        decode = self.decode
        for line in lines:
            parts = line.split(b"\t")
            if len(parts) != self.width:
                raise CloneFailed(f"{self.table.ref}: a row read from the source has "
                                  f"{len(parts)} fields, expected {self.width}",
                                  hint=_UNTOUCHED)
            values: list[Any] = [None] * self.width
            for pos in self.reads:
                values[pos] = decode(parts[pos], pos)
            split.append(parts)
            rows.append(values)
        mask_rows = getattr(self.masker, "mask_rows", None)
        if mask_rows is not None:
            mask_rows(rows)
        else:
            rows = [self.masker.mask_row(values) for values in rows]
        encode = self.encode
        for i, (parts, values) in enumerate(zip(split, rows, strict=True)):
            for pos in self.masked:
                parts[pos] = encode(values[pos], pos, first + i)
        return [b"\t".join(parts) for parts in split]


# -- the processes ----------------------------------------------------------------------------


@contextlib.contextmanager
def _options_file(url: DatabaseURL) -> Iterator[tuple[str, dict[str, str]]]:
    """A private option file for the client (host, user, password): nothing in argv.

    Returns its path and the environment to run the client in."""
    # The client reads these (MYSQL_HOST, MYSQL_TCP_PORT, ...): it must reach exactly the
    # server and account pymysql reached, whatever the environment says.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MYSQL_", "MARIADB_", "LIBMYSQL_"))}
    with tempfile.TemporaryDirectory(prefix="dbclone-") as tmp:
        path = os.path.join(tmp, "client.cnf")
        lines = ["[client]", "default-character-set=utf8mb4"]
        sock = url.query.get("unix_socket")
        if sock:
            lines += ["host=localhost", f"socket={_option(sock)}", "protocol=SOCKET"]
        else:
            lines += [f"host={_option(url.host or 'localhost')}",
                      f"port={url.port or DEFAULT_PORT}", "protocol=TCP"]
        lines.append(f"user={_option(url.username or '')}")  # as pymysql: '' if none
        secret = password(url)  # as pymysql got it (MYSQL_PWD included)
        if secret is not None:
            if '"' in secret or "\n" in secret:
                env["MYSQL_PWD"] = secret  # not expressible in an option file
            else:
                lines.append(f"password={_option(secret)}")
        timeout = url.query.get("connect_timeout", "10")
        lines.append(f"connect-timeout={int(timeout) if timeout.isdigit() else 10}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        yield path, env


def _option(value: str) -> str:
    """A quoted option-file value: quotes keep '#' and spaces; backslashes are escapes.
    (A '"' cannot be written: :func:`usable` keeps such names on pymysql.)"""
    return '"' + value.replace("\\", "\\\\") + '"'


def _quotable(url: DatabaseURL) -> bool:
    return not any(v and ('"' in v or "\n" in v)
                   for v in (url.host, url.username, url.query.get("unix_socket")))


def _client(program: str, options: str) -> list[str]:
    return [program, f"--defaults-file={options}", "--batch", "--skip-column-names",
            "--max-allowed-packet=1073741824"]


def probe(program: str, url: DatabaseURL) -> bool:
    """Whether the client reaches ``url``'s server as pymysql did (TLS defaults, auth
    plugins and option spellings differ between client versions): else pymysql it is."""
    with _options_file(url) as (options, env):
        try:
            done = subprocess.run([*_client(program, options), "-e", "SELECT 1"], env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0 and done.stdout.strip() == b"1"


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def _text(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("ERROR") or "error" in line.lower():
            return line.strip()
    return text.strip().splitlines()[-1] if text.strip() else "no message"


class ClientCopy:
    """Copies whole tables from ``source`` into database ``tmp_db`` of ``dest``."""

    def __init__(self, program: str, source: DatabaseURL, dest: DatabaseURL, tmp_db: str,
                 load_sql_mode: str, index_names: Callable[[Table], list[str]]) -> None:
        self.program = program
        self.index_names = index_names  # for messages that name a key
        self.source = source
        self.dest = dest
        self.tmp_db = tmp_db
        self.load_sql_mode = load_sql_mode
        self.null_token = "dbclone-null-" + secrets.token_hex(16)

    def reader_script(self, jobs: Sequence[CopyJob], marker: str) -> str:
        lines = ["SET NAMES utf8mb4;",  # whatever collation id the client asked for
                 f"SET SESSION sql_mode = '{READ_SQL_MODE}';",
                 "SET SESSION time_zone = '+00:00';",
                 # the loaders may be slow (masking) while the server waits to send rows
                 "SET SESSION net_write_timeout = 3600;",
                 # no statement time limit, on servers that have one (versioned comments)
                 "/*M!100108 SET SESSION max_statement_time = 0 */;",
                 "/*!50708 SET SESSION max_execution_time = 0 */;",
                 "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ;",
                 "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY;"]
        # @@warning_count in a marker line: a SELECT without tables keeps the list of the
        # statement before it, so each closing marker tells the table's read warnings.
        mark = f"SELECT CONCAT('{marker}:', @@warning_count);"
        for job in jobs:
            lines += [mark, select_sql(job.table, self.null_token) + ";"]
        lines += [mark, "COMMIT;"]
        return "\n".join(lines) + "\n"

    def run(self, jobs: Sequence[CopyJob], events: CopyEvents) -> None:
        marker = "dbclone-" + secrets.token_hex(16)
        with _options_file(self.source) as (src_opts, src_env), \
                _options_file(self.dest) as (dst_opts, dst_env), \
                tempfile.TemporaryFile() as script, tempfile.TemporaryFile() as src_err:
            # A file, not a pipe: the client reads its script while it writes rows we have
            # not read yet.
            script.write(self.reader_script(jobs, marker).encode())
            script.seek(0)
            reader = subprocess.Popen([*_client(self.program, src_opts), "--quick"],
                                      stdin=script,
                                      stdout=subprocess.PIPE, stderr=src_err, env=src_env)
            try:
                assert reader.stdout is not None
                stream = _Tables(reader.stdout, marker.encode())
                if not stream.next_table():
                    raise self._source_failed(reader, src_err, jobs[0].table if jobs else None)
                for job in jobs:
                    self._copy_one(job, stream, reader, src_err, dst_opts, dst_env, events)
                if stream.rest():
                    raise self._source_failed(reader, src_err, None)
                rc = reader.wait()
                if rc != 0:
                    raise self._source_failed(reader, src_err, None)
            finally:
                _stop(reader)

    def _copy_one(self, job: CopyJob, stream: _Tables, reader: subprocess.Popen,
                  src_err: IO[bytes], dst_opts: str, dst_env: dict[str, str],
                  events: CopyEvents) -> None:
        table = job.table
        events.started(table)
        started = time.monotonic()
        unique_checks = 0 if job.masker is None else 1
        # net_read_timeout: the server waits for the next rows while a block is masked
        sql = (f"SET NAMES utf8mb4; SET SESSION sql_mode = '{self.load_sql_mode}'; "
               "SET SESSION time_zone = '+00:00'; SET SESSION foreign_key_checks = 0; "
               f"SET SESSION unique_checks = {unique_checks}; "
               "SET SESSION net_read_timeout = 3600; "
               f"{load_sql(table, self.tmp_db, self.null_token)}; "
               "SELECT @@warning_count; SHOW WARNINGS;")
        codec = (None if job.masker is None or not job.masker.masked_positions
                 else _Codec(table, job.masker, self.null_token))
        rows = 0
        stopped = False  # the loader stopped reading: its own message says why
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            loader = subprocess.Popen([*_client(self.program, dst_opts), "--local-infile=1",
                                       "-e", sql],
                                      stdin=subprocess.PIPE, stdout=out, stderr=err,
                                      env=dst_env)
            try:
                assert loader.stdin is not None
                splitter = RowSplitter() if codec is not None else None
                for block in stream.blocks():
                    if splitter is not None and codec is not None:
                        whole = splitter.whole(block)
                        if not whole:
                            continue
                        data, n = codec.mask_block(whole, rows + 1)
                    else:
                        data, n = block, block.count(b"\n")
                    try:
                        loader.stdin.write(data)
                    except BrokenPipeError:
                        stopped = True
                        break
                    rows += n
                    events.progress(table, n)
                if not stopped and not stream.ended:  # the source stopped mid-table
                    _stop(loader)
                    raise self._source_failed(reader, src_err, table)
                if not stopped and stream.warnings != 0:
                    _stop(loader)  # before its end of file: nothing of the table commits
                    raise CloneFailed(
                        f"{table.ref}: the source server reported {stream.warnings} "
                        "warning(s) reading the rows, so some value may have come out "
                        "changed (a BLOB twice as long as max_allowed_packet reads as NULL "
                        "in hex)", hint="raise max_allowed_packet on the source, or set "
                        f"DBCLONE_MYSQL_CLIENT=off; {_UNTOUCHED}")
                if splitter is not None and not stopped:
                    splitter.close()
                with contextlib.suppress(BrokenPipeError):
                    loader.stdin.close()
                rc = loader.wait()
            finally:
                _stop(loader)
            self._check_load(table, rc, _text(out), _text(err))
            if stopped:
                raise CloneFailed(f"{table.ref}: the destination stopped reading the rows",
                                  hint=_UNTOUCHED)
        events.finished(table, TableCopyResult(rows_read=rows, rows_written=rows,
                                               seconds=time.monotonic() - started))

    def _names(self, table: Table) -> list[str]:
        return [table.ref.name, self.tmp_db, *table.column_names, *self.index_names(table),
                *(fk.name for fk in table.foreign_keys), *(c.name for c in table.checks)]

    def _check_load(self, table: Table, rc: int, out: str, err: str) -> None:
        if rc != 0:
            raise CloneFailed(f"{table.ref}: loading the rows into the destination failed: "
                              f"{scrub_text(_first_error(err), self._names(table))}",
                              hint=_UNTOUCHED)
        lines = out.splitlines()
        count = int(lines[0]) if lines and lines[0].strip().isdigit() else -1
        if count == 0:
            return
        if count < 0:
            raise CloneFailed(f"{table.ref}: the destination did not confirm the load",
                              hint=_UNTOUCHED)
        first = lines[1].split("\t") if len(lines) > 1 else []
        code = int(first[1]) if len(first) >= 3 and first[1].isdigit() else None
        what = _WARNINGS.get(code or 0, "a value it had to change")
        detail = (scrub_text(first[2].strip(), self._names(table), code)
                  if len(first) >= 3 else "")
        raise CloneFailed(
            f"{table.ref}: the destination reported {count} warning(s) loading the rows, "
            f"first {what}: {detail}",
            hint="LOAD DATA LOCAL would keep the rows changed or skipped, so the copy was "
                 f"stopped; {_UNTOUCHED}")

    def _source_failed(self, reader: subprocess.Popen, err: IO[bytes],
                       table: Table | None) -> CloneFailed:
        _stop(reader)
        names = [] if table is None else [table.ref.name, table.ref.schema, *table.column_names]
        what = f"{table.ref}: reading" if table is not None else "reading"
        return CloneFailed(f"{what} the source failed: "
                           f"{scrub_text(_first_error(_text(err)), names)}",
                           hint="check the source server and rerun; " + _UNTOUCHED)


class _Tables:
    """The reader's output, one table at a time: the rows between two marker lines.

    A marker line is ``<marker>:<n>``, ``n`` being ``@@warning_count`` of the statement
    before it: for a closing marker, the warnings of reading the table just ended."""

    def __init__(self, out: IO[bytes], marker: bytes) -> None:
        self._out = out
        self._head = marker + b":"
        self._cut = b"\n" + self._head
        self._buf = b""
        self._eof = False
        self.ended = True  # the current table's closing marker was seen
        self.warnings = 0  # what the last marker line said

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._out.read1(CHUNK) if hasattr(self._out, "read1") else self._out.read(CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _marker_line(self) -> bool:
        """Consume a whole marker line at the start of the buffer, if one is there."""
        while len(self._buf) < len(self._head) and self._fill():
            pass
        if not self._buf.startswith(self._head):
            return False
        while (end := self._buf.find(b"\n")) < 0:
            if not self._fill():
                return False
        count = self._buf[len(self._head):end]
        self.warnings = int(count) if count.isdigit() else -1
        self._buf = self._buf[end + 1:]
        return True

    def next_table(self) -> bool:
        """Move past the marker line that opens the next table (False: none came)."""
        return self._marker_line()

    def blocks(self) -> Iterator[bytes]:
        """The current table's rows, in blocks of whole or partial lines, up to its end."""
        self.ended = False
        while True:
            if self._buf.startswith(self._head):  # an empty table, or the end at a block edge
                self.ended = self._marker_line()
                return
            cut = self._buf.find(self._cut)
            if cut >= 0:
                block, self._buf = self._buf[:cut + 1], self._buf[cut + 1:]
                yield block
                continue  # the buffer now starts with the marker line
            keep = len(self._cut) - 1  # a marker may begin in the last bytes
            if len(self._buf) > keep:
                block, self._buf = self._buf[:-keep], self._buf[-keep:]
                yield block
            if not self._fill():
                return

    def rest(self) -> bool:
        """Whether anything but the final COMMIT's silence follows the last table."""
        return bool(self._buf) or self._fill()
