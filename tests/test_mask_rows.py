"""Masking a block column by column (ColumnMasker.mask_rows, Generator.map) gives exactly
what masking it row by row (mask_row) gives: the same values and the same counts, on the
values where the fast loops step aside (NULL, '', excepted values, a re-draw, dates that are
not plain ISO dates, NULLs filled from the row key, unique columns, generators that read
the row)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dbclone import native
from dbclone.transform.generators.contact import FakePhone
from dbclone.transform.masker import ColumnMasker
from tests.test_sqlite_clone import masker_of

SCHEMA = """
CREATE TABLE person (id integer PRIMARY KEY, family text, first_name text, email text,
                     phone text, born date, seen text, login text UNIQUE, code text,
                     note text, nick text);
"""

RULES = {
    "person.first_name": {"type": "fake_first_name", "except": ["KEEP"]},
    "person.email": "fake_email",
    "person.phone": "fake_phone",
    "person.born": {"type": "date_shift", "key": "family"},
    "person.seen": {"type": "date_shift", "min_days": -3, "max_days": 3,
                    "except": ["2001-01-01"]},
    "person.login": "fake_username",  # unique: re-draws depend on what came before
    "person.code": {"type": "hash", "keep_null": False},  # NULLs filled from the row key
    "person.note": "redact",
}

FULLWIDTH_YEAR = "\uff11\uff19\uff19\uff10-05-17"
DATES = ["1990-05-17", "2024-02-30", "0000-00-00", "2020-01-01 10:11:12", "9999-12-31",
         "0001-01-01", "", None, "2001-01-01", "17/05/1990", "1990-5-17", FULLWIDTH_YEAR]
PHONES = ["+1 503 555 0101", "(503) 555-0101", "n/a", "", None, "+44 20 7946 0958",
          "5035550101", "12345678901234567890123", "+12345 6", "100% 42"]


def rows(n: int, seed: int = 7) -> list[list]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        first = rnd.choice(["Ann", "Bob", "KEEP", "", None, f"First{i}", "Zoë"])
        out.append([str(i), rnd.choice(["f1", "f2", None, str(i % 50)]), first,
                    rnd.choice([f"u{i}@c.test", "", None, "x@y"]), rnd.choice(PHONES),
                    rnd.choice(DATES), rnd.choice(DATES), f"login{i}",
                    rnd.choice([None, f"c{i % 7}"]), rnd.choice([None, "", f"n {i}"]),
                    rnd.choice(["a", None])])
    return out


def masker(tmp_path: Path, rules: dict) -> ColumnMasker:
    m = masker_of(tmp_path, SCHEMA, rules, "person")
    assert isinstance(m, ColumnMasker)
    return m


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "blocks")


def by_rows(m: ColumnMasker, data: list[list]) -> list[list]:
    return [m.mask_row(list(r)) for r in data]


def by_blocks(m: ColumnMasker, data: list[list], size: int) -> list[list]:
    out = [list(r) for r in data]
    for i in range(0, len(out), size):
        m.mask_rows(out[i:i + size])
    return out


@pytest.mark.parametrize("rules", [RULES, {**RULES, "person.nick": {
    "type": "template", "template": "{first_name|lower}"}}], ids=["columns", "template"])
def test_blocks_mask_as_rows_do(tmp_path, rules):
    data = rows(3000)
    one, other = masker(tmp_path, rules), masker(tmp_path, rules)
    assert by_blocks(other, data, 256) == by_rows(one, data)
    assert other.unchanged == one.unchanged and other.changed == one.changed
    assert sum(one.changed.values()) > 10000  # it masked something


def test_the_column_loops_are_what_runs(tmp_path):
    """Without a template every generator maps the block column-wise; a template reads
    masked values of its row, so its table is masked row by row."""
    assert masker(tmp_path, RULES)._block_reads is not None
    with_template = {**RULES, "person.nick": {"type": "template",
                                              "template": "{first_name|lower}"}}
    assert masker(tmp_path, with_template)._block_reads is None


def test_a_draw_equal_to_the_source_is_drawn_again_in_a_block(tmp_path, monkeypatch):
    """A phone whose first draw would be itself: the block loop re-draws as __call__.
    (Python's loop: the C kernel computes the real generate, which this test replaces; its
    re-draws are in tests/test_native.py.)"""
    monkeypatch.setattr(native, "module", None)
    real = FakePhone.generate

    def echo_first(self, value, attempt):
        return value if attempt == 0 and value == "+1 503 555 0101" else real(self, value,
                                                                             attempt)

    monkeypatch.setattr(FakePhone, "generate", echo_first)
    data = rows(400)
    one, other = masker(tmp_path, RULES), masker(tmp_path, RULES)
    blocks, singles = by_blocks(other, data, 64), by_rows(one, data)
    assert blocks == singles
    echoed = [r for r, src in zip(blocks, data, strict=True) if src[4] == "+1 503 555 0101"]
    assert echoed and all(r[4] != "+1 503 555 0101" for r in echoed)
