"""The text redactor on its own: every entity type found and replaced, the three modes,
consistent surrogates (within a document, across a column, with the structured generators),
dates moved by the entity's date_shift offset, phones in their own format, case variants."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dbclone.introspect.snapshot import Column, ColumnRef, Table, TableRef, TypeCategory
from dbclone.transform.base import GeneratorContext
from dbclone.transform.factory import make_generator
from dbclone.transform.generators.structure import entity_offset
from dbclone.transform.keyed import Keyer
from dbclone.transform.masker import ColumnMasker
from dbclone.transform.text import EngineConfig, KnownEntity, TextRedactor

SECRET = "engine-secret"


@pytest.fixture(scope="module")
def redactor() -> TextRedactor:
    return TextRedactor(EngineConfig.build(mode="redact"), Keyer(SECRET))


@pytest.fixture(scope="module")
def synth() -> TextRedactor:
    return TextRedactor(EngineConfig.build(mode="synthesize"), Keyer(SECRET))


# One sentence per entity type, with what redact mode writes.
EACH_TYPE = [
    ("PERSON", "Seen by Dr. Helena Marsh today.", "Seen by Dr. [NAME] today."),
    ("ADDRESS", "Lives at 12 Baker Street, London.", "Lives at [ADDRESS]"),
    ("LOCATION", "Moved to Chicago last year.", "Moved to [LOCATION] last year."),
    ("ZIP", "ZIP code 02139 on file.", "ZIP code [ZIP] on file."),
    ("DATE", "Admitted on March 4, 2021 and discharged 2021-03-09.",
     "Admitted on [DATE] and discharged [DATE]."),
    ("AGE", "A 67 year old male.", "A [AGE] year old male."),
    ("PHONE", "Call 415-555-0199 tomorrow.", "Call [PHONE] tomorrow."),
    ("EMAIL", "Mail j.doe@example.com please.", "Mail [EMAIL] please."),
    ("URL", "See https://portal.example.org/p/123 for results.", "See [URL] for results."),
    ("IP_ADDRESS", "Login from 10.12.0.7 flagged.", "Login from [IP] flagged."),
    ("SSN", "SSN 123-45-6789 verified.", "SSN [SSN] verified."),
    ("CREDIT_CARD", "Paid with card 4111-1111-1111-1111.", "Paid with card [CREDIT_CARD]."),
    ("IBAN", "Refund to IBAN DE89 3704 0044 0532 0130 00 today.", "Refund to IBAN [IBAN] today."),
    ("MRN", "MRN: 00482913 attached.", "MRN: [MRN] attached."),
    ("ID", "Driver's license D1234567 scanned.", "Driver's license [ID] scanned."),
]


@pytest.mark.parametrize(("label", "text", "expected"), EACH_TYPE,
                         ids=[t[0] for t in EACH_TYPE])
def test_each_entity_type_is_found_and_replaced(redactor: TextRedactor, synth: TextRedactor,
                                                label: str, text: str, expected: str) -> None:
    result = redactor.explain(text)
    assert result.text == expected
    assert label in {f.label for f in result.spans}
    # synthesize replaces the same spans with something else of the same kind
    out = synth.explain(text)
    assert [(f.start, f.end) for f in out.spans] == [(f.start, f.end) for f in result.spans]
    assert all(f.replacement != f.original for f in out.spans if f.label != "DATE")
    assert "[" not in out.text


def test_text_without_personal_data_is_returned_unchanged(synth: TextRedactor) -> None:
    text = "Wound healing well. Continue dressing changes twice daily for two weeks."
    assert synth.redact(text) == text


def test_hash_mode_gives_typed_tags_with_a_keyed_digest(redactor: TextRedactor) -> None:
    hasher = TextRedactor(EngineConfig.build(mode="hash"), Keyer(SECRET))
    out = hasher.redact("Call 415-555-0199, then call 415-555-0199 again; 212-555-0173.")
    tags = re.findall(r"\[PHONE-([0-9a-f]{8})\]", out or "")
    assert len(tags) == 3 and tags[0] == tags[1] != tags[2]
    other = TextRedactor(EngineConfig.build(mode="hash"), Keyer("another-secret"))
    assert other.redact("Call 415-555-0199") != hasher.redact("Call 415-555-0199")


def test_entity_selection_leaves_unselected_types(redactor: TextRedactor) -> None:
    only_email = TextRedactor(EngineConfig.build(mode="redact", entities=["EMAIL_ADDRESS"]),
                              Keyer(SECRET))
    assert only_email.redact("Helena Marsh <h.marsh@example.com> on 2021-03-04") == (
        "Helena Marsh <[EMAIL]> on 2021-03-04")


# -- consistency -------------------------------------------------------------------------------

def test_same_name_same_surrogate_within_a_document(synth: TextRedactor) -> None:
    result = synth.explain("Helena Marsh was seen. Ms. Marsh said Helena sleeps badly. "
                           "HELENA MARSH signed.")
    reps = {f.original: f.replacement for f in result.spans if f.label == "PERSON"}
    full = reps["Helena Marsh"]
    first, last = full.split()
    assert reps["Marsh"] == last and reps["Helena"] == first
    assert reps["HELENA MARSH"] == full.upper()


def test_same_name_same_surrogate_across_documents_of_a_column(synth: TextRedactor) -> None:
    a = synth.redact("Spoke with Helena Marsh about the refund.")
    b = synth.redact("Helena Marsh called again on Friday.")
    sur_a = (a or "")[len("Spoke with "):-len(" about the refund.")]
    assert (b or "").startswith(sur_a + " called again on ")
    again = TextRedactor(EngineConfig.build(mode="synthesize"), Keyer(SECRET))
    assert again.redact("Spoke with Helena Marsh about the refund.") == a


def _column_generator(name: str, keyer: Keyer, column: str = "full_name",
                      table: Table | None = None, **options: object):
    table = table or Table(TableRef("public", "people"),
                           (Column(column, "text", TypeCategory.TEXT),))
    col = table.column(column)
    assert col is not None
    ctx = GeneratorContext(table, col, ColumnRef(table.ref, column), "en_US", keyer, "t:1")
    return make_generator(name, dict(options), ctx)


def test_an_unlinked_name_gets_fake_names_value_under_the_same_secret(
        synth: TextRedactor) -> None:
    fake_name = _column_generator("fake_name", Keyer(SECRET))
    expected = fake_name("Helena Marsh")
    assert synth.redact("Spoke with Helena Marsh about the refund.") == (
        f"Spoke with {expected} about the refund.")


def test_a_linked_name_takes_the_masked_columns_values(synth: TextRedactor) -> None:
    first = _column_generator("fake_first_name", Keyer(SECRET), "first_name")("Helena")
    last = _column_generator("fake_last_name", Keyer(SECRET), "last_name")("Marsh")
    known = [KnownEntity("Helena", first, "first_name"), KnownEntity("Marsh", last,
                                                                     "last_name")]
    out = synth.redact("helena marsh called; HELENA confirmed. Dr Marsh's note.", known, 5)
    assert out == (f"{first.lower()} {last.lower()} called; {first.upper()} confirmed. "
                   f"Dr {last}'s note.")


# -- dates, phones, case ---------------------------------------------------------------------

def test_dates_move_by_the_entitys_date_shift_offset_in_their_written_form() -> None:
    keyer = Keyer(SECRET)
    table = Table(TableRef("public", "notes"),
                  (Column("id", "int", TypeCategory.INTEGER),
                   Column("patient_id", "int", TypeCategory.INTEGER),
                   Column("seen", "date", TypeCategory.DATE),
                   Column("body", "text", TypeCategory.TEXT)), primary_key=("id",))
    shift = _column_generator("date_shift", keyer, "seen", table, key="patient_id")
    note = _column_generator("text_redact", keyer, "body", table, date_key="patient_id")
    masker = ColumnMasker(table, {"seen": shift, "body": note})
    out = masker.mask_row(["1", "42", "2021-03-04",
                           "Seen 2021-03-04, again on 03/05/2021 and March 6, 2021."])
    offset = entity_offset(keyer, "shift:days:-365:365", "42", -365, 365)
    day = dt.date(2021, 3, 4) + dt.timedelta(days=offset)
    assert out[2] == day.isoformat()
    d2, d3 = day + dt.timedelta(days=1), day + dt.timedelta(days=2)
    assert out[3] == (f"Seen {day.isoformat()}, again on {d2.month:02d}/{d2.day:02d}/"
                      f"{d2.year} and {d3.strftime('%B')} {d3.day}, {d3.year}.")


@pytest.mark.parametrize("phone", ["(415) 555-0199", "415.555.0199", "+44 20 7946 0018",
                                   "020 7946 0018", "+351 912 345 678", "0049 30 1234567"])
def test_phones_keep_their_format(synth: TextRedactor, phone: str) -> None:
    result = synth.explain(f"Call me on {phone} after six.")
    [found] = result.spans
    assert found.label == "PHONE" and found.original == phone
    rep = found.replacement
    assert rep != phone and re.sub(r"\d", "0", rep) == re.sub(r"\d", "0", phone)
    if phone.startswith(("+", "00")):  # the country code stays
        assert rep.split(" ")[0] == phone.split(" ")[0]


@pytest.mark.parametrize("text", ["Spoke with ORLA VENN about the refund",
                                  "spoke with orla venn about the refund",
                                  "SPOKE WITH ORLA VENN ABOUT THE REFUND",
                                  "Spoke with Orla Venn about the refund"])
def test_case_variants_of_names_are_found(synth: TextRedactor, text: str) -> None:
    out = synth.redact(text) or ""
    assert not re.search(r"(?i)orla|venn", out)
    assert out.lower().startswith("spoke with ") and out.lower().endswith("about the refund")


def test_a_name_found_once_is_swept_in_every_case_in_the_document(
        synth: TextRedactor) -> None:
    out = synth.redact("Mrs. Alvarez arrived. alvarez was anxious; ALVAREZ later calmer.")
    assert "alvarez" not in (out or "").lower()
    sur = (out or "").split()[1]
    assert out == f"Mrs. {sur} arrived. {sur.lower()} was anxious; {sur.upper()} later calmer."
