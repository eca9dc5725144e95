"""Field cases 19, 20, 21 and 28 end to end on SQLite (no server); the PostgreSQL and
MariaDB versions live in integration/."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from dbclone.errors import PlanError
from tests.test_sqlite_clone import clone, make_db, rows


def subscribers(path: Path, n: int = 10_000, prefixes: int = 40) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE subscriber (id int PRIMARY KEY, email varchar(120) NOT NULL "
                 "UNIQUE, phone char(10) UNIQUE, city_prefix varchar(12) UNIQUE)")
    conn.executemany("INSERT INTO subscriber VALUES (?,?,?,?)", [
        (i, f"user{i}@corp.example", f"{5550000000 + i}",
         f"Prefix{i}" if i < prefixes else None) for i in range(n)])
    conn.commit()
    conn.close()
    return path


def test_case19_unique_columns_get_no_collisions_first_time(tmp_path: Path) -> None:
    src = subscribers(tmp_path / "src.db")
    dst = tmp_path / "dst.db"
    clone(src, dst, {"subscriber.email": "fake_email", "subscriber.phone": "fake_phone",
                     "subscriber.city_prefix": "fake_city"})
    for col in ("email", "phone", "city_prefix"):
        total, distinct = rows(dst, f"SELECT count({col}), count(DISTINCT {col}) "
                                    "FROM subscriber")[0]
        assert total == distinct, col
    assert rows(dst, "SELECT count(city_prefix) FROM subscriber") == [(40,)]
    before = dict((r[0], r[1:]) for r in rows(src, "SELECT id, email, phone FROM subscriber"))
    for i, email, phone in rows(dst, "SELECT id, email, phone FROM subscriber"):
        assert email != before[i][0] and phone != before[i][1]


def test_case19_too_small_a_domain_fails_at_plan_time(tmp_path: Path) -> None:
    src = subscribers(tmp_path / "src.db", n=3000, prefixes=3000)
    dst = tmp_path / "dst.db"
    with pytest.raises(PlanError) as info:
        clone(src, dst, {"subscriber.city_prefix": "fake_city"})
    assert info.value.problems == [
        "test.yaml:4: main.subscriber.city_prefix: fake_city has ≈634 values, column needs "
        "3,000 distinct (it is unique)"]
    assert not dst.exists()


def test_case20_values_fit_their_columns(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE supplier (id int PRIMARY KEY, contact_name varchar(12), phone varchar(10),
                               street varchar(20), city varchar(8));
        INSERT INTO supplier VALUES (1, 'Bartholomew K', '5035550142', '4821 Larkspur Lane',
                                     'Brookvale'),
                                    (2, 'Ilse Brack', '(503)5551', '17 Quarry Row', 'Eastmoor');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"supplier.contact_name": "fake_name", "supplier.phone": "fake_phone",
                     "supplier.street": "fake_address", "supplier.city": "fake_city"})
    for name, phone, street, city in rows(dst, "SELECT contact_name, phone, street, city "
                                               "FROM supplier"):
        assert len(name) <= 12 and len(phone) <= 10 and len(street) <= 20 and len(city) <= 8
        assert "x" not in phone.lower()


def test_case20_a_value_that_cannot_fit_stops_before_any_row(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE s (id int PRIMARY KEY, ssn varchar(4));")
    with pytest.raises(PlanError) as info:
        clone(src, tmp_path / "dst.db", {"s.ssn": "fake_ssn"})
    assert info.value.problems == ["test.yaml:4: main.s.ssn: fake_ssn cannot fit varchar(4): "
                                   "its shortest value has 9 characters"]


def test_case21_null_and_empty_semantics_both_ways(tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", """
        CREATE TABLE profile (id int PRIMARY KEY, full_name text NOT NULL, nickname text NULL,
                              middle_name text NULL);
        INSERT INTO profile VALUES (1,'Orla Venn',NULL,NULL),(2,'Tobin Marsh','Tob',''),
                                   (3,'',NULL,'K');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst, {"profile.full_name": "fake_name", "profile.nickname": "fake_first_name",
                     "profile.middle_name": "fake_first_name"})
    assert rows(dst, "SELECT count(*) - count(nickname), count(*) - count(middle_name) "
                     "FROM profile") == [(2, 1)]
    got = dict(rows(dst, "SELECT id, middle_name FROM profile"))
    assert got[2] == ""  # '' never turns into NULL
    full = dict(rows(dst, "SELECT id, full_name FROM profile"))
    assert full[3] == "" and full[1] not in (None, "Orla Venn")
    # and the other way: fill NULLs when asked, so "never gave a nickname" is not revealed
    dst2 = tmp_path / "dst2.db"
    clone(src, dst2, {"profile.nickname": {"type": "fake_first_name", "keep_null": False}})
    assert rows(dst2, "SELECT count(*) FROM profile WHERE nickname IS NULL") == [(0,)]


def test_case28_json_paths_and_malformed_json(tmp_path: Path) -> None:
    doc = {"contacts": [{"email": "a1@example.test", "label": "home"},
                        {"email": "a2@example.test", "label": "work"}], "note": "hi"}
    src = make_db(tmp_path / "src.db", f"""
        CREATE TABLE member_pref (id int PRIMARY KEY, prefs json, raw_prefs text);
        INSERT INTO member_pref VALUES (1, '{json.dumps(doc)}', '{{"email": "a3@example.test"');
    """)
    dst = tmp_path / "dst.db"
    clone(src, dst, {
        "member_pref.prefs": {"type": "json", "paths": {"contacts[*].email": "fake_email"}},
        "member_pref.raw_prefs": {"type": "json", "paths": {"email": "fake_email"}}})
    prefs, raw = rows(dst, "SELECT prefs, raw_prefs FROM member_pref")[0]
    out = json.loads(prefs)
    emails = [c["email"] for c in out["contacts"]]
    assert len(set(emails)) == 2 and [c["label"] for c in out["contacts"]] == ["home", "work"]
    assert out["note"] == "hi" and raw == "{}"
    everything = " ".join(str(v) for r in rows(dst, "SELECT * FROM member_pref") for v in r)
    assert not any(e in everything for e in ("a1@example.test", "a2@example.test",
                                             "a3@example.test"))
