"""The pieces of the MariaDB client pipe that need no server: cutting the reader's output
into tables whatever the chunk boundaries, the field codec, and the SQL each side runs."""

from __future__ import annotations

import io
import random
from pathlib import Path

from dbclone.dialects import parse_url
from dbclone.dialects.mysql.client_pipe import (
    _Codec,
    _options_file,
    _Tables,
    load_sql,
    select_sql,
)
from dbclone.introspect.snapshot import Column, Table, TableRef, TypeCategory

MARKER = b"dbclone-0123456789abcdef"
NULL_TOKEN = "dbclone-null-feedface"


class _Chunks(io.RawIOBase):
    """A pipe that hands out its bytes in the given chunk sizes."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes = data, sizes

    def read1(self, n: int = -1) -> bytes:
        if not self._data:
            return b""
        size = self._sizes.pop(0) if self._sizes else len(self._data)
        out, self._data = self._data[:size], self._data[size:]
        return out


def _split(data: bytes, tables: int, sizes: list[int]) -> list[tuple[bytes, int]]:
    stream = _Tables(_Chunks(data, sizes), MARKER)  # type: ignore[arg-type]
    assert stream.next_table()
    out = []
    for _ in range(tables):
        out.append((b"".join(stream.blocks()), stream.warnings))
        assert stream.ended
    assert not stream.rest()
    return out


def test_tables_are_cut_at_marker_lines_whatever_the_chunks() -> None:
    tables = [(b"1\ta\n2\tb\n", 0), (b"", 0), (b"x" * 5000 + b"\n" + b"y\n", 2), (b"", 0),
              (b"3\tNULL\n", 11)]
    data = MARKER + b":0\n" + b"".join(t + MARKER + b":%d\n" % n for t, n in tables)
    rng = random.Random(7)
    for _ in range(300):
        sizes = [rng.randint(1, 40) for _ in range(len(data))]
        assert _split(data, len(tables), sizes) == tables


def test_a_stream_that_stops_mid_table_is_not_taken_for_its_end() -> None:
    data = MARKER + b":0\n1\ta\n2\t" + MARKER[:5]
    stream = _Tables(_Chunks(data, [3] * 20), MARKER)  # type: ignore[arg-type]
    assert stream.next_table()
    b"".join(stream.blocks())
    assert not stream.ended


def _table() -> Table:
    cols = [Column("id", "int", TypeCategory.INTEGER, nullable=False),
            Column("s", "varchar(9)", TypeCategory.TEXT),
            Column("t", "text", TypeCategory.TEXT, nullable=False),
            Column("b", "varbinary(4)", TypeCategory.BINARY),
            Column("f", "bit(8)", TypeCategory.BIT),
            Column("d", "date", TypeCategory.DATE)]
    return Table(ref=TableRef("db", "t"), columns=cols)


def test_select_and_load_agree_on_every_column() -> None:
    table = _table()
    assert select_sql(table, NULL_TOKEN) == (
        "SELECT `id`, COALESCE(`s`, 'dbclone-null-feedface'), `t`, HEX(`b`), (`f` + 0), `d` "
        "FROM `db`.`t`")
    sql = load_sql(table, "tmp", NULL_TOKEN)
    assert "(`id`, @v1, `t`, @v3, @v4, @v5) SET " in sql
    assert "`s` = NULLIF(@v1, 'dbclone-null-feedface')" in sql
    assert "`b` = UNHEX(NULLIF(@v3, 'NULL'))" in sql
    assert "`f` = CAST(NULLIF(@v4, 'NULL') AS UNSIGNED)" in sql
    assert "`d` = NULLIF(@v5, 'NULL')" in sql


class _Upper:
    masked_positions = (1, 2, 3, 4)

    def __init__(self) -> None:
        self.seen: list[list] = []

    def mask_row(self, values: list) -> list:
        self.seen.append(list(values))
        return [values[0], None if values[1] is None else values[1].upper() + "\t",
                values[2] + "\\", "\\xff00", "7", *values[5:]]


def test_masked_fields_round_trip_the_client_text_form() -> None:
    masker = _Upper()
    codec = _Codec(_table(), masker, NULL_TOKEN)  # type: ignore[arg-type]
    lines = [b"1\ta\\tb\\\\c\\0\tNULL\t4E55\t165\t2024-01-02",
             b"2\t" + NULL_TOKEN.encode() + b"\t\t\tNULL\tNULL"]
    out = codec.mask_lines(lines, 1)
    # what the masker saw: the text NULL in a NOT NULL column is text; NULL is None
    assert masker.seen[0][1:5] == ["a\tb\\c\0", "NULL", "\\x4e55", "165"]
    assert masker.seen[1][1:5] == [None, "", "\\x", None]
    assert out == (b"1\tA\\tB\\\\C\\0\\t\tNULL\\\\\tff00\t7\t2024-01-02\n"
                   b"2\t\\N\t\\\\\tff00\t7\tNULL\n")


def test_the_client_reaches_the_urls_server_whatever_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("MYSQL_HOST", "prod-db.example")
    monkeypatch.setenv("MYSQL_PWD", "other")
    url = parse_url('mysql://app:p%23w%5C@localhost/shop?unix_socket=/run/my.sock')
    with _options_file(url) as (path, env):
        text = Path(path).read_text(encoding="utf-8")
    assert "MYSQL_HOST" not in env and "MYSQL_PWD" not in env
    assert text.splitlines()[1:] == [
        "default-character-set=utf8mb4", "host=localhost", 'socket="/run/my.sock"',
        "protocol=SOCKET", 'user="app"', 'password="p#w\\\\"', "connect-timeout=10"]


def test_mysql_pwd_is_the_password_of_a_url_without_one(monkeypatch) -> None:
    from dbclone.dialects.mysql.connect import password

    monkeypatch.setenv("MYSQL_PWD", "from-env")
    assert password(parse_url("mysql://app@db.example/shop")) == "from-env"
    assert password(parse_url("mysql://app:inline@db.example/shop")) == "inline"
    with _options_file(parse_url("mysql://app@db.example/shop")) as (path, env):
        assert 'password="from-env"' in Path(path).read_text(encoding="utf-8")
        assert "MYSQL_PWD" not in env


def test_a_client_program_that_is_not_there_is_a_clear_error(monkeypatch) -> None:
    import pytest

    from dbclone.dialects.mysql.client_pipe import client_program
    from dbclone.errors import ConfigError

    monkeypatch.setenv("DBCLONE_MYSQL_CLIENT", "/nowhere/mariadb")
    with pytest.raises(ConfigError, match=r"^DBCLONE_MYSQL_CLIENT=/nowhere/mariadb: no such "
                                          r"program$") as info:
        client_program()
    assert "or to off for pymysql" in (info.value.hint or "")
    monkeypatch.setenv("DBCLONE_MYSQL_CLIENT", "off")
    assert client_program() is None
