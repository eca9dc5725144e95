"""Which databases are half-built copies of a destination that killed runs left behind
(dbclone.dialects.base.leftover_copies): the rule both dialects apply to what their server
lists. The servers' side (who is connected) is tested in integration/."""

from __future__ import annotations

from dbclone.dialects.base import TMP_MARK, leftover_copies


def names_of(names: list[str], own: str, dest: str = "dev") -> list[str]:
    return [f.where for f in leftover_copies(names, own, dest, lambda n: f"DROP {n};")]


def test_only_other_copies_of_the_same_destination_are_named() -> None:
    own = f"dev{TMP_MARK}1234abcd"
    names = [own, f"dev{TMP_MARK}0badc0de", f"dev{TMP_MARK}0BADC0DE", f"dev{TMP_MARK}0badc0",
             f"dev{TMP_MARK}0badc0dee", f"dev2{TMP_MARK}0badc0de", "dev", f"dev{TMP_MARK}x" * 2,
             f"dev{TMP_MARK}00c0ffee"]
    assert names_of(names, own) == [f"dev{TMP_MARK}00c0ffee", f"dev{TMP_MARK}0badc0de"]


def test_a_long_destination_name_is_matched_as_it_was_cut() -> None:
    """The temporary name keeps only as much of a long destination name as fits the
    server's limit: copies are matched on that cut head."""
    head = "d" * 40 + TMP_MARK
    own, left = head + "1234abcd", head + "feedf00d"
    assert names_of([own, left, "d" * 39 + TMP_MARK + "feedf00d"], own, "d" * 60) == [left]


def test_the_warning_says_how_to_drop_it_and_names_no_value() -> None:
    own = f"dev{TMP_MARK}1234abcd"
    (f,) = leftover_copies([f"dev{TMP_MARK}0badc0de"], own, "dev", lambda n: f'DROP "{n}";')
    assert f.level == "warning"
    assert f.message.endswith(f'Drop it with: DROP "dev{TMP_MARK}0badc0de";')
    assert "half-built copy of dev" in f.message
