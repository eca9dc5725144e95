"""The generator catalogue (issue 4): each family's contract, checked on plain values."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid

import pytest

from dbclone.introspect.snapshot import Column, ColumnRef, Table, TableRef, TypeCategory
from dbclone.transform import REGISTRY, Keyer
from dbclone.transform.base import GeneratorContext, Row
from dbclone.transform.factory import RuleProblem, make_generator
from dbclone.transform.generators.identifiers import iban_valid, luhn_valid

T = TableRef("public", "t")


def col(name: str = "v", cat: TypeCategory = TypeCategory.TEXT, type_sql: str = "text",
        **kw) -> Column:
    return Column(name, type_sql, cat, **kw)


def gen(name: str, column: Column | None = None, table_cols: tuple[Column, ...] = (),
        secret: str = "k", locale: str = "en_US", **options):
    column = column or col()
    cols = (col("id", TypeCategory.INTEGER, "integer"), column, *table_cols)
    table = Table(T, cols, ("id",))
    ctx = GeneratorContext(table, column, ColumnRef(T, column.name), locale, Keyer(secret),
                           "ws.yaml:1")
    return make_generator(name, options, ctx)


def with_row(g, names: list[str], values: list):
    row = Row(names, [0])
    row.source_values = list(values)
    row.masked_values = list(values)
    g.row = row
    return g


def test_catalogue_has_at_least_40_documented_generators() -> None:
    assert len(REGISTRY) >= 40
    for name, cls in REGISTRY.items():
        assert cls.summary(), f"{name} has no docstring"
        assert name == name.lower()


# --- unique-safe generators: no collisions on 1,000,000 distinct inputs ---------------------

UNIQUE_SAFE = sorted(n for n, c in REGISTRY.items() if c.unique_safe)
SAMPLE_INPUT = {
    "fake_uuid": lambda i: str(uuid.UUID(int=i)),
    "uuid_key": lambda i: str(uuid.UUID(int=i * 7919)),
    "integer_key": str,
    "fake_ip": lambda i: str(ipaddress.IPv4Address(i + 1)),
    "fake_mac": lambda i: ":".join(f"{(i >> s) & 0xFF:02x}" for s in (40, 32, 24, 16, 8, 0)),
    "fake_credit_card": lambda i: f"4111{i:012d}",
    "fake_iban": lambda i: f"DE89370400{i:012d}",
    "fake_phone": lambda i: f"+1 {i:010d}",
    "fake_passport": lambda i: f"X{i:08d}",
    "fake_license_plate": lambda i: f"AB-{i:07d}",
    "format_preserving": lambda i: f"ACC-{i:09d}",
    "fake_ssn": lambda i: f"{i:09d}",
}
OPTIONS = {"regex": {"pattern": r"[A-Z]{4}-\d{8}"}}


@pytest.mark.slow
@pytest.mark.parametrize("name", UNIQUE_SAFE)
def test_unique_safe_generators_never_collide_on_a_million_inputs(name: str) -> None:
    g = gen(name, **OPTIONS.get(name, {}))
    g.unique = not g.one_to_one  # as the plan does for a unique column
    make_input = SAMPLE_INPUT.get(name, lambda i: f"value-{i}")
    n = 1_000_000
    seen = set()
    for i in range(n):
        seen.add(g(make_input(i)))
    assert len(seen) == n


# --- people and contact ---------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["en_US", "en_GB", "de_DE", "fr_FR", "ko_KR", "ja_JP"])
def test_locales_give_names_in_that_locale(locale: str) -> None:
    g = gen("fake_name", locale=locale)
    out = g("Orla Venn")
    assert out and out != "Orla Venn"
    if locale in ("ko_KR", "ja_JP"):
        assert not re.search(r"[A-Za-z]", out), out  # written in the locale's script


def test_email_on_a_short_column_still_fits_and_stays_an_email() -> None:
    g = gen("fake_email", col(max_length=12))
    for i in range(1000):
        out = g(f"person{i}@corp.example")
        assert len(out) <= 12 and "@" in out


def test_zip_keeps_format_and_optionally_the_first_three_digits() -> None:
    g = gen("fake_zip", keep_prefix=3)
    out = g("97214-1234")
    assert out.startswith("972") and re.fullmatch(r"\d{5}-\d{4}", out) and out != "97214-1234"
    assert re.fullmatch(r"[A-Z]\d[A-Z] \d[A-Z]\d", gen("fake_zip")("K1A 0B1"))


def test_state_abbreviated_when_the_source_is() -> None:
    assert len(gen("fake_state")("OR")) == 2
    assert len(gen("fake_state")("Oregon")) > 3


def test_ip_keeps_version_and_prefix() -> None:
    g = gen("fake_ip")
    v4 = g("192.168.4.7/24")
    assert v4.endswith("/24") and ipaddress.ip_address(v4[:-3]).version == 4
    assert ipaddress.ip_address(g("2001:db8::1")).version == 6


def test_mac_keeps_layout_and_is_locally_administered() -> None:
    out = gen("fake_mac")("00-1A-2B-3C-4D-5E")
    assert re.fullmatch(r"([0-9A-F]{2}-){5}[0-9A-F]{2}", out)
    assert int(out[:2], 16) & 0x02


def test_url_is_at_a_reserved_domain() -> None:
    assert re.fullmatch(r"https://[a-z]+\d+\.example/[a-z]+", gen("fake_url")("https://x.io/a"))


# --- identifiers ----------------------------------------------------------------------------

def test_credit_card_is_luhn_valid_keeps_network_length_and_spacing() -> None:
    g = gen("fake_credit_card")
    for src in ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009"]:
        out = g(src)
        assert luhn_valid(out) and out != src
        assert out[0] == src[0] and len(out) == len(src)
        assert [i for i, c in enumerate(out) if not c.isdigit()] == [
            i for i, c in enumerate(src) if not c.isdigit()]


def test_iban_has_a_valid_checksum_and_keeps_country_and_spacing() -> None:
    g = gen("fake_iban")
    for src in ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]:
        out = g(src)
        assert iban_valid(out) and out != src
        assert out[:2] == src[:2] and len(out) == len(src)


def test_uuid_is_a_valid_v4() -> None:
    out = gen("fake_uuid", col(cat=TypeCategory.UUID, type_sql="uuid"))(str(uuid.uuid4()))
    assert uuid.UUID(out).version == 4


# --- structure ------------------------------------------------------------------------------

def test_format_preserving_keeps_classes_case_punctuation() -> None:
    out = gen("format_preserving", keep_prefix=2)("AB-12cd/9")
    assert out[:2] == "AB" and re.fullmatch(r"AB-\d\d[a-z]{2}/\d", out)


def test_regex_values_match_the_pattern() -> None:
    g = gen("regex", pattern=r"MRN-[A-Z]{2}\d{6}(-[ab])?")
    for i in range(200):
        assert re.fullmatch(r"MRN-[A-Z]{2}\d{6}(-[ab])?", g(f"x{i}"))


def test_bad_regex_is_a_plan_problem() -> None:
    with pytest.raises(RuleProblem, match="pattern: not a valid regular expression"):
        gen("regex", pattern="([a-z")


def test_date_shift_is_one_offset_per_entity_so_intervals_survive() -> None:
    names = ["id", "v", "patient_id"]
    key_col = col("patient_id", TypeCategory.INTEGER, "integer")
    g = gen("date_shift", col(cat=TypeCategory.DATE, type_sql="date"), (key_col,),
            key="patient_id")
    a = with_row(g, names, [1, "2024-01-10", 7])("2024-01-10")
    b = with_row(g, names, [2, "2024-03-01", 7])("2024-03-01")
    c = with_row(g, names, [3, "2024-01-10", 8])("2024-01-10")
    da, db = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    assert (db - da).days == (dt.date(2024, 3, 1) - dt.date(2024, 1, 10)).days
    assert a != "2024-01-10" and c != a  # another patient, another offset (here)


def test_datetime_shift_keeps_durations_and_fraction() -> None:
    names = ["id", "v", "patient_id"]
    key_col = col("patient_id", TypeCategory.INTEGER, "integer")
    g = gen("datetime_shift", col(cat=TypeCategory.TIMESTAMP, type_sql="timestamp"),
            (key_col,), key="patient_id")
    a = with_row(g, names, [1, None, 5])("2024-01-10 08:00:00.25")
    b = with_row(g, names, [2, None, 5])("2024-01-10 09:30:00.25")
    ta = dt.datetime.fromisoformat(a)
    tb = dt.datetime.fromisoformat(b)
    assert tb - ta == dt.timedelta(minutes=90) and a.endswith(".25")


def test_date_shift_keeps_mysql_zero_dates_and_shifts_a_day_its_month_lacks() -> None:
    names = ["id", "v", "patient_id"]
    key_col = col("patient_id", TypeCategory.INTEGER, "integer")
    g = gen("date_shift", col(cat=TypeCategory.DATE, type_sql="date"), (key_col,),
            key="patient_id")
    for zero in ("0000-00-00", "0000-00-00 00:00:00", "2024-00-00", "2024-05-00"):
        assert with_row(g, names, [1, zero, 7])(zero) == zero  # no date: kept, like NULL
        assert g.kept_as_is(zero)
    assert not g.kept_as_is("2024-05-01")
    # ALLOW_INVALID_DATES: Feb 31 is moved as Feb 29 is, by the patient's own offset
    feb31 = with_row(g, names, [1, "2024-02-31", 7])("2024-02-31")
    feb29 = with_row(g, names, [2, "2024-02-29", 7])("2024-02-29")
    assert feb31 == feb29 and feb31 != "1970-01-01"


@pytest.mark.parametrize("kind", ["date_shift", "datetime_shift"])
def test_a_date_the_shift_would_push_off_the_calendar_moves_back(kind: str) -> None:
    """They all became 1970-01-01: one constant for every sentinel and edge date, the
    intervals between an entity's dates gone (found by a fresh-user trial)."""
    names = ["id", "v", "patient_id"]
    key_col = col("patient_id", TypeCategory.INTEGER, "integer")
    g = gen(kind, col(cat=TypeCategory.TIMESTAMP, type_sql="timestamp"), (key_col,),
            key="patient_id", min_days=100, max_days=200)
    late = [with_row(g, names, [1, v, 7])(v) for v in ("9999-12-31", "9999-12-20")]
    early = [with_row(g, names, [1, v, 8])(v) for v in ("0001-01-01 00:00:00",
                                                         "0001-01-05 00:00:00")]
    assert all(v.startswith("9999-") for v in late) and len(set(late)) == 2
    assert all(v.startswith("0001-") for v in early) and len(set(early)) == 2
    # within one entity the interval is kept, whichever way its dates moved
    a, b = (dt.date.fromisoformat(v[:10]) for v in late)
    assert a - b == dt.timedelta(days=11)
    c, d = (dt.datetime.fromisoformat(v) for v in early)
    assert d - c == dt.timedelta(days=4)
    # PostgreSQL's infinities mean "no date", like MySQL's zero dates: kept
    assert with_row(g, names, [1, "infinity", 7])("infinity") == "infinity"
    assert g.kept_as_is("-infinity")


@pytest.mark.parametrize("days", [{"min_days": -40000}, {"max_days": 3000001}])
def test_a_shift_beyond_a_century_is_refused(days: dict) -> None:
    from dbclone.transform.factory import RuleProblem

    with pytest.raises(RuleProblem, match=f"date_shift: {next(iter(days))}: .*36524"):
        gen("date_shift", col(cat=TypeCategory.DATE, type_sql="date"), **days)


def test_date_shift_key_must_exist() -> None:
    g = gen("date_shift", col(cat=TypeCategory.DATE, type_sql="date"), key="patiant_id")
    assert g.check() == ["public.t.v: date_shift key column 'patiant_id' is not in public.t"]


def test_number_noise_keeps_sign_scale_and_bounds() -> None:
    g = gen("number_noise", col(cat=TypeCategory.NUMERIC, type_sql="numeric(5,2)",
                                numeric_precision=5, numeric_scale=2), relative=0.5)
    for src in ["12.50", "-3.10", "999.99"]:
        out = g(src)
        assert re.fullmatch(r"-?\d+\.\d\d", out)
        assert (out.startswith("-")) == src.startswith("-")
        assert abs(float(out)) <= 999.99
    ig = gen("number_noise", col(cat=TypeCategory.INTEGER, type_sql="smallint"), absolute=5)
    assert abs(int(ig("32767"))) <= 32767


def test_integer_key_is_a_bijection_within_the_type() -> None:
    g = gen("integer_key", col(cat=TypeCategory.INTEGER, type_sql="smallint"))
    outs = {int(g(str(i))) for i in range(1, 32768)}
    assert outs == set(range(1, 32768))  # every value hit exactly once
    assert int(g("-5")) < 0


def test_uuid_key_is_one_to_one_and_keeps_version() -> None:
    g = gen("uuid_key", col(cat=TypeCategory.UUID, type_sql="uuid"))
    src = [uuid.uuid4() for _ in range(2000)]
    outs = [uuid.UUID(g(str(u))) for u in src]
    assert len(set(outs)) == len(src)
    assert all(o.version == 4 for o in outs)


def test_categorical_draws_from_source_frequencies() -> None:
    g = gen("categorical")
    g.prepare([("A", 90), ("B", 10)])
    outs = [g(f"v{i}") for i in range(2000)]
    assert set(outs) == {"A", "B"}
    assert 0.85 < outs.count("A") / len(outs) < 0.95


# --- composition ----------------------------------------------------------------------------

def test_json_masks_each_array_element_and_keeps_the_rest() -> None:  # case 28
    doc = {"contacts": [{"email": "a1@example.test", "label": "home"},
                        {"email": "a2@example.test", "label": "work"}], "note": "hi"}
    g = gen("json", col(cat=TypeCategory.JSON, type_sql="jsonb"),
            paths={"contacts[*].email": "fake_email"})
    out = json.loads(g(json.dumps(doc)))
    emails = [c["email"] for c in out["contacts"]]
    assert len(emails) == 2 and len(set(emails)) == 2
    assert not {"a1@example.test", "a2@example.test"} & set(emails)
    assert [c["label"] for c in out["contacts"]] == ["home", "work"] and out["note"] == "hi"


def test_json_never_passes_malformed_input_through() -> None:  # case 28
    bad = '{"email": "a3@example.test"'
    assert gen("json", paths={"email": "fake_email"})(bad) == "{}"
    assert gen("json", paths={"email": "fake_email"}, on_invalid="null")(bad) is None
    from dbclone.errors import GeneratorError

    with pytest.raises(GeneratorError) as info:
        gen("json", paths={"email": "fake_email"}, on_invalid="fail")(bad)
    assert "a3@example.test" not in str(info.value)


def test_json_inner_rules_are_checked() -> None:
    with pytest.raises(RuleProblem, match="unknown generator 'fake_emial'"):
        gen("json", paths={"email": "fake_emial"})


def test_template_builds_from_masked_columns() -> None:
    first, last = col("first_name"), col("last_name")
    g = gen("template", col("email"), (first, last),
            template="{first_name|slug}.{last_name|lower}@example.com")
    names = ["id", "email", "first_name", "last_name"]
    row_g = with_row(g, names, [1, "orla@x.io", "Orla", "Venn"])
    row_g.row.masked_values = [1, "orla@x.io", "Zoë", "Brennan"]
    assert row_g("orla@x.io") == "zoe.brennan@example.com"


def test_template_names_unknown_columns_and_filters() -> None:
    g = gen("template", template="{nope|shout}")
    assert g.check() == [
        "public.t.v: template names column 'nope', which is not in public.t",
        "public.t.v: template filter 'shout' is unknown (filters: lower, upper, title, slug, "
        "initial)"]


def test_conditional_chooses_by_row() -> None:
    country = col("country")
    g = gen("conditional", col("national_id"), (country,),
            when=[{"if": {"column": "country", "equals": "US"}, "then": "fake_ssn"}],
            **{"else": {"type": "redact"}})
    names = ["id", "national_id", "country"]
    assert re.fullmatch(r"9\d\d-\d\d-\d{4}",
                        with_row(g, names, [1, "123-45-6789", "US"])("123-45-6789"))
    assert with_row(g, names, [2, "AB123", "FR"])("AB123") == "XXXXX"


def test_custom_callable_by_dotted_path() -> None:
    g = gen("custom", function="tests.custom_masks:reverse")
    assert g("abc") == "cba"
    with pytest.raises(RuleProblem, match=re.escape("cannot load 'tests.nope:f'")):
        gen("custom", function="tests.nope:f")


def test_except_values_pass_through() -> None:
    g = gen("fake_name", **{"except": ["SYSTEM"]})
    assert g("SYSTEM") == "SYSTEM" and g("Orla Venn") != "Orla Venn"


def test_unknown_option_gets_did_you_mean() -> None:
    with pytest.raises(RuleProblem, match=r"keep_domian: unknown option \(did you mean "
                                          r"'keep_domain'\?\)"):
        gen("fake_email", keep_domian=True)


def test_wrong_parameter_type_is_reported() -> None:
    with pytest.raises(RuleProblem, match=re.escape("public.t.v: redact: width: Input should "
                                                    "be a valid integer")):
        gen("redact", width="wide")


@pytest.mark.parametrize(("cat", "type_sql", "good", "bad"), [
    (TypeCategory.INTEGER, "integer", 0, "abc"),
    (TypeCategory.DATE, "date", "2000-01-01", "01/02/2000"),
    (TypeCategory.UUID, "uuid", "00000000-0000-4000-8000-000000000000", "nope"),
    (TypeCategory.JSON, "jsonb", {"redacted": True}, "{oops"),
])
def test_constant_must_be_valid_for_its_column(cat, type_sql, good, bad) -> None:
    column = col(cat=cat, type_sql=type_sql)
    assert gen("constant", column, value=good).check() == []
    assert gen("constant", column, value=bad).check() == [
        f"public.t.v: constant value is not a valid {type_sql}"]
