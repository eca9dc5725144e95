"""The PostgreSQL COPY text codec: no server needed.

Expected bytes are what PostgreSQL's ``COPY ... TO STDOUT`` writes for the same values.
"""

from __future__ import annotations

import pytest

from dbclone.dialects.postgresql.copy_text import (
    CopyFormatError,
    RowSplitter,
    blocks,
    decode_field,
    encode_field,
    escape,
    mask_line,
    mask_stream,
    unescape,
)


@pytest.mark.parametrize(("raw", "value"), [
    (b"\\\\", b"\\"),
    (b"\\t", b"\t"),
    (b"\\n", b"\n"),
    (b"\\r", b"\r"),
    (b"\\b", b"\b"),
    (b"\\f", b"\f"),
    (b"\\v", b"\v"),
    (b"\\101", b"A"),          # octal, three digits
    (b"\\7", b"\x07"),         # octal, one digit
    (b"\\1012", b"A2"),        # at most three octal digits
    (b"\\777", b"\xff"),       # the server keeps the low byte
    (b"\\x41", b"A"),          # hex, two digits
    (b"\\x4g", b"\x04g"),      # hex, one digit
    (b"\\xg", b"xg"),          # \x without a hex digit is just x
    (b"\\q", b"q"),            # any other character stands for itself
    (b"\\.", b"."),
    (b"plain", b"plain"),
    (b"a\\\\nb", b"a\\nb"),    # an escaped backslash followed by n is not a newline
])
def test_unescape_each_escape(raw: bytes, value: bytes) -> None:
    assert unescape(raw) == value


def test_backslash_n_alone_is_null_but_escaped_is_text() -> None:
    assert decode_field(b"\\N") is None
    assert decode_field(b"\\\\N") == "\\N"
    assert decode_field(b"") == ""  # empty string is not NULL
    assert encode_field(None) == b"\\N"
    assert encode_field("\\N") == b"\\\\N"
    assert encode_field("") == b""


def test_escape_matches_server_output_for_hard_literal() -> None:
    # case 23: E'line one\nline ''two'' \\ end\ttab' as COPY TO prints it
    value = "line one\nline 'two' \\ end\ttab"
    assert encode_field(value) == b"line one\\nline 'two' \\\\ end\\ttab"
    assert decode_field(b"line one\\nline 'two' \\\\ end\\ttab") == value


def test_escape_matches_server_output_for_control_characters() -> None:
    assert escape(b"a\rb\bc\fd\ve") == b"a\\rb\\bc\\fd\\ve"


def test_bytea_hex_text_survives() -> None:
    # bytea '\x00ff5c27' is written by COPY (bytea_output hex) as \\x00ff5c27
    assert decode_field(b"\\\\x00ff5c27") == "\\x00ff5c27"
    assert encode_field("\\x00ff5c27") == b"\\\\x00ff5c27"


@pytest.mark.parametrize("value", [
    "", "x", "\\", "\\\\", "\\N", "\\.", "tab\there", "new\nline", "cr\r\n", "ütf-8 ✓ 名前",
    "quote ' and \" both", "\b\f\v", "trailing\\",
])
def test_round_trip_and_no_raw_delimiters(value: str) -> None:
    encoded = encode_field(value)
    assert b"\n" not in encoded and b"\t" not in encoded
    assert decode_field(encoded) == value


def test_row_splitter_is_independent_of_chunk_boundaries() -> None:
    data = b"1\tOrla\n2\t\\N\n3\ta\\tb\n"
    for size in range(1, len(data) + 1):
        splitter = RowSplitter()
        rows: list[bytes] = []
        for i in range(0, len(data), size):
            rows.extend(splitter.feed(data[i:i + size]))
        splitter.close()
        assert rows == [b"1\tOrla", b"2\t\\N", b"3\ta\\tb"], size


def test_a_row_longer_than_many_chunks_comes_out_whole() -> None:
    big = b"7\t" + b"x" * 300_000
    data = b"1\ta\n" + big + b"\n2\tb\n"
    splitter = RowSplitter()
    rows: list[bytes] = []
    for i in range(0, len(data), 4096):
        rows.extend(splitter.feed(data[i:i + 4096]))
    splitter.close()
    assert rows == [b"1\ta", big, b"2\tb"]


def test_row_splitter_refuses_a_torn_last_row() -> None:
    splitter = RowSplitter()
    splitter.feed(b"1\tOrla\n2\tTob")
    with pytest.raises(CopyFormatError, match="middle of a row"):
        splitter.close()


class UpperMasker:
    """Upper-cases column 1 and records what it was shown."""

    masked_positions = (1,)

    def __init__(self) -> None:
        self.seen: list[list] = []

    def mask_row(self, values: list) -> list:
        self.seen.append(list(values))
        values[1] = None if values[1] is None else values[1].upper()
        return values


def test_mask_line_rewrites_only_masked_fields() -> None:
    masker = UpperMasker()
    line = b"7\torla\\tvenn\tkeep\\\\this\\x41"  # column 2 is written oddly but validly
    out = mask_line(line, masker, 3)
    assert out == b"7\tORLA\\tVENN\tkeep\\\\this\\x41"  # unmasked bytes untouched
    # the masker saw canonical text everywhere (e.g. to key on the primary key)
    assert masker.seen == [["7", "orla\tvenn", "keep\\thisA"]]


def test_mask_line_keeps_null_null() -> None:
    assert mask_line(b"1\t\\N\tx", UpperMasker(), 3) == b"1\t\\N\tx"


def test_mask_line_wrong_width_names_no_values() -> None:
    with pytest.raises(CopyFormatError) as err:
        mask_line(b"1\tsecret-value", UpperMasker(), 3)
    assert "secret" not in str(err.value)
    assert "2 fields, expected 3" in str(err.value)


def test_mask_stream_counts_rows_across_chunks() -> None:
    chunks = [b"1\ta\n2\t", b"b\n", b"3\tc\n"]
    assert list(mask_stream(iter(chunks), UpperMasker(), 2)) == [(b"1\tA\n2\tB\n3\tC\n", 3)]


def test_mask_stream_over_many_blocks_keeps_every_row() -> None:
    data = [b"%d\tname %d\n" % (i, i) for i in range(20000)]  # well over one block
    out = list(mask_stream(iter(data), UpperMasker(), 2))
    assert len(out) > 1
    assert sum(n for _, n in out) == 20000
    assert b"".join(b for b, _ in out) == b"".join(d.upper() for d in data)


def test_blocks_join_small_chunks_without_losing_bytes() -> None:
    chunks = [b"abc\n"] * 10
    joined = list(blocks(chunks, size=8))
    assert joined == [b"abc\nabc\n"] * 5
    assert list(blocks([], size=8)) == []
