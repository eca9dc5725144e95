"""Field cases 30, 31 and 32 (../shared/cases): free-text NER faults of other tools, each
with its right value, through the text redactor and through a real SQLite clone."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from dbclone.config import parse_workspace
from dbclone.errors import PlanError
from dbclone.pipeline import run
from dbclone.transform.keyed import Keyer
from dbclone.transform.text import EngineConfig, KnownEntity, TextRedactor


@pytest.fixture(scope="module")
def engine() -> TextRedactor:
    return TextRedactor(EngineConfig(), Keyer("cases-secret"))


def clone_notes(tmp_path: Path, rows: list[tuple], rule: object,
                customers: list[tuple] | None = None) -> list[str]:
    """support_note (and customer) in a SQLite file, cloned with ``rule`` on the body."""
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    conn = sqlite3.connect(src)
    if customers:
        conn.executescript(
            "CREATE TABLE customer (id int PRIMARY KEY, first_name text, last_name text);"
            "CREATE TABLE support_note (id int PRIMARY KEY, "
            "customer_id int REFERENCES customer(id), body text);")
        conn.executemany("INSERT INTO customer VALUES (?, ?, ?)", customers)
    else:
        conn.execute("CREATE TABLE support_note (id int PRIMARY KEY, customer_id int, "
                     "body text)")
    conn.executemany("INSERT INTO support_note VALUES (?, ?, ?)", rows)
    conn.commit()
    conn.close()
    generators: dict[str, object] = {"support_note.body": rule}
    if customers:
        generators["customer.first_name"] = "fake_first_name"
        generators["customer.last_name"] = "fake_last_name"
    text = yaml.safe_dump({"workspace": "cases", "source": {"url": f"sqlite:///{src}"},
                           "destination": {"url": f"sqlite:///{dst}"},
                           "secret": "${SECRET}", "generators": generators})
    run(parse_workspace(text, source="cases.yaml", env={"SECRET": "cases-secret"}))
    out = sqlite3.connect(dst)
    try:
        return [r[0] for r in out.execute("SELECT body FROM support_note ORDER BY id")]
    finally:
        out.close()


# -- case 30: names in ALL CAPS or lowercase --------------------------------------------------

CASE_30 = [(1, 7, "Spoke with ORLA VENN about the refund"),
           (2, 7, "spoke with orla venn about the refund"),
           (3, 7, "Spoke with Orla Venn about the refund")]


def test_case_30_no_row_contains_orla_or_venn_in_any_case(tmp_path: Path) -> None:
    bodies = clone_notes(tmp_path, CASE_30, "text_redact")
    for body in bodies:
        assert not re.search(r"(?i)orla|venn", body), body
        assert body.lower().endswith("about the refund")
    # one consistent fake, written in each row's case
    fakes = [b[len("spoke with "):-len(" about the refund")] for b in bodies]
    assert fakes[0] == fakes[2].upper() and fakes[1] == fakes[2].lower()


def test_case_30_linked_customer_name_is_swept_and_gets_the_customers_fake(
        tmp_path: Path) -> None:
    rule = {"type": "text_redact",
            "linked": {"customer_id": {"table": "customer",
                                       "columns": ["first_name", "last_name"]}}}
    bodies = clone_notes(tmp_path, CASE_30, rule, customers=[(7, "Orla", "Venn")])
    conn = sqlite3.connect(tmp_path / "dst.db")
    first, last = conn.execute("SELECT first_name, last_name FROM customer").fetchone()
    conn.close()
    assert (first, last) != ("Orla", "Venn")
    assert bodies == [f"Spoke with {first.upper()} {last.upper()} about the refund",
                      f"spoke with {first.lower()} {last.lower()} about the refund",
                      f"Spoke with {first} {last} about the refund"]


def test_case_30_engine_sweeps_known_values_even_where_detection_misses(
        engine: TextRedactor) -> None:
    # "venn" alone, lower case, is in no name list and no NER span: the sweep finds it
    known = [KnownEntity("Orla", "Brenna", "first_name"), KnownEntity("Venn", "Kade",
                                                                      "last_name")]
    out = engine.redact("note: venn called; VENN again; orla too", known, 10)
    assert out == "note: kade called; KADE again; brenna too"


# -- case 31: street addresses ----------------------------------------------------------------

def test_case_31_a_us_address_is_one_address_span_and_the_rest_is_kept(
        engine: TextRedactor) -> None:
    text = "Deliver to 4821 Larkspur Lane, Brookvale, OR 97000 before noon"
    result = engine.explain(text)
    assert [(f.label, f.original) for f in result.spans] == [
        ("ADDRESS", "4821 Larkspur Lane, Brookvale, OR 97000")]
    for piece in ("4821", "Larkspur", "Brookvale", "97000"):
        assert piece not in result.text
    assert result.text.startswith("Deliver to ") and result.text.endswith(" before noon")


def test_case_31_a_lowercase_uk_address_is_redacted(engine: TextRedactor) -> None:
    result = engine.explain("moved to flat 3b, 17 quarry row, eastmoor")
    assert [(f.label, f.original) for f in result.spans] == [
        ("ADDRESS", "flat 3b, 17 quarry row, eastmoor")]
    assert result.text.startswith("moved to ")
    for piece in ("3b", "17", "quarry", "eastmoor"):
        assert piece not in result.text


def test_case_31_in_a_clone_with_redact_mode(tmp_path: Path) -> None:
    bodies = clone_notes(tmp_path, [
        (4, 8, "Deliver to 4821 Larkspur Lane, Brookvale, OR 97000 before noon"),
        (5, 8, "moved to flat 3b, 17 quarry row, eastmoor")],
        {"type": "text_redact", "mode": "redact"})
    assert bodies == ["Deliver to [ADDRESS] before noon", "moved to [ADDRESS]"]


# -- case 32: phone numbers and IDs outside the defaults ---------------------------------------

CASE_32 = [(6, 9, "landline 020 7946 0018, mobile 07700 900123"),
           (7, 9, "new number +351 912 345 678"),
           (8, 9, "ssn on file 987-65-4323")]


def test_case_32_all_four_identifiers_are_redacted(tmp_path: Path) -> None:
    bodies = clone_notes(tmp_path, CASE_32, {"type": "text_redact", "mode": "redact"})
    assert bodies == ["landline [PHONE], mobile [PHONE]", "new number [PHONE]",
                      "ssn on file [SSN]"]


def test_case_32_identifiers_are_redacted_whatever_type_was_asked_for(
        engine: TextRedactor) -> None:
    # asking for SSN only still redacts the phones: any identifier-like type is redacted
    only_ssn = TextRedactor(EngineConfig.build(mode="redact", entities=["US_SSN"]),
                            Keyer("k"))
    assert only_ssn.redact("new number +351 912 345 678") == "new number [PHONE]"
    assert only_ssn.redact("ssn on file 987-65-4323") == "ssn on file [SSN]"


def test_case_32_a_region_libphonenumber_does_not_know_fails_at_plan_time(
        tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        clone_notes(tmp_path, CASE_32, {"type": "text_redact", "regions": ["US", "UK"]})
    assert "support_note.body" in str(info.value)
    assert "'UK' is not a phone region libphonenumber knows (did you mean 'GB'?)" in str(
        info.value)


def test_case_32_no_blocklist_hides_ssn_shaped_values(engine: TextRedactor) -> None:
    # a whole block of numbers near a "sample" number stays detected
    for ssn in ("987-65-4320", "987-65-4323", "987-65-4329", "078-05-1120"):
        result = engine.explain(f"ssn on file {ssn}")
        assert [f.label for f in result.spans] == ["SSN"], ssn
