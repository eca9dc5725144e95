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


# -- the generators' C kernels (dbclone/csrc/kernels.c) ---------------------------------------

KERNEL_SCHEMA = """
CREATE TABLE k (id integer PRIMARY KEY, a text, b varchar(8), e text, e12 varchar(12),
                e9 varchar(9) UNIQUE, p text, pu text UNIQUE, s text, s9 varchar(9), su text UNIQUE,
                d text, dd text, x text, bb text);
"""
KERNEL_RULES = {
    "k.a": {"type": "fake_first_name", "except": ["Keep"]},
    "k.b": "fake_city",  # the pool fitted to 8 characters
    "k.bb": {"type": "fake_city", "consistent_with": "k.b"},  # draws from b's fitted pool
    "k.e": {"type": "fake_email", "keep_empty": False},
    "k.e12": "fake_email",  # the initials form
    "k.e9": "fake_email",  # u1234@x.t: a unique column with collisions to re-draw
    "k.p": "fake_phone",
    "k.pu": "fake_phone",
    "k.s": "fake_ssn",
    "k.s9": "fake_ssn",
    "k.su": "fake_ssn",
    "k.d": {"type": "date_shift", "key": "x", "min_days": -36524, "max_days": 36524},
    "k.dd": {"type": "date_shift", "except": ["2000-01-01"]},
}
PHONE_CASES = ["+1 503 555 0101", "(503) 555-0101", "n/a", "+44 20 7946 0958", "+12345 6",
               "100% 42", "+1", "+1 ", "  +33.1.23 45", "+1(503)5550101", "tab\t1",
               "\uff11\uff12\uff13 4", "é 123", "9" * 50, "+", "0", "+7-0", "", None]
SSN_CASES = ["123-45-6789", "123456789", "\uff11\uff12\uff13", "", "12 34", None, "x"]
DATE_CASES = ["1990-05-17", "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31",
              "0000-00-00", "2020-01-01 10:11:12", "\uff11\uff19\uff19\uff10-05-17", "",
              None, "2000-01-01", "1600-02-29", "1700-02-29", "2000-13-01", "2000-1-01"]


def kernel_rows(n: int, seed: int) -> list[list]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        year = rnd.choice([1, 2, 399, 400, 1600, 1900, 2000, 2024, 9998, 9999,
                           rnd.randint(1, 9999)])
        date = f"{year:04d}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        out.append([str(i), rnd.choice(["Ann", "Keep", "", None, f"N{i}", "Zoë"]),
                    rnd.choice(["Paris", None, f"c{i}"]),
                    rnd.choice([f"u{i}@c.test", "", None, "ü@x"]), f"e{i}", f"e{i}",
                    rnd.choice(PHONE_CASES), f"+1 503 {i:07d}",
                    rnd.choice(SSN_CASES), rnd.choice(SSN_CASES), f"{i:09d}",
                    rnd.choice(DATE_CASES + [date] * 8), rnd.choice([*DATE_CASES, date]),
                    rnd.choice([str(i % 97), None]), rnd.choice(["Paris", None, f"c{i}"])])
    return out


def test_every_kernel_gives_what_its_generator_gives_in_python(tmp_path, monkeypatch):
    """Block by block through the C kernels (re-draws, collisions and the values they hand
    back included) against row by row in Python: the same values, the same counts."""
    if native.module is None:
        pytest.skip("dbclone._native is not built")
    from tests.test_sqlite_clone import masker_of

    monkeypatch.setenv("DBCLONE_SECRET", "kernels")
    data = kernel_rows(6000, 11)
    fast = masker_of(tmp_path, KERNEL_SCHEMA, KERNEL_RULES, "k")
    assert fast.by_column
    assert {n for _, n, g in fast.positions if g.runs_in_c()} == {
        "a", "b", "bb", "e", "e12", "e9", "p", "pu", "s", "s9", "su", "d", "dd"}
    with monkeypatch.context() as m:
        m.setattr(native, "module", None)
        slow = masker_of(tmp_path, KERNEL_SCHEMA, KERNEL_RULES, "k")
        expected = [slow.mask_row(list(r)) for r in data]
    got = [list(r) for r in data]
    for i in range(0, len(got), 500):
        fast.mask_rows(got[i:i + 500])
    for name in KERNEL_RULES:
        col = fast.row._index[name.split(".")[1]]
        assert [r[col] for r in got] == [r[col] for r in expected], name
    assert fast.changed == slow.changed and fast.unchanged == slow.unchanged
    b, bb = fast.row._index["b"], fast.row._index["bb"]
    assert all(r[bb] == m[b] for r, m, src in zip(got, got, data, strict=True)
               if src[bb] == src[b] and src[b] is not None)
    e9 = [r[5] for r in got]
    assert len(set(e9)) == len(e9) and all(len(v) <= 9 for v in e9)  # unique, fitted


def test_the_c_seen_set_answers_as_the_python_one():
    """Digest for digest, the same "new" / "seen" answers (a Bloom filter's false "seen"
    included): a re-draw depends on them, so both paths write the same outputs."""
    if native.module is None:
        pytest.skip("dbclone._native is not built")
    from dbclone.transform.seen import SeenSet

    rnd = random.Random(1)
    stream = [rnd.getrandbits(64) for _ in range(60_000)]
    stream += [*stream[:2000], 0, 0]  # repeats, and the digest 0
    py, c = SeenSet(exact_limit=1000, first_bloom=2000), native.module.Seen(1000, 2000)
    assert [py.add_if_new(h) for h in stream] == [c.add_if_new(h) for h in stream]
    assert len(py) == len(c) and py.nbytes == c.nbytes
    assert sum(not py.add_if_new(h) for h in stream[:-2004]) == 60_000 - 2  # all refused


def test_unique_digests_are_the_same_with_and_without_c(monkeypatch):
    from dbclone.transform.base import digest8

    texts = [*HARD_TEXT, "u1@x.t"]
    fast = [digest8(t) for t in texts]
    with monkeypatch.context() as m:
        m.setattr(native, "module", None)
        assert [digest8(t) for t in texts] == fast


@pytest.mark.parametrize(("value", "warns"), [("off", False), ("ON", False), ("", False),
                                              ("garbage", True)])
def test_a_dbclone_native_value_that_is_neither_on_nor_off_is_warned_about(
        monkeypatch, value, warns):
    from click.testing import CliRunner

    from dbclone.cli import cli

    monkeypatch.setenv("DBCLONE_NATIVE", value)
    result = CliRunner().invoke(cli, ["generators", "--json"])
    assert result.exit_code == 0
    assert ("neither on nor off" in result.stderr) is warns
    if native.module is None:
        assert native.status() == ("off (DBCLONE_NATIVE)" if value == "off"
                                   else "off (not built)")
