"""custom: the user's function gets only real values, and an output that equals or contains
the source value, or a function that raises, stops the clone naming table.column and the
function, never the value. conditional: a bad `matches` regex is a plan-time error."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbclone.errors import GeneratorError, PlanError
from tests.test_sqlite_clone import clone, make_db, rows

PEOPLE = """
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, country TEXT);
    INSERT INTO t VALUES (1, 'Orla Venn 1', 'US'), (2, 'Orla Venn 2', 'FR');
"""
SEEN: list[str] = []


def embed(value: str) -> str:
    return f"Mx {value}"


def explode(value: str) -> str:
    raise ValueError(f"bad value: {value}")


def record(value: str) -> str:
    SEEN.append(value)
    return "masked"


def test_a_function_returning_its_input_stops_the_clone(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", PEOPLE)
    with pytest.raises(GeneratorError) as err:
        clone(src, tmp_path / "dst.db",
              {"t.name": {"type": "custom", "function": "os.path:basename"}})
    assert str(err.value) == "main.t.name: custom function os.path:basename returned the " \
                             "source value"
    assert not (tmp_path / "dst.db").exists()


def test_a_function_whose_output_contains_the_input_stops_the_clone(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", PEOPLE)
    fn = f"{__name__}:embed"
    with pytest.raises(GeneratorError) as err:
        clone(src, tmp_path / "dst.db", {"t.name": {"type": "custom", "function": fn}})
    assert str(err.value) == f"main.t.name: custom function {fn} returned the source value"
    assert "Orla" not in str(err.value)


def test_a_function_that_raises_names_column_function_and_type_only(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", PEOPLE)
    fn = f"{__name__}:explode"
    with pytest.raises(GeneratorError) as err:
        clone(src, tmp_path / "dst.db", {"t.name": {"type": "custom", "function": fn}})
    assert str(err.value) == f"main.t.name: custom function {fn} failed (ValueError)"
    assert isinstance(err.value.__cause__, ValueError)  # shown with --traceback only
    assert not (tmp_path / "dst.db").exists()


def test_the_function_only_ever_sees_source_values(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", PEOPLE)
    SEEN.clear()
    clone(src, tmp_path / "dst.db",
          {"t.name": {"type": "custom", "function": f"{__name__}:record"}})
    assert set(SEEN) == {"Orla Venn 1", "Orla Venn 2"}
    assert rows(tmp_path / "dst.db", "SELECT name FROM t ORDER BY id") == [("masked",),
                                                                           ("masked",)]


def test_conditional_with_a_bad_regex_is_a_plan_error(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", PEOPLE)
    rule = {"type": "conditional", "else": "redact",
            "when": [{"if": {"column": "country", "matches": "(US"}, "then": "fake_name"}]}
    with pytest.raises(PlanError) as err:
        clone(src, tmp_path / "dst.db", {"t.name": rule})
    assert ("main.t.name: conditional: when[0].if.matches is not a valid regular "
            "expression: missing ), unterminated subpattern at position 0") in str(err.value)
    assert not (tmp_path / "dst.db").exists()
