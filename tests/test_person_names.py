"""The shipped given/family name lists the privacy gate tells person names by."""

from __future__ import annotations

from pathlib import Path

from dbclone.gate import names

LISTS = Path(names.__file__).with_name("person_names")


def test_lists_hold_names_of_many_scripts_case_folded() -> None:
    given, family = names.lexicon()
    assert {"john", "maria", "mehmet", "太郎", "지훈", "олег", "jürgen"} <= given
    assert {"smith", "müller", "nowak", "佐藤", "김", "иванов", "dubois"} <= family
    assert len(given) > 25_000 and len(family) > 20_000
    assert names.is_given("JOHN") and names.is_family("Smith")
    assert not names.is_given("hospital") and not names.is_family("")


def test_each_list_is_sorted_one_folded_word_a_line() -> None:
    for kind in ("given", "family"):
        text = (LISTS / f"{kind}.txt").read_text("utf-8")
        lines = text.split("\n")
        assert lines[-1] == ""  # ends with a newline
        words = lines[:-1]
        assert words == sorted(set(words))
        assert all(w and w.split() == [w] and w == w.casefold() for w in words)


def test_rewriting_from_faker_gives_files_lexicon_reads_back(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(names, "from_faker", lambda: ({"anna", "Émile".casefold()},
                                                     {"o'neil", "lee"}))
    names.write_lists(tmp_path)
    assert (tmp_path / "given.txt").read_text("utf-8") == "anna\némile\n"
    assert (tmp_path / "family.txt").read_text("utf-8") == "lee\no'neil\n"
