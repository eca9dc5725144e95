"""The C hot path (dbclone/_native.c) gives exactly the bytes of the pure-Python path: the
keyed HMAC on any text, and the COPY codec on rows with every escape PostgreSQL writes."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from dbclone import native
from dbclone.dialects.postgresql.copy_text import CopyFormatError, encode_field, mask_stream
from dbclone.errors import CloneFailed
from dbclone.transform.keyed import Keyer
from tests.test_mask_rows import RULES, masker, rows

built = pytest.mark.skipif(native.module is None, reason="dbclone._native is not built")


def test_ci_builds_the_native_module():
    """CI sets DBCLONE_REQUIRE_NATIVE: there the C path must be what the tests exercise."""
    if os.environ.get("DBCLONE_REQUIRE_NATIVE"):
        assert native.module is not None, native.status()


HARD_TEXT = ["", "a", "héllo wörld", "x" * 55, "y" * 56, "z" * 64, "w" * 1000,
             "\udc80\udcff lone surrogates", "日本語テキスト", "tab\there", "\x00nul",
             "emoji 🙂"]


@built
def test_keyed_numbers_and_digests_match_python(monkeypatch):
    fast, slow = Keyer("a secret"), Keyer("a secret")
    values = HARD_TEXT + [str(random.Random(3).random()) for _ in range(500)]
    for domain in ("fake_email:[]:en_US", "shift:days:-365:365", "ü"):
        with monkeypatch.context() as m:
            m.setattr(native, "module", None)
            expected = [slow.number(domain, v) for v in values]
            digests = [slow.digest(domain, v) for v in values]
        assert [fast.number(domain, v) for v in values] == expected
        assert fast.numbers(domain, values) == expected
        assert [fast.digest(domain, v) for v in values] == digests


@built
def test_a_keyer_pickles_without_its_c_objects():
    import pickle

    k = Keyer("s")
    before = k.number("d", "v")
    copy = pickle.loads(pickle.dumps(k))
    assert copy.number("d", "v") == before and copy.deterministic


# Fields as COPY TO writes them (escaped), including what PostgreSQL never writes but COPY
# FROM accepts (octal, hex, a backslash before an ordinary character).
ESCAPED = [b"plain", b"\\N", b"\\\\N", b"back\\\\slash", b"tab\\there", b"new\\nline",
           b"cr\\rlf", b"\\b\\f\\v", b"\\101\\102", b"\\x41\\x4", b"\\xZZ", b"\\377\\376",
           b"\\q", b"caf\xc3\xa9", b"\xff\xfe raw", b"", b"\\0", b"\\1234"]


def copy_lines(data: list[list], seed: int) -> bytes:
    """The rows as COPY text, with hard escapes mixed into masked and unmasked fields."""
    rnd = random.Random(seed)
    out = []
    for r in data:
        fields = [encode_field(v) for v in r]
        for pos in (2, 3, 9, 10):  # first_name, email, note (masked), nick (not)
            if rnd.random() < 0.4:
                fields[pos] = rnd.choice(ESCAPED)
        out.append(b"\t".join(fields))
    return b"\n".join(out) + b"\n"


def chunked(data: bytes, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    cuts, at = [], 0
    while at < len(data):
        step = rnd.choice([1, 7, 90, 400, 70000])
        cuts.append(data[at:at + step])
        at += step
    return cuts


def masked_both_ways(tmp_path: Path, monkeypatch, rules: dict, data: bytes, seed: int):
    monkeypatch.setenv("DBCLONE_SECRET", "codec")
    fast_masker = masker(tmp_path, rules)
    fast = b"".join(b for b, _ in mask_stream(chunked(data, seed), fast_masker, 11))
    with monkeypatch.context() as m:
        m.setattr(native, "module", None)
        slow_masker = masker(tmp_path, rules)
        slow = b"".join(b for b, _ in mask_stream(chunked(data, seed + 1), slow_masker, 11))
    return fast, slow, fast_masker, slow_masker


@built
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_c_codec_writes_the_bytes_python_writes(tmp_path, monkeypatch, seed):
    data = copy_lines(rows(2500, seed), seed)
    fast, slow, fm, sm = masked_both_ways(tmp_path, monkeypatch, RULES, data, seed)
    assert fast == slow
    assert fast.count(b"\n") == 2500 and fast != data
    assert fm.changed == sm.changed and fm.unchanged == sm.unchanged
    # unmasked fields are byte for byte the source's, escapes and raw bytes included
    src_rows = [line.split(b"\t") for line in data.split(b"\n")[:-1]]
    out_rows = [line.split(b"\t") for line in fast.split(b"\n")[:-1]]
    for a, b in zip(src_rows, out_rows, strict=True):
        assert [a[p] for p in (0, 1, 10)] == [b[p] for p in (0, 1, 10)]


@built
def test_a_table_masked_row_by_row_stays_on_the_python_codec(tmp_path, monkeypatch):
    """A template reads masked values of its row: no column-wise masking, so no C codec;
    the result is the same either way."""
    rules = {**RULES, "person.nick": {"type": "template", "template": "{first_name|lower}"}}
    data = copy_lines(rows(300, 9), 9)
    fast, slow, fm, _ = masked_both_ways(tmp_path, monkeypatch, rules, data, 9)
    assert not fm.by_column and fast == slow


@built
@pytest.mark.parametrize("line", [b"1\t2\n", b"1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\n"])
def test_a_row_of_the_wrong_width_is_a_format_error_without_its_values(tmp_path, line):
    m = masker(tmp_path, RULES)
    with pytest.raises(CopyFormatError) as err:
        b"".join(b for b, _ in mask_stream([line], m, 11))
    assert "expected 11" in str(err.value) and "\t" not in str(err.value)


@built
def test_an_unfinished_last_row_is_an_error(tmp_path):
    m = masker(tmp_path, RULES)
    with pytest.raises(CopyFormatError, match="middle of a row"):
        list(mask_stream([copy_lines(rows(3), 1)[:-5]], m, 11))


class _UpperColumns:
    """A masker that takes blocks column by column: upper-cases text and adds a tab and a
    backslash, so the client form needs escapes on the way out."""

    def __init__(self, reads: tuple[int, ...], masked: tuple[int, ...]) -> None:
        self.column_reads, self.masked_positions, self.by_column = reads, masked, True
        self.seen: list[list] = []

    @staticmethod
    def _one(v: str | None) -> str | None:
        return None if v is None else v.upper() + "\t\\\0"

    def mask_row(self, values: list) -> list:
        out = list(values)
        for p in self.masked_positions:
            out[p] = self._one(values[p])
        return out

    def mask_columns(self, columns: list[list]) -> list[list]:
        self.seen = columns
        by = dict(zip(self.column_reads, columns, strict=True))
        return [[self._one(v) for v in by[p]] for p in self.masked_positions]


@built
def test_the_c_codec_writes_the_mysql_client_text_python_writes():
    from dbclone.dialects.mysql.client_pipe import _Codec
    from tests.test_mysql_client_pipe import NULL_TOKEN, _table

    token = NULL_TOKEN.encode()
    rnd = random.Random(5)
    texts = [b"a\\tb\\\\c\\0", b"NULL", token, b"", b"caf\xc3\xa9", b"\xff raw", b"\\q", b"x\\"]
    lines = [b"\t".join([str(i).encode(), rnd.choice(texts), rnd.choice(texts[:2] + texts[3:]),
                         b"4E55", b"165", rnd.choice([b"2024-01-02", b"NULL"])])
             for i in range(500)]
    block = b"\n".join(lines) + b"\n"
    fast = _Codec(_table(), _UpperColumns((0, 1, 2, 5), (1, 2)), NULL_TOKEN)  # type: ignore[arg-type]
    slow = _Codec(_table(), _UpperColumns((0, 1, 2, 5), (1, 2)), NULL_TOKEN)  # type: ignore[arg-type]
    slow._native = False
    assert fast._native
    out, n = fast.mask_block(block, 1)
    assert (out, n) == slow.mask_block(block, 1) and n == 500
    # NULL is the token in a nullable column, the text NULL in a NOT NULL one
    seen = dict(zip(fast.masker.column_reads, fast.masker.seen, strict=True))
    assert {seen[1][i] for i, line in enumerate(lines) if line.split(b"\t")[1] == token} == {None}
    assert "NULL" in seen[2] and None not in seen[2]
    with pytest.raises(CloneFailed, match="has 2 fields, expected 6"):
        fast.mask_block(b"1\t2\n", 1)


@built
def test_a_binary_column_read_by_masking_keeps_the_python_codec():
    from dbclone.dialects.mysql.client_pipe import _Codec
    from tests.test_mysql_client_pipe import NULL_TOKEN, _table

    codec = _Codec(_table(), _UpperColumns((0, 1, 3), (1, 3)), NULL_TOKEN)  # type: ignore[arg-type]
    assert not codec._native
