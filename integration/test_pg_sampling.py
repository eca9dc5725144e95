"""Samples for the privacy gate and the leak audit on a big PostgreSQL table come from a few
random pages (TABLESAMPLE), not from sorting the whole table, and are the same in every run."""

from __future__ import annotations

import pytest
from conftest import pg_connect, write_workspace
from psycopg import sql
from test_pg_support import url

from dbclone.config import load_workspace
from dbclone.dialects import get_dialect, parse_url
from dbclone.introspect.snapshot import TableRef
from dbclone.pipeline import run


def emails_copied_into_notes(rows: int) -> str:
    """A table whose notes hold the row's e-mail: the leak a `keep` on the note lets through."""
    return ("CREATE TABLE big (id int PRIMARY KEY, email text, note text); "
            "INSERT INTO big SELECT g, 'u' || g || '@corp.example', "
            f"'copied u' || g || '@corp.example here' FROM generate_series(1, {rows}) g; "
            "ANALYZE big;")


def note_rule_workspace(tmp_path, src: str, dst: str, note_rule: str, extra: str = ""):
    """E-mails masked, the note by ``note_rule``; every other column must be configured."""
    return write_workspace(tmp_path, f"""
workspace: big
source: {{url: "{url(src)}"}}
destination: {{url: "{url(dst)}"}}
generators:
  public.big.email: fake_email
  public.big.note: {note_rule}
on_unconfigured: fail
{extra}""")


def _sample(db: str, limit: int) -> list[tuple]:
    with get_dialect("postgresql").open_source(parse_url(url(db))) as reader:
        snap = reader.introspect(None)
        table = snap.tables[TableRef("public", "big")]
        assert table.row_estimate is not None and table.row_estimate > 100_000
        return list(reader.scan_rows(table, ["id", "email"], limit=limit, sample=True))


def test_a_big_table_is_sampled_from_random_pages_the_same_way_every_run(pg_db) -> None:
    db = pg_db("CREATE TABLE big (id int PRIMARY KEY, email text); "
               "INSERT INTO big SELECT g, 'u' || g || '@corp.example' "
               "FROM generate_series(1, 200000) g; ANALYZE big;")
    first = _sample(db, 1000)
    assert len(first) == 1000 and len(set(first)) == 1000
    assert _sample(db, 1000) == first  # REPEATABLE: the gate's verdict cannot flip
    ids = sorted(int(r[0]) for r in first)
    # from pages spread over the table, not its first 1,000 rows
    assert ids[-1] - ids[0] > 50_000
    with pg_connect(db) as c:
        plan = c.execute("EXPLAIN SELECT id FROM big TABLESAMPLE SYSTEM (5) "
                         "REPEATABLE (7) LIMIT 10").fetchall()
    assert any("Sample Scan" in r[0] for r in plan)


def test_a_small_table_is_sampled_among_all_its_rows(pg_db) -> None:
    db = pg_db("CREATE TABLE big (id int PRIMARY KEY, email text); "
               "INSERT INTO big SELECT g, 'u' || g || '@corp.example' "
               "FROM generate_series(1, 120000) g; ANALYZE big;")
    rows = _sample(db, 5000)  # 120,000 <= 50 x 5,000: sorted by random(), every row a chance
    assert len(rows) == 5000 and len(set(rows)) == 5000


def test_the_audit_reads_a_bounded_sample_of_a_big_copy(pg_db, tmp_path, monkeypatch) -> None:
    """audit.scan_rows caps the rows of each table of the copy that the audit reads: a leak
    planted in a big table is still found among them, and a small table is read whole."""
    from dbclone.gate import audit as audit_mod

    src = pg_db(emails_copied_into_notes(200000))
    read: list[tuple[str, int | None]] = []
    real = audit_mod._rows

    def counting(dest, table, names, limit):
        n = 0
        for row in real(dest, table, names, limit):
            n += 1
            yield row
        read.append((table.ref.name, n))

    monkeypatch.setattr(audit_mod, "_rows", counting)
    from dbclone.errors import LeakDetected

    # keep on the note: the mistake the audit is there to catch
    ws = note_rule_workspace(tmp_path, src, src + "_dst", "keep", "audit: {scan_rows: 20000}\n")
    with pytest.raises(LeakDetected) as err:
        run(load_workspace(ws))
    assert read == [("big", 20000)]  # 20,000 of 200,000 rows, not all of them
    by_column = {c.column: c for c in err.value.audit.columns}
    # the e-mails copied into the note are found among the 20,000 rows read
    assert by_column["public.big.email"].leaks["public.big.note"].rows > 0



def test_rows_by_key_match_through_the_keys_own_types(pg_db) -> None:
    """The audit's same-row reads: keys as text, matched as the columns' types (a bigint and
    a date here), so the key's index finds them; a key not there gives no row."""
    from dbclone.dialects.postgresql.reader import PgSourceReader

    db = pg_db("CREATE TABLE visit (person bigint, day date, note text, "
               "PRIMARY KEY (person, day)); "
               "INSERT INTO visit SELECT g::bigint * 1000000007, date '2024-01-01' + g % 300, "
               "'n' || g FROM generate_series(1, 50000) g; ANALYZE visit;")
    reader = PgSourceReader(parse_url(url(db)))
    try:
        table = reader.introspect(["public"]).tables[TableRef("public", "visit")]
        keys = [("7000000049", "2024-01-08"), ("49000000343", "2024-02-19"),
                ("7000000049", "2024-01-09")]  # the last: no such visit
        sent: list = []
        real = reader.conn.execute

        def recording(query, params=None, **kw):
            sent.append((query, params))
            return real(query, params, **kw)

        reader.conn.execute = recording  # type: ignore[method-assign]
        rows = list(reader.rows_by_key(table, ["person", "day", "note"], ["person", "day"],
                                       keys))
        (query, params), = sent
        plan = "\n".join(r[0] for r in real(sql.SQL("EXPLAIN ") + query, params).fetchall())
    finally:
        reader.close()
    assert sorted(rows) == [("49000000343", "2024-02-19", "n49"),
                            ("7000000049", "2024-01-08", "n7")]
    assert "visit_pkey" in plan


def test_the_audit_reads_the_copy_while_its_statistics_are_gathered(
        pg_db, tmp_path, monkeypatch) -> None:
    """On PostgreSQL the audit starts once the copy's keys are built (finish's keys_built),
    not after finish; a leak it finds still keeps the copy from being swapped in."""
    from dbclone import pipeline
    from dbclone.errors import LeakDetected

    started: list[str] = []

    class Recorded(pipeline._EarlyAudit):
        def __init__(self, report, source, target) -> None:
            started.append(target.database)
            super().__init__(report, source, target)

    monkeypatch.setattr(pipeline, "_EarlyAudit", Recorded)
    src = pg_db(emails_copied_into_notes(3000))
    dst = src + "_dst"
    with pytest.raises(LeakDetected):
        run(load_workspace(note_rule_workspace(tmp_path, src, dst, "keep")))
    assert len(started) == 1 and started[0].startswith(f"{dst}__dbclone_tmp_")
    with pg_connect() as c:
        left = c.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                         (dst + "%",)).fetchall()
    assert left == []  # neither swapped in nor left half-built
    report = run(load_workspace(note_rule_workspace(tmp_path, src, dst, "redact")))
    assert report.audit is not None and report.audit.failing == [] and len(started) == 2
