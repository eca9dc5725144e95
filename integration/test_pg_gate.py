"""The privacy gate on the real PostgreSQL server: ``dbclone init`` on Pagila (which columns it
flags, precision and recall against a hand-made list), the init workspace validating and
cloning with zero leaks, and field cases 16 and 29 through the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from conftest import pg_connect, pg_dataset
from test_pg_cases import CASE16
from test_pg_support import databases, rows, url

from dbclone.cli import main
from dbclone.errors import SchemaDrift

# What dbclone init flags on Pagila, with the generator it suggests. Beyond the columns the
# issue names (customer names and e-mail; address, phone and postal code), it also flags the
# actors' names (people's names: Pagila's actors are fictional, but a name column is a name
# column), address2 (an address line: empty in Pagila, flagged by its name) and the staff's
# credentials and photo. Every one of them is personal data.
PAGILA_FLAGGED = {
    "public.actor.first_name": "fake_first_name",
    "public.actor.last_name": "fake_last_name",
    "public.address.address": "fake_address",
    "public.address.address2": "format_preserving",
    "public.address.postal_code": "fake_zip",
    "public.address.phone": "fake_phone",
    "public.customer.first_name": "fake_first_name",
    "public.customer.last_name": "fake_last_name",
    "public.customer.email": "fake_email",
    "public.staff.first_name": "fake_first_name",
    "public.staff.last_name": "fake_last_name",
    "public.staff.email": "fake_email",
    "public.staff.username": "fake_username",
    "public.staff.password": "hash",
    "public.staff.picture": "null",
}
# The hand-made list of Pagila columns that identify a person or hold their contact details,
# credentials or likeness (names, e-mails, phones, street address lines, postal codes,
# usernames, password hashes, photos).
PAGILA_SENSITIVE = {
    "public.actor.first_name", "public.actor.last_name",
    "public.customer.first_name", "public.customer.last_name", "public.customer.email",
    "public.address.address", "public.address.address2", "public.address.postal_code",
    "public.address.phone",
    "public.staff.first_name", "public.staff.last_name", "public.staff.email",
    "public.staff.username", "public.staff.password", "public.staff.picture",
}
# Quasi-identifiers, not counted as sensitive above: city.city and country.country are lookup
# tables of place names (no person in them; the address that references them is masked) and
# address.district is a state or province. Not flagged, on purpose.
PAGILA_QUASI = {"public.city.city", "public.country.country", "public.address.district"}
PAGILA_NOT_SENSITIVE = {
    "public.film.title", "public.film.description", "public.category.name",
    "public.payment.amount", "public.film.rental_rate", "public.film.replacement_cost",
    "public.language.name", "public.rental.rental_date", "public.customer.activebool",
    "public.customer.create_date", "public.film.release_year", "public.film.rating",
    "public.film.special_features", "public.film.fulltext",
}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture(scope="module")
def pagila(datasets_dir) -> Iterator[str]:
    with pg_dataset("pagila") as name:
        yield name


def flagging_scores(flagged: set[str], truth: set[str]) -> tuple[float, float]:
    hits = len(flagged & truth)
    return hits / len(flagged), hits / len(truth)


def test_init_on_pagila_flags_the_personal_columns_and_nothing_else(
        capsys, pagila, tmp_path) -> None:
    ws = tmp_path / "pagila.yaml"
    code, out, err = run(capsys, "init", "--source", url(pagila), "-o", str(ws), "--json")
    assert code == 0, err
    data = json.loads(out)
    flagged = {f["column"]: f["generator"] for f in data["flagged"]}
    assert flagged == PAGILA_FLAGGED
    # the columns the issue names, and none of the look-alikes
    assert {"public.customer.first_name", "public.customer.last_name", "public.customer.email",
            "public.address.address", "public.address.phone",
            "public.address.postal_code"} <= set(flagged)
    assert not (PAGILA_NOT_SENSITIVE | PAGILA_QUASI) & set(flagged)
    precision, recall = flagging_scores(set(flagged), PAGILA_SENSITIVE)
    assert (precision, recall) == (1.0, 1.0)
    assert (data["tables"], data["columns"]) == (15, 87)
    # every column is in the workspace; sampled values are not, and the lock sits beside it
    text = ws.read_text(encoding="utf-8")
    assert len(re.findall(r"^  public\.\w+\.\w+: ", text, re.M)) == 87
    assert "  public.film.title: keep" in text
    assert "  public.payment.amount: keep" in text
    lock = json.loads((tmp_path / "pagila.lock.json").read_text(encoding="utf-8"))
    assert lock["tables"]["public.customer"]["columns"]["email"]["kind"] == "email"
    for (email,) in rows(pagila, "SELECT email FROM customer ORDER BY customer_id LIMIT 50"):
        assert email not in text + out + err


def test_pagila_init_workspace_validates_and_clones_with_zero_leaks(
        capsys, pagila, tmp_path) -> None:
    ws = tmp_path / "pagila.yaml"
    dst = f"{pagila}_masked"
    assert run(capsys, "init", "--source", url(pagila), "-o", str(ws),
               "--destination", url(dst))[0] == 0
    code, out, err = run(capsys, "validate", str(ws))
    assert code == 0, err
    assert out.splitlines()[-1] == "ok: nothing blocks; nothing written"
    assert dst not in databases()

    code, out, err = run(capsys, "clone", str(ws), "--json")
    assert code == 0, err
    audit = json.loads(out)["audit"]
    assert audit["passed"] is True
    assert sorted(c["column"] for c in audit["columns"]) == sorted(
        c for c, g in PAGILA_FLAGGED.items())
    assert all(c["leaked_rows"] == 0 for c in audit["columns"])
    assert {c["column"]: c["sampled"] for c in audit["columns"]}["public.customer.email"] == 599
    before = dict(rows(pagila, "SELECT customer_id, email FROM customer"))
    after = dict(rows(dst, "SELECT customer_id, email FROM customer"))
    assert after.keys() == before.keys()
    assert not set(after.values()) & set(before.values())
    assert rows(dst, "SELECT film_id, title FROM film ORDER BY film_id") == \
        rows(pagila, "SELECT film_id, title FROM film ORDER BY film_id")


# -- dbclone init on Synthea ------------------------------------------------------------------
# The hand-made list, from the schema (../shared/datasets/synthea_csv/synthea_pg_generated.sql)
# and the CSVs: every column that holds a person's name, an SSN, a driver's licence, a
# passport, an address (street line, city, county, FIPS county code, postal code, coordinates,
# place of birth), a phone, an e-mail (Synthea has none) or a birth date; also the date of
# death and the health-plan member id (identifiers of a patient like the others). Addresses
# and phones count wherever they are, also an organization's or a payer's (the payers' are
# empty in this export; organizations' lat/lon locate the address as a patient's do).
SYNTHEA_SENSITIVE = {
    *(f"public.patients.{c}" for c in (
        "birthdate", "deathdate", "ssn", "drivers", "passport", "first", "middle", "last",
        "maiden", "birthplace", "address", "city", "county", "fips", "zip", "lat", "lon")),
    "public.payer_transitions.owner_name", "public.payer_transitions.memberid",
    *(f"public.providers.{c}" for c in ("name", "address", "city", "zip", "lat", "lon")),
    *(f"public.organizations.{c}" for c in ("address", "city", "zip", "lat", "lon", "phone")),
    *(f"public.payers.{c}" for c in ("address", "city", "zip", "phone")),
    # a generic value column: 84 of its 4,272 rows are the SDOH survey's "Address"
    # observation, each the patient's street address
    "public.observations.value",
}
# The ones that identify or locate a natural person (patients, providers, plan owners): the
# list above without the organizations' and payers' contact columns.
SYNTHEA_PERSONAL = {c for c in SYNTHEA_SENSITIVE
                    if not c.startswith(("public.organizations.", "public.payers."))}
# Quasi-identifiers and titles, not counted above and not flagged: state, sex, race,
# ethnicity, marital status, name prefix/suffix ("Mr.", "Jr."), income, a device's UDI.
SYNTHEA_QUASI = {
    "public.patients.state", "public.patients.gender", "public.patients.race",
    "public.patients.ethnicity", "public.patients.marital", "public.patients.prefix",
    "public.patients.suffix", "public.patients.income", "public.providers.gender",
    "public.providers.state", "public.organizations.state", "public.payers.state_headquartered",
    "public.devices.udi",
}
# Amounts, codes, descriptions and names of organizations: never flagged.
SYNTHEA_NOT_SENSITIVE = {
    *(f"public.claims_transactions.{c}" for c in (
        "amount", "payments", "adjustments", "outstanding", "unitamount", "procedurecode",
        "notes", "linenote", "type", "method")),
    *(f"public.encounters.{c}" for c in (
        "code", "description", "encounterclass", "base_encounter_cost", "total_claim_cost",
        "payer_coverage", "reasoncode", "reasondescription", "start", "stop")),
    *(f"public.{t}.{c}" for t in ("conditions", "medications", "procedures", "immunizations",
                                  "allergies", "careplans", "devices", "supplies")
      for c in ("code", "description")),
    "public.medications.base_cost", "public.medications.totalcost",
    "public.procedures.base_cost", "public.immunizations.base_cost",
    "public.observations.code", "public.observations.description",
    "public.observations.units", "public.observations.category", "public.observations.type",
    "public.allergies.severity1", "public.allergies.reaction1", "public.supplies.quantity",
    "public.imaging_studies.bodysite_description", "public.imaging_studies.modality_description",
    "public.imaging_studies.sop_description", "public.providers.speciality",
    "public.organizations.name", "public.organizations.revenue",
    "public.organizations.utilization", "public.payers.name", "public.payers.ownership",
    "public.payers.amount_covered", "public.payers.revenue", "public.patients.income",
    "public.patients.healthcare_expenses", "public.patients.healthcare_coverage",
    "public.payer_transitions.plan_ownership",
}


@pytest.fixture(scope="module")
def synthea(datasets_dir) -> Iterator[str]:
    with pg_dataset("synthea") as name:
        yield name


def test_init_on_synthea_flags_names_ids_addresses_phones_and_birth_dates(
        capsys, synthea, tmp_path) -> None:
    ws = tmp_path / "synthea.yaml"
    dst = f"{synthea}_masked"
    code, out, err = run(capsys, "init", "--source", url(synthea), "-o", str(ws),
                         "--destination", url(dst), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["tables"], data["columns"]) == (18, 256)
    flagged = {f["column"]: f for f in data["flagged"]}
    kinds = {c: f["kind"] for c, f in flagged.items()}
    gens = {c: f["generator"] for c, f in flagged.items()}
    # the columns the issue names
    assert {c: kinds[c] for c in (
        "public.patients.ssn", "public.patients.drivers", "public.patients.passport",
        "public.patients.first", "public.patients.last", "public.patients.birthdate",
        "public.patients.address", "public.organizations.phone")} == {
        "public.patients.ssn": "ssn", "public.patients.drivers": "drivers_licence",
        "public.patients.passport": "passport", "public.patients.first": "first_name",
        "public.patients.last": "last_name", "public.patients.birthdate": "birth_date",
        "public.patients.address": "street_address", "public.organizations.phone": "phone"}
    assert (gens["public.patients.ssn"], gens["public.patients.passport"],
            gens["public.patients.birthdate"], gens["public.providers.name"]) == (
        "fake_ssn", "fake_passport", "fake_date_of_birth", "fake_name")
    # and no amount, code, description, organization name or quasi-identifier
    assert not (SYNTHEA_NOT_SENSITIVE | SYNTHEA_QUASI) & set(flagged)
    assert set(flagged) == SYNTHEA_SENSITIVE - {"public.observations.value"}
    # Precision and recall against the hand-made list: every flagged column is on it; the
    # one it misses is observations.value, where 2% of the rows are addresses (the leak
    # audit catches it: below). Counting people's data only, the organizations' and payers'
    # address and phone columns are flagged beyond it.
    assert flagging_scores(set(flagged), SYNTHEA_SENSITIVE) == (1.0, 35 / 36)
    precision, recall = flagging_scores(set(flagged), SYNTHEA_PERSONAL)
    assert (round(precision, 3), recall) == (round(25 / 35, 3), 25 / 26)
    # sampled values are not written anywhere
    text = ws.read_text(encoding="utf-8") + (tmp_path / "synthea.lock.json").read_text(
        encoding="utf-8") + out + err
    for ssn, passport, first, address in rows(
            synthea, "SELECT ssn, passport, first, address FROM patients"):
        for v in (ssn, passport, first, address):
            assert v not in text

    # The init workspace clones, and the leak audit finds what init could not: the patients'
    # addresses inside observations.value; nothing else leaks, and the copy is not swapped in.
    code, out, err = run(capsys, "clone", str(ws), "--json")
    assert code == 8, err
    audit = json.loads(out)["audit"]
    leaks = {c["column"]: [(x["found_in"], x["rows"]) for x in c["leaks"]]
             for c in audit["columns"] if c["leaked_rows"]}
    assert leaks == {"public.patients.address": [("public.observations.value", 84)]}
    assert dst not in databases()


# -- case 29: a column added after the workspace was written ------------------------------

CASE29 = """
CREATE TABLE customer (id int PRIMARY KEY, email text, full_name text);
INSERT INTO customer VALUES (2, 'c2@example.test', 'Tobin Marsh'),
                            (3, 'c3@example.test', 'Mara Quill');
"""


def test_case29_on_postgresql_new_email_column_stops_then_is_masked(
        capsys, pg_db, tmp_path) -> None:
    src = pg_db(CASE29)
    dst = f"{src}_dst"
    ws = tmp_path / "ws.yaml"
    assert run(capsys, "init", "--source", url(src), "-o", str(ws),
               "--destination", url(dst))[0] == 0
    with pg_connect(src) as c:
        c.execute("ALTER TABLE customer ADD COLUMN backup_email text")
        c.execute("INSERT INTO customer VALUES (1, 'c1@example.test', 'Orla Venn', "
                  "'c1.alt@example.test')")

    code, out, err = run(capsys, "validate", str(ws))
    assert code == SchemaDrift.exit_code
    assert "blocks: unclassified column public.customer.backup_email (new column since the " \
           "schema lock" in out
    code, out, err = run(capsys, "clone", str(ws))
    assert code == SchemaDrift.exit_code
    assert "unclassified column public.customer.backup_email" in err
    assert "c1.alt@example.test" not in out + err
    assert not {d for d in databases() if d.startswith(dst)}  # nothing written

    text = ws.read_text(encoding="utf-8")
    ws.write_text(text.replace("\non_unconfigured: fail", "\non_unconfigured: mask"),
                  encoding="utf-8")
    code, out, err = run(capsys, "clone", str(ws))
    assert code == 0, err
    assert "on_unconfigured mask: masked with fake_email" in err
    assert re.search(r"^audit: 3 columns audited, \d+ values sampled, leaks 0 ", out, re.M)
    got = dict(rows(dst, "SELECT id, backup_email FROM customer"))
    assert got[1] is not None and "@" in got[1] and got[1] != "c1.alt@example.test"
    assert (got[2], got[3]) == (None, None)
    dumped = " ".join(str(r) for r in rows(dst, "SELECT * FROM customer"))
    for original in ("c1.alt@example.test", "c1@example.test", "Orla Venn", "Tobin Marsh"):
        assert original not in dumped


# -- case 16: tables outside public ----------------------------------------------------------



def test_case16_the_gate_covers_every_schema(capsys, pg_db, tmp_path) -> None:
    src = pg_db(CASE16)
    dst = f"{src}_dst"
    # a workspace written for public only: crm's personal columns are not silently skipped
    partial = tmp_path / "partial.yaml"
    partial.write_text(f"source: {{url: '{url(src)}'}}\ndestination: {{url: '{url(dst)}'}}\n"
                       "generators:\n  public.contact.full_name: fake_name\n",
                       encoding="utf-8")
    code, out, err = run(capsys, "validate", str(partial))
    assert code == SchemaDrift.exit_code
    blocked = re.findall(r"^blocks: unclassified column (\S+) \(looks sensitive", out, re.M)
    assert blocked == ["crm.contact.full_name", "crm.contact.phone"]
    assert run(capsys, "clone", str(partial))[0] == SchemaDrift.exit_code
    assert dst not in databases()

    # init covers both schemas; the copy masks crm.contact and the audit proves it
    ws = tmp_path / "ws.yaml"
    code, out, err = run(capsys, "init", "--source", url(src), "-o", str(ws),
                         "--destination", url(dst), "--json")
    assert code == 0, err
    assert {f["column"] for f in json.loads(out)["flagged"]} == {
        "crm.contact.full_name", "crm.contact.phone", "public.contact.full_name"}
    code, out, err = run(capsys, "clone", str(ws), "--json")
    assert code == 0, err
    audit = json.loads(out)["audit"]
    assert audit["passed"] is True
    assert {c["column"]: c["sampled"] for c in audit["columns"]} == {
        "crm.contact.full_name": 2, "crm.contact.phone": 2, "public.contact.full_name": 2}
    before = {r[0]: r[1:] for r in rows(src, "SELECT id, full_name, phone FROM crm.contact")}
    after = {r[0]: r[1:] for r in rows(dst, "SELECT id, full_name, phone FROM crm.contact")}
    assert sorted(after) == [1, 2]
    for key, (name, phone) in before.items():
        assert after[key][0] not in (None, name)
        assert after[key][1] not in (None, phone)
