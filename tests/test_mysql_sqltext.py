"""MySQL text helpers: quoting, DEFINER stripping, requalifying, literals. No server needed."""

from __future__ import annotations

import pymysql
import pytest

from dbclone.dialects.mysql.connect import q, scrub
from dbclone.dialects.mysql.ddl import (
    defer_keys,
    key_columns,
    key_name,
    requalify,
    strip_definer,
    views_in_dependency_order,
)
from dbclone.dialects.mysql.introspect import enum_members, view_dependencies
from dbclone.dialects.mysql.writer import _literal, temp_name
from dbclone.introspect.snapshot import TableRef, View


@pytest.mark.parametrize(("name", "quoted"), [
    ("order", "`order`"), ("batch (2)", "`batch (2)`"), ("we`ird", "`we``ird`"),
    ("`x`", "```x```"),
])
def test_identifiers_are_quoted_exactly_once(name, quoted):
    assert q(name) == quoted


@pytest.mark.parametrize(("sql", "expected"), [
    ("CREATE DEFINER=`root`@`localhost` TRIGGER t AFTER INSERT ON a FOR EACH ROW SET @x=1",
     "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW SET @x=1"),
    ("CREATE ALGORITHM=UNDEFINED DEFINER=`a``b`@`%` SQL SECURITY DEFINER VIEW `v` AS select 1",
     "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"),
    ("CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 'DEFINER=`x`@`y`'",
     "CREATE PROCEDURE p() SELECT 'DEFINER=`x`@`y`'"),
    ("CREATE DEFINER=`app_role` FUNCTION f() RETURNS int RETURN 1",
     "CREATE FUNCTION f() RETURNS int RETURN 1"),
    ("CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW SET @d = 'DEFINER=x'",
     "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW SET @d = 'DEFINER=x'"),
])
def test_definer_is_dropped_from_the_header_only(sql, expected):
    assert strip_definer(sql) == expected


def test_requalify_rewrites_only_the_source_database_qualifier():
    sql = ("select `shop`.`t`.`id` AS `id` from (`shop`.`t` join `shop2`.`u`) "
           "where `shop`.`t`.`x` = 'shop'")
    assert requalify(sql, "shop", "dev") == (
        "select `dev`.`t`.`id` AS `id` from (`dev`.`t` join `shop2`.`u`) "
        "where `dev`.`t`.`x` = 'shop'")
    assert requalify("from `a``b`.`t`", "a`b", "c") == "from `c`.`t`"


def test_enum_members_unescape_quotes_and_backslashes():
    assert enum_members("enum('a','it''s','b\\\\c','')") == ("a", "it's", "b\\c", "")
    assert enum_members("set('x,y','z')") == ("x,y", "z")


def test_view_dependencies_and_order():
    db = "shop"
    a = "select `shop`.`z`.`n` AS `n` from `shop`.`z`"
    z = "select `shop`.`t`.`n` AS `n` from (`shop`.`t` join `other`.`z`)"
    views = {
        TableRef(db, "a"): View(TableRef(db, "a"), definition=a,
                                depends_on=view_dependencies(a, db, {"z", "t"})),
        TableRef(db, "z"): View(TableRef(db, "z"), definition=z,
                                depends_on=view_dependencies(z, db, {"a", "t"})),
    }
    assert views[TableRef(db, "a")].depends_on == (TableRef(db, "z"),)
    assert views[TableRef(db, "z")].depends_on == (TableRef(db, "t"),)
    assert views_in_dependency_order(views) == [TableRef(db, "z"), TableRef(db, "a")]


def _err(code: int, msg: str) -> pymysql.MySQLError:
    return pymysql.err.IntegrityError(code, msg)


@pytest.mark.parametrize(("code", "msg", "names", "expected"), [
    (1062, "Duplicate entry 'ann@x.org' for key 'uq_email'", ["uq_email"],
     "[1062] Duplicate entry <value> for key 'uq_email'"),
    (1062, "Duplicate entry 'a' for key 'b' for key 'PRIMARY'", ["PRIMARY"],
     "[1062] Duplicate entry <value> for key 'PRIMARY'"),
    (1062, "Duplicate entry '7' for key 'person.PRIMARY'", ["PRIMARY"],
     "[1062] Duplicate entry <value> for key <value>"),
    (1366, "Incorrect integer value: 'abc' for column `d`.`t`.`n` at row 3", [],
     "[1366] Incorrect integer value: <value> for column `d`.`t`.`n` at row 3"),
    (1292, "Truncated incorrect DOUBLE value: 'secret stuff'", [],
     "[1292] Truncated incorrect DOUBLE value: <value>"),
    (1406, "Data too long for column 'email' at row 12", ["email"],
     "[1406] Data too long for column 'email' at row 12"),
    (1064, "You have an error in your SQL syntax; check the manual near "
           "''bob''s secret'),(2' at line 1", [],
     "[1064] You have an error in your SQL syntax; check the manual near <value>"),
])
def test_scrub_keeps_names_and_drops_values(code, msg, names, expected):
    assert scrub(_err(code, msg), names) == expected


def test_literals_are_exact():
    assert _literal(None) == "NULL"
    assert _literal(b"") == "X''"
    assert _literal(b"\x00\xff\\'") == "X'00ff5c27'"
    assert _literal("it's \\ \x00") == "'it\\'s \\\\ \\0'"
    assert _literal(165) == "165"


def test_temp_name_fits_64_characters_and_keeps_the_destination_prefix():
    assert temp_name("app_dev").startswith("app_dev__dbclone_tmp_")
    long = temp_name("d" * 64)
    assert len(long) == 64 and "__dbclone_tmp_" in long


def test_url_options_are_checked():
    from dbclone.dialects import parse_url
    from dbclone.dialects.mysql.connect import _options
    from dbclone.errors import ConfigError

    url = parse_url("mysql://u:pw@h/db?charset=utf8mb4&connect_timeout=5&ssl_ca=/ca.pem")
    assert _options(url, "source.url") == {"connect_timeout": 5, "ssl_ca": "/ca.pem"}
    with pytest.raises(ConfigError, match="unknown MySQL URL option 'unix_sock'") as info:
        _options(parse_url("mysql://u@h/db?unix_sock=/tmp/s"), "source.url")
    assert info.value.hint == "did you mean 'unix_socket'?"


@pytest.mark.parametrize(("definition", "columns"), [
    ("UNIQUE KEY `email` (`email`)", ("email",)),
    ("KEY `ab` (`a`,`b`(10))", ("a", "b")),
    ("UNIQUE KEY `w``x` (`we``ird`) USING BTREE", ("we`ird",)),
    ("PRIMARY KEY (`id`)", None),
    ("FULLTEXT KEY `f` (`t`)", None),
    ("KEY `fx` ((lower(`t`)))", None),  # a functional key part
    ("KEY `c` (`a`) COMMENT 'a(b)'", None),  # not read: left in CREATE TABLE
    ("CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `p` (`id`)", None),
])
def test_key_columns_of_show_create_table_lines(definition, columns):
    assert key_columns(definition) == columns


CREATE_PEOPLE = """CREATE TABLE `people` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `email` varchar(80) DEFAULT NULL,
  `org` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `email` (`email`),
  UNIQUE KEY `id_org` (`id`,`org`),
  KEY `org` (`org`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
 PARTITION BY HASH (`id`)"""


def test_defer_keys_takes_out_the_keys_asked_for_and_keeps_the_text_valid():
    ddl, keys = defer_keys(CREATE_PEOPLE, lambda cols: cols != ("org",))
    # the AUTO_INCREMENT column's key stays (the column needs one); so does the refused one,
    # now the last definition: no comma before the closing parenthesis
    assert keys == ["UNIQUE KEY `email` (`email`)"]
    assert ddl == CREATE_PEOPLE.replace("  UNIQUE KEY `email` (`email`),\n", "")
    assert key_name(keys[0]) == "email"
    assert defer_keys(CREATE_PEOPLE, lambda cols: False) == (CREATE_PEOPLE, [])
    last = defer_keys(CREATE_PEOPLE, lambda cols: cols == ("org",))[0]
    assert "  UNIQUE KEY `id_org` (`id`,`org`)\n) ENGINE" in last
