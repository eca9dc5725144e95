"""The COPY text format, just enough to mask a row in flight.

A row is one line ending in ``\\n``; fields are separated by ``\\t``; ``\\N`` alone is NULL.
Inside a field, backslash escapes stand for the bytes PostgreSQL would not write raw:
``\\\\``, ``\\b \\f \\n \\r \\t \\v``, octal ``\\ooo`` and hex ``\\xhh``; a backslash before any
other character stands for that character. Because newline and tab are always escaped in data,
a raw newline ends a row and a raw tab ends a field, so rows split without parsing quotes.

Only masked fields are re-escaped; every other field's bytes are passed on as they came,
which keeps unmasked columns byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from dbclone import native

NULL = b"\\N"

_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
# What PostgreSQL's COPY TO escapes.
_OUT = {b"\\": b"\\\\", b"\n": b"\\n", b"\r": b"\\r", b"\t": b"\\t", b"\b": b"\\b",
        b"\f": b"\\f", b"\v": b"\\v"}
_SPECIAL = re.compile(rb"[\\\n\r\t\b\f\v]")
BLOCK_SIZE = 1 << 16  # bytes per write: amortises per-call overhead over many rows


class CopyFormatError(ValueError):
    """A row that does not have the expected shape (the message never includes the row)."""


def _one(m: re.Match[bytes]) -> bytes:
    octal, hexa, other = m.groups()
    if octal is not None:
        return bytes((int(octal, 8) & 0xFF,))  # the server masks \ooo to one byte too
    if hexa is not None:
        return bytes((int(hexa, 16),))
    return _SIMPLE.get(other, other)


def unescape(raw: bytes) -> bytes:
    """The bytes a text-format field stands for (not for ``\\N``: see :func:`decode_field`)."""
    if b"\\" not in raw:
        return raw
    return _ESCAPE.sub(_one, raw)


def escape(data: bytes) -> bytes:
    if _SPECIAL.search(data) is None:
        return data
    return _SPECIAL.sub(lambda m: _OUT[m.group()], data)


def decode_field(raw: bytes) -> str | None:
    """A text-format field as the masker sees it: ``None`` for NULL, else the text."""
    if b"\\" in raw:
        if raw == NULL:
            return None
        raw = _ESCAPE.sub(_one, raw)
    # surrogateescape: a non-UTF-8 byte (e.g. an octal escape) survives the round trip.
    return raw.decode("utf-8", "surrogateescape")


def encode_field(value: object) -> bytes:
    if value is None:
        return NULL
    text = value if isinstance(value, str) else str(value)
    return escape(text.encode("utf-8", "surrogateescape"))


class Masker(Protocol):
    masked_positions: tuple[int, ...]

    def mask_row(self, values: list) -> list: ...


def mask_line(line: bytes, masker: Masker, width: int) -> bytes:
    """Mask one row (without its newline): see :func:`mask_lines`."""
    return mask_lines([line], masker, width)[0]


def mask_lines(lines: list[bytes], masker: Masker, width: int) -> list[bytes]:
    """Mask a block of rows (each without its newline).

    The masker sees the fields it reads as canonical text (it may key on the primary key),
    but only the masked fields are re-encoded: the others are written back as the exact
    bytes read. A masker that takes a whole block (``mask_rows``: one loop per column)
    gets it at once, any other one row by row."""
    reads = getattr(masker, "read_positions", None)
    if reads is None:
        reads = range(width)
    split = [line.split(b"\t") for line in lines]
    rows = []
    for fields in split:
        if len(fields) != width:
            raise CopyFormatError(f"a row has {len(fields)} fields, expected {width}")
        values: list[Any] = [None] * width
        for pos in reads:
            # decode_field inlined for the common field without a backslash
            f = fields[pos]
            values[pos] = (decode_field(f) if b"\\" in f
                           else f.decode("utf-8", "surrogateescape"))
        rows.append(values)
    mask_rows = getattr(masker, "mask_rows", None)
    if mask_rows is not None:
        mask_rows(rows)
    else:
        rows = [masker.mask_row(values) for values in rows]
    masked = masker.masked_positions
    for fields, values in zip(split, rows, strict=True):
        for pos in masked:
            value = values[pos]
            if value.__class__ is str:  # encode_field inlined for the common case
                data = value.encode("utf-8", "surrogateescape")
                fields[pos] = data if _SPECIAL.search(data) is None else escape(data)
            else:
                fields[pos] = encode_field(value)
    return [b"\t".join(fields) for fields in split]


class RowSplitter:
    """Cuts a stream of COPY data chunks into whole rows, whatever the chunk boundaries."""

    def __init__(self) -> None:
        # The start of an unfinished row, in pieces: a row of hundreds of megabytes comes in
        # many chunks, and joining at every chunk would copy it over and over.
        self._rest: list[bytes] = []

    def feed(self, chunk: bytes | memoryview) -> list[bytes]:
        """The rows the chunk completes, without their newlines."""
        whole = self.whole(chunk)
        return whole[:-1].split(b"\n") if whole else []

    def whole(self, chunk: bytes | memoryview) -> bytes:
        """The rows the chunk completes, as one block of lines each ending in a newline."""
        data = bytes(chunk)
        cut = data.rfind(b"\n")
        if cut < 0:
            if data:
                self._rest.append(data)
            return b""
        if self._rest:
            self._rest.append(data)
            data = b"".join(self._rest)
            cut = data.rfind(b"\n")
        tail = data[cut + 1:]
        self._rest = [tail] if tail else []
        return data[:cut + 1]

    def close(self) -> None:
        if self._rest:
            raise CopyFormatError("the COPY stream ended in the middle of a row")


def blocks(chunks: Iterable[bytes | memoryview], size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Join small chunks (COPY sends one message per row) into blocks of about ``size``."""
    parts: list[bytes | memoryview] = []
    total = 0
    for chunk in chunks:
        parts.append(chunk)
        total += len(chunk)
        if total >= size:
            yield b"".join(parts)
            parts, total = [], 0
    if parts:
        yield b"".join(parts)


def mask_stream(chunks: Iterable[bytes | memoryview], masker: Masker,
                width: int) -> Iterator[tuple[bytes, int]]:
    """Masked COPY data as ``(block, rows)`` pairs, whatever the input chunk boundaries."""
    splitter = RowSplitter()
    prime = tuple(getattr(masker, "prime_positions", ()))
    if native.module is not None and not prime and getattr(masker, "by_column", False):
        yield from _mask_stream_native(chunks, splitter, masker, width)
        return
    for block in blocks(chunks):
        rows = splitter.feed(block)
        if rows:
            if prime:  # text_redact: NER over the whole block's rows first
                _prime(rows, masker, prime)
            out = mask_lines(rows, masker, width)
            out.append(b"")
            yield b"\n".join(out), len(rows)
    splitter.close()


def _mask_stream_native(chunks: Iterable[bytes | memoryview], splitter: RowSplitter,
                        masker: Any, width: int) -> Iterator[tuple[bytes, int]]:
    """mask_stream through the C codec: the block's fields decoded, masked column by column
    (``mask_columns``) and re-encoded without a Python object per row or field."""
    mask_block = native.module.copy_mask_block  # type: ignore[union-attr]
    reads, masked = tuple(masker.column_reads), tuple(masker.masked_positions)
    for block in blocks(chunks):
        whole = splitter.whole(block)
        if whole:
            try:
                yield mask_block(whole, width, reads, masked, masker.mask_columns)
            except native.module.FormatError as exc:  # type: ignore[union-attr]
                found, expected = exc.args
                raise CopyFormatError(f"a row has {found} fields, expected {expected}"
                                      ) from None
    splitter.close()


def pump(chunks: Iterable[bytes | memoryview], sink: Any, masker: Masker | None, width: int,
         progress: Callable[[int], None], every: int = 5000) -> int:
    """COPY data from ``chunks`` into ``sink`` (anything with ``write``): passed through as
    the source's bytes when nothing is masked, else masked row by row; ``progress`` hears
    about every ``every`` rows. Returns the number of rows."""
    if masker is None or not masker.masked_positions:
        stream: Iterator[tuple[bytes, int]] = ((b, b.count(b"\n")) for b in blocks(chunks))
    else:
        stream = mask_stream(chunks, masker, width)
    rows = pending = 0
    for block, n in stream:
        sink.write(block)
        rows += n
        pending += n
        if pending >= every:
            progress(pending)
            pending = 0
    if pending:
        progress(pending)
    return rows


def _prime(rows: list[bytes], masker: Masker, positions: tuple[int, ...]) -> None:
    """Decode just the primed fields of a block's rows and hand them to the masker."""
    columns: dict[int, list[object]] = {p: [] for p in positions}
    for line in rows:
        fields = line.split(b"\t")
        for p in positions:
            columns[p].append(decode_field(fields[p]) if p < len(fields) else None)
    masker.prime(columns)  # type: ignore[attr-defined]
