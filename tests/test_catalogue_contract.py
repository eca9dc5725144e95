"""Every generator of the catalogue against the same contract (issue 4): deterministic under a
secret and different under another, never the source value (unless the catalogue says it
may), NULL stays NULL and '' stays '' by default, and a value that fits its column or a
refusal before any row moves. Generators that need a whole row, source statistics or a
callable have their own tests; they are listed here so that a new one cannot slip past."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from dbclone.introspect.snapshot import Column, TypeCategory
from dbclone.transform import REGISTRY
from dbclone.transform.factory import RuleProblem
from tests.test_catalogue import col, gen, with_row

DATE = col("v", TypeCategory.DATE, "date")
INTEGER = col("v", TypeCategory.INTEGER, "integer")
UUID = col("v", TypeCategory.UUID, "uuid")

# name -> (column, input for i, options)
CASES: dict[str, tuple[Column, object, dict]] = {
    "constant": (col(), None, {"value": "x"}),
    "date_shift": (DATE, None, {}),
    "datetime_shift": (col("v", TypeCategory.TIMESTAMP, "timestamp"), None, {}),
    "fake_address": (col(), None, {}),
    "fake_city": (col(), None, {}),
    "fake_company": (col(), None, {}),
    "fake_country": (col(), None, {}),
    "fake_credit_card": (col(), lambda i: f"4111{i:012d}", {}),
    "fake_date_of_birth": (DATE, None, {}),
    "fake_email": (col(), lambda i: f"user{i}@corp.example", {}),
    "fake_first_name": (col(), None, {}),
    "fake_iban": (col(), lambda i: f"DE89370400{i:012d}", {}),
    "fake_ip": (col(), lambda i: f"10.0.{i // 250}.{i % 250 + 1}", {}),
    "fake_job_title": (col(), None, {}),
    "fake_last_name": (col(), None, {}),
    "fake_license_plate": (col(), lambda i: f"AB-{i:04d}", {}),
    "fake_mac": (col(), lambda i: f"00:1a:2b:3c:{i // 256:02x}:{i % 256:02x}", {}),
    "fake_name": (col(), None, {}),
    "fake_passport": (col(), lambda i: f"X{i:08d}", {}),
    "fake_phone": (col(), lambda i: f"+1 415-555-{i:04d}", {}),
    "fake_ssn": (col(), lambda i: f"{100 + i:03d}-45-{i % 9000 + 1000:04d}", {}),
    "fake_state": (col(), None, {}),
    "fake_street": (col(), None, {}),
    "fake_url": (col(), lambda i: f"https://corp.example/u/{i}", {}),
    "fake_username": (col(), lambda i: f"orla.venn{i}", {}),
    "fake_uuid": (UUID, lambda i: str(uuid.UUID(int=i + 1)), {}),
    "fake_zip": (col(), lambda i: f"{10000 + i:05d}", {}),
    "format_preserving": (col(), lambda i: f"ACC-{i:06d}-x", {}),
    "hash": (col(), None, {}),
    "integer_key": (INTEGER, lambda i: str(i + 1), {}),
    "keep": (col(), None, {}),
    "null": (col(), None, {}),
    "number_noise": (INTEGER, lambda i: str(1000 + i), {}),
    "partial": (col(), None, {}),
    "redact": (col(), None, {}),
    "regex": (col(), None, {"pattern": r"[A-Z]{4}-\d{8}"}),
    "uuid_key": (UUID, lambda i: str(uuid.UUID(int=(i + 1) * 7919)), {}),
}
OWN_TESTS = {  # generator -> where its contract is tested instead
    "categorical": "needs the source column's frequencies (test_catalogue, case 19)",
    "shuffle": "needs a sample of the source column (test_catalogue)",
    "conditional": "chooses another generator per row (test_catalogue)",
    "custom": "a user's callable (test_catalogue)",
    "json": "applies generators inside JSON (case 28)",
    "template": "builds a value from other masked columns (test_catalogue)",
    "text_redact": "free text through NER (test_text_*)",
}
UNKEYED = {"keep", "null", "constant", "redact", "partial"}  # same output under any secret


def _input(name: str, i: int) -> str:
    column, make, _ = CASES[name]
    if make is not None:
        return make(i)  # type: ignore[operator]
    if column.category is TypeCategory.DATE:
        return (dt.date(1960, 1, 1) + dt.timedelta(days=37 * i)).isoformat()
    if column.category is TypeCategory.TIMESTAMP:
        return (dt.datetime(1990, 1, 1) + dt.timedelta(hours=29 * i)).isoformat(sep=" ")
    return f"Orla Venn {i}"


def _make(name: str, secret: str = "k", column: Column | None = None, **extra):
    base, _, options = CASES[name]
    g = gen(name, column or base, secret=secret, **{**options, **extra})
    if g.uses_row:  # the row key of each value: its own index
        with_row(g, ["id", "v"], [0, None])
    return g


def _outputs(g, name: str, n: int = 200) -> list:
    out = []
    for i in range(n):
        if g.row is not None:
            g.row.source_values = [i, _input(name, i)]
            g.row.masked_values = list(g.row.source_values)
        out.append(g(_input(name, i)))
    return out


def test_every_generator_is_covered_here_or_has_its_own_tests() -> None:
    assert set(CASES) | set(OWN_TESTS) == set(REGISTRY)
    assert not set(CASES) & set(OWN_TESTS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_secret_same_output_other_secret_other_output(name: str) -> None:
    first = _outputs(_make(name), name)
    assert _outputs(_make(name), name) == first
    if name not in UNKEYED:
        assert _outputs(_make(name, secret="other"), name) != first


@pytest.mark.parametrize("name", sorted(n for n in CASES if REGISTRY[n].masks
                                        and not REGISTRY[n].may_return_source))
def test_never_the_source_value(name: str) -> None:
    g = _make(name)
    for i, out in enumerate(_outputs(g, name, 500)):
        assert out != _input(name, i), (name, i)


@pytest.mark.parametrize("name", sorted(CASES))
def test_null_stays_null_and_empty_stays_empty_by_default(name: str) -> None:
    g = _make(name)
    assert g(None) is None
    if CASES[name][0].category is TypeCategory.TEXT:
        # null erases every value, '' included: nothing at all of the column is copied
        assert g("") == ("" if name != "null" else None)


@pytest.mark.parametrize("name", sorted(n for n in CASES if n not in {"keep", "null"}
                                        and REGISTRY[n].masks))
def test_null_is_filled_when_asked(name: str) -> None:
    g = _make(name, keep_null=False)
    if REGISTRY[name].one_to_one:
        # a key mapping has no value for a NULL key: refused before any row moves
        assert g.check() == [f"public.t.v: {name} keeps NULL keys NULL: keep_null: false "
                             "does not apply to a one-to-one key mapping"]
        return
    if g.row is not None:
        g.row.source_values = [7, None]
        g.row.masked_values = [7, None]
    assert g(None, "7") is not None


@pytest.mark.parametrize("name", sorted(n for n in CASES
                                        if CASES[n][0].category is TypeCategory.TEXT))
def test_output_fits_a_short_column_or_is_refused_before_any_row(name: str) -> None:
    short = col("v", TypeCategory.TEXT, "varchar(8)", max_length=8)
    try:
        g = _make(name, column=short)
    except RuleProblem:
        return  # refused at plan time: that is the contract too
    if g.check():
        return
    for i, out in enumerate(_outputs(g, name, 300)):
        value = _input(name, i)
        if len(value) <= 8:
            assert out is None or len(out) <= 8, (name, value, out)


def test_fake_ip_is_refused_on_a_column_too_short_for_its_addresses() -> None:
    g = _make("fake_ip", column=col("v", TypeCategory.TEXT, "varchar(12)", max_length=12))
    assert g.check() == ["public.t.v: fake_ip cannot fit varchar(12): its addresses take up "
                         "to 14 characters"]
    assert _make("fake_ip", column=col("v", TypeCategory.TEXT, "varchar(15)",
                                       max_length=15)).check() == []
