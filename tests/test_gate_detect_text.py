"""Free text that mentions people: a few names in notes are enough, in titles they are not."""

from __future__ import annotations

from dbclone.gate.detect import _free_text


def test_a_few_names_in_short_titles_do_not_make_the_column_sensitive() -> None:
    # Chinook's Album.Title: 6% of titles hold something name-like ("Songs For Mary Johnson")
    titles = [f"The Best Of The Band Vol {i}" for i in range(94)]
    titles += ["Songs For Mary Johnson Live"] * 6
    assert _free_text(titles) is None


def test_a_few_names_in_notes_make_the_column_sensitive() -> None:
    notes = [f"Patient seen today for follow up visit number {i}, vitals stable and no new "
             "complaints reported." for i in range(97)]
    notes += ["Spoke with Mary Johnson about the results of the follow up visit today."] * 3
    found = _free_text(notes)
    assert found is not None and (found.kind, found.matched, found.sampled) == (
        "free_text", 3, 100)


def test_many_names_in_short_texts_still_count() -> None:
    credits = [f"Mary Johnson and Peter Smith {i}" for i in range(40)]
    credits += [f"The Best Of The Band Vol {i}" for i in range(60)]
    found = _free_text(credits)
    assert found is not None and found.matched == 40
