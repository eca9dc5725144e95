"""What a clone shows while it runs when stderr is not a terminal (CI logs)."""

from __future__ import annotations

from dbclone.cli import _progress_line


def test_progress_line_gives_rows_total_rate_and_time_left() -> None:
    assert _progress_line("public.people", 250_000, 1_000_000, 2.0) == (
        "public.people: 250,000 rows of ~1,000,000, 125,000 rows/s, about 6 s left")


def test_progress_line_without_an_estimate_or_before_any_time_passed() -> None:
    assert _progress_line("main.notes", 5_000, None, 0.5) == "main.notes: 5,000 rows, 10,000 rows/s"
    assert _progress_line("main.notes", 0, 10, 0.0) == "main.notes: 0 rows of ~10"
    # an estimate the copy has passed says nothing about time left
    assert _progress_line("main.notes", 20, 10, 1.0) == "main.notes: 20 rows of ~10, 20 rows/s"
