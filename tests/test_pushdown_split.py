"""Issues 4 and 8: which masked columns a database may compute itself (transform/pushdown.py),
and the per-domain keys it computes them with. The SQL and its exactness are tested on the
real PostgreSQL (integration/test_pg_pushdown.py); this is the choice of columns."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dbclone import native
from dbclone.transform import pushdown
from dbclone.transform.keyed import Keyer
from tests.test_sqlite_clone import masker_of

SCHEMA = """
CREATE TABLE person (id integer PRIMARY KEY, first_name text, last_name text, email text,
                     login text, born date, family text, ssn text UNIQUE, note text);
"""


def split_of(tmp_path: Path, generators: dict) -> pushdown.Split | None:
    masker = masker_of(tmp_path, SCHEMA, generators, "person")
    return pushdown.split(masker, lambda name, spec: True)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBCLONE_SECRET", "split")
    # the choice a clone without dbclone's C module makes (with it, see the last test)
    monkeypatch.setattr(native, "module", None)


def test_a_table_whose_masking_the_database_can_compute_goes_there_whole(tmp_path):
    split = split_of(tmp_path, {
        "person.first_name": "fake_first_name", "person.email": "fake_email",
        "person.born": {"type": "date_shift", "key": "family"}})
    assert split is not None and split.rest is None
    assert sorted(split.specs) == ["born", "email", "first_name"]
    assert isinstance(split.specs["born"], pushdown.DateShiftSpec)
    assert split.specs["born"].entity == ("family",)


def test_a_half_pushable_table_stays_with_dbclone(tmp_path):
    """redact has no SQL form: the row is parsed here anyway, so nothing is pushed (SQL
    costs more per column than Python once the row is parsed)."""
    assert split_of(tmp_path, {"person.first_name": "fake_first_name",
                               "person.note": "redact"}) is None


@pytest.mark.parametrize("rules, why", [
    ({"person.ssn": "fake_ssn"}, "a unique column's re-draws depend on row order"),
    ({"person.born": {"type": "date_shift", "key": "family", "except": ["2000-01-01"]}},
     "an excepted date"),
    ({"person.first_name": {"type": "fake_first_name", "keep_null": False}},
     "NULLs filled from the row key"),
    ({"person.first_name": {"type": "fake_first_name", "keep_empty": False}},
     "'' masked like any value"),
    ({"person.email": {"type": "fake_email", "keep_domain": True}}, "keeps the source domain"),
])
def test_columns_that_stay_with_dbclone(tmp_path, rules, why):
    assert split_of(tmp_path, rules) is None, why


def test_a_column_another_generator_reads_stays(tmp_path):
    """A template reads first_name, so dbclone masks first_name itself (a pushed-down column
    arrives masked), and with it the table. date_shift reads family, but the database
    computes both from the source's family: that table may go."""
    assert split_of(tmp_path, {
        "person.first_name": "fake_first_name", "person.last_name": "fake_last_name",
        "person.login": {"type": "template", "template": "{first_name|lower}.x"}}) is None
    split = split_of(tmp_path, {"person.family": "fake_last_name",
                                "person.born": {"type": "date_shift", "key": "family"}})
    assert split is not None and sorted(split.specs) == ["born", "family"]


def test_the_database_hmac_is_the_keyers():
    """SHA-256(outer || SHA-256(inner || m)) over Keyer.pads: what the SQL computes."""
    keyer = Keyer("pads")
    inner, outer = keyer.pads("fake_first_name:[]:en_US")
    for value in ("Ann", "", "Zoë", "x" * 300):
        m = value.encode("utf-8")
        sql_side = hashlib.sha256(outer + hashlib.sha256(inner + m).digest()).digest()
        assert sql_side == keyer.digest("fake_first_name:[]:en_US", value)
    draws = pushdown.draws(keyer, "d")
    assert len(draws) == 8 and draws[1] == pushdown.Draw(*keyer.pads("d#1"))


def test_with_the_c_module_its_kernels_stay_in_dbclone(tmp_path, monkeypatch):
    """A generator whose loop runs in C is not pushed down: C costs 0.2-0.6 us a value,
    SQL 2-6 us of the source's time."""
    monkeypatch.undo()
    if native.module is None:
        pytest.skip("dbclone._native is not built")
    monkeypatch.setenv("DBCLONE_SECRET", "split")
    assert split_of(tmp_path, {"person.first_name": "fake_first_name",
                               "person.email": "fake_email", "person.ssn": "fake_ssn",
                               "person.born": {"type": "date_shift", "key": "family"}}) is None
