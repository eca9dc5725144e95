"""Field cases 19, 20, 21 and 28 on the real PostgreSQL and MariaDB, through the pipeline:
generators under constraints the database itself enforces (unique, lengths, NOT NULL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import MY_ADMIN, PG_ADMIN, my_connect, pg_connect, write_workspace

from dbclone import pipeline
from dbclone.config import load_workspace
from dbclone.errors import PlanError

KINDS = ["postgresql", "mysql"]


class Server:
    def __init__(self, kind: str, make_db) -> None:
        self.kind = kind
        self.make_db = make_db

    def url(self, db: str) -> str:
        return f"{PG_ADMIN if self.kind == 'postgresql' else MY_ADMIN}/{db}"

    def rows(self, db: str, sql: str) -> list[tuple]:
        if self.kind == "postgresql":
            with pg_connect(db) as c:
                return c.execute(sql).fetchall()
        with my_connect(db) as c, c.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    def clone(self, tmp_path: Path, src: str, rules: dict[str, Any]) -> str:
        dst = f"{src}_dst"
        doc = {"workspace": "cases", "source": {"url": self.url(src)},
               "destination": {"url": self.url(dst)}, "generators": rules}
        ws = write_workspace(tmp_path, yaml.safe_dump(doc, sort_keys=False))
        pipeline.run(load_workspace(ws))
        return dst


@pytest.fixture(params=KINDS)
def server(request, pg_db, my_db) -> Server:
    return Server(request.param, pg_db if request.param == "postgresql" else my_db)


SUBSCRIBERS = """
CREATE TABLE subscriber (id int PRIMARY KEY, email varchar(120) NOT NULL UNIQUE,
                         phone char(10) UNIQUE, city_prefix varchar(12) UNIQUE);
"""


def fill_subscribers(server: Server, db: str, n: int, prefixes: int) -> None:
    values = ",".join(
        f"({i}, 'user{i}@corp.example', '{5550000000 + i}', "
        + (f"'Prefix{i}'" if i < prefixes else "NULL") + ")" for i in range(n))
    if server.kind == "postgresql":
        with pg_connect(db) as c:
            c.execute(f"INSERT INTO subscriber VALUES {values}")
            c.execute("ANALYZE subscriber")
    else:
        with my_connect(db) as c, c.cursor() as cur:
            cur.execute(f"INSERT INTO subscriber VALUES {values}")
            cur.execute("ANALYZE TABLE subscriber")


def test_case19_unique_columns_load_first_time(server: Server, tmp_path: Path) -> None:
    src = server.make_db(SUBSCRIBERS)
    fill_subscribers(server, src, 10_000, 40)
    dst = server.clone(tmp_path, src, {"subscriber.email": "fake_email",
                                       "subscriber.phone": "fake_phone",
                                       "subscriber.city_prefix": "fake_city"})
    got = server.rows(dst, "SELECT count(*), count(DISTINCT email), count(DISTINCT phone), "
                           "count(city_prefix), count(DISTINCT city_prefix) FROM subscriber")
    assert got == [(10_000, 10_000, 10_000, 40, 40)]
    before = dict((r[0], r[1:]) for r in server.rows(src, "SELECT id, email, phone "
                                                          "FROM subscriber"))
    for i, email, phone in server.rows(dst, "SELECT id, email, phone FROM subscriber"):
        assert email != before[i][0] and phone != before[i][1]


def test_case19_small_domain_fails_before_any_row(server: Server, tmp_path: Path) -> None:
    src = server.make_db(SUBSCRIBERS)
    fill_subscribers(server, src, 3000, 3000)
    with pytest.raises(PlanError) as info:
        server.clone(tmp_path, src, {"subscriber.city_prefix": "fake_city"})
    (problem,) = info.value.problems
    assert "subscriber.city_prefix: fake_city has ≈634 values, column needs 3,000" in problem


SUPPLIER = {
    "postgresql": """
        CREATE TABLE supplier (id int PRIMARY KEY, contact_name varchar(12), phone varchar(10),
                               street varchar(20), city varchar(8));
        INSERT INTO supplier VALUES (1, 'Bartholomew', '5035550142', '4821 Larkspur Lane',
                                     'Brookvle'), (2, 'Ilse Brack', '(503)5551', '17 Quarry Row',
                                     'Eastmoor');""",
    "mysql": """
        CREATE TABLE supplier (id int PRIMARY KEY, contact_name varchar(12), phone varchar(10),
                               street varchar(20), city varchar(8)) DEFAULT CHARSET utf8mb4;
        INSERT INTO supplier VALUES (1, 'Bartholomew', '5035550142', '4821 Larkspur Lane',
                                     'Brookvle'), (2, 'Ilse Brack', '(503)5551', '17 Quarry Row',
                                     'Eastmoor');""",
}


@pytest.mark.parametrize("locale", ["en_US", "ja_JP", "de_DE"])
def test_case20_values_fit_in_characters(server: Server, tmp_path: Path, locale: str) -> None:
    src = server.make_db(SUPPLIER[server.kind])
    rules = {"supplier.contact_name": {"type": "fake_name", "locale": locale},
             "supplier.phone": "fake_phone",
             "supplier.street": {"type": "fake_address", "locale": locale},
             "supplier.city": {"type": "fake_city", "locale": locale}}
    try:
        dst = server.clone(tmp_path, src, rules)
    except PlanError as exc:  # a locale whose cities are all longer than 8 characters
        assert all("cannot fit" in p for p in exc.problems), exc.problems
        return
    length = "char_length" if server.kind == "postgresql" else "CHAR_LENGTH"
    got = server.rows(dst, f"SELECT max({length}(contact_name)), max({length}(phone)), "
                           f"max({length}(street)), max({length}(city)) FROM supplier")[0]
    assert got[0] <= 12 and got[1] <= 10 and got[2] <= 20 and got[3] <= 8
    assert all("x" not in p.lower() for (p,) in server.rows(dst, "SELECT phone FROM supplier"))


def test_case21_null_semantics_both_ways(server: Server, tmp_path: Path) -> None:
    src = server.make_db("""
        CREATE TABLE profile (id int PRIMARY KEY, full_name text NOT NULL, nickname text NULL,
                              middle_name text NULL);
        INSERT INTO profile VALUES (1,'Orla Venn',NULL,NULL),(2,'Tobin Marsh','Tob',''),
                                   (3,'',NULL,'K');""")
    dst = server.clone(tmp_path, src, {"profile.full_name": "fake_name",
                                       "profile.nickname": "fake_first_name",
                                       "profile.middle_name": "fake_first_name"})
    assert server.rows(dst, "SELECT count(*) - count(nickname), count(*) - count(middle_name)"
                            " FROM profile") == [(2, 1)]
    got = {r[0]: r[1:] for r in server.rows(dst, "SELECT id, full_name, middle_name "
                                                 "FROM profile")}
    assert got[2][1] == "" and got[3][0] == "" and got[1][0] not in (None, "Orla Venn")


def test_case28_json_arrays_and_malformed_json(server: Server, tmp_path: Path) -> None:
    doc = {"contacts": [{"email": "a1@example.test", "label": "home"},
                        {"email": "a2@example.test", "label": "work"}], "note": "hi"}
    json_type = "jsonb" if server.kind == "postgresql" else "json"
    src = server.make_db(f"""
        CREATE TABLE member_pref (id int PRIMARY KEY, prefs {json_type}, raw_prefs text);
        INSERT INTO member_pref VALUES (1, '{json.dumps(doc)}', '{{"email": "a3@example.test"');
    """)
    dst = server.clone(tmp_path, src, {
        "member_pref.prefs": {"type": "json", "paths": {"contacts[*].email": "fake_email"}},
        "member_pref.raw_prefs": {"type": "json", "paths": {"email": "fake_email"}}})
    prefs, raw = server.rows(dst, "SELECT prefs, raw_prefs FROM member_pref")[0]
    out = prefs if isinstance(prefs, dict) else json.loads(prefs)
    emails = [c["email"] for c in out["contacts"]]
    assert len(emails) == 2 and len(set(emails)) == 2
    assert [c["label"] for c in out["contacts"]] == ["home", "work"] and out["note"] == "hi"
    assert raw == "{}"
    text = json.dumps(server.rows(dst, "SELECT * FROM member_pref"), default=str)
    assert not any(e in text for e in ("a1@example.test", "a2@example.test", "a3@example.test"))
