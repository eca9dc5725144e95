"""Pure text work on the DDL MySQL/MariaDB hands back from SHOW CREATE ...: no server here.

The clone re-creates tables, views, triggers, routines and events from the source's own
SHOW CREATE text. Two rewrites are needed:

- the source database's name, where the server wrote it as a qualifier (`src`.`t`), becomes
  the name of the database being built;
- the DEFINER clause is dropped, so the object belongs to the user running the clone. A
  dev server rarely has the production definer account, and naming another definer needs
  SUPER / SET USER; without the account the object could not be created or used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dbclone.introspect.snapshot import TableRef, View

# CREATE [OR REPLACE] [ALGORITHM=x] DEFINER=`user`@`host` [SQL SECURITY x] VIEW|TRIGGER|...
_DEFINER = re.compile(
    r"^(\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?)"
    r"DEFINER\s*=\s*(?:`(?:[^`]|``)*`(?:\s*@\s*`(?:[^`]|``)*`)?"
    r"|'(?:[^'\\]|\\.|'')*'(?:\s*@\s*'(?:[^'\\]|\\.|'')*')?"
    r"|CURRENT_USER(?:\s*\(\s*\))?|CURRENT_ROLE(?:\s*\(\s*\))?|[^\s@]+(?:@[^\s]+)?)\s+",
    re.IGNORECASE)


def strip_definer(sql: str) -> str:
    """``CREATE DEFINER=`app`@`%` TRIGGER ...`` -> ``CREATE TRIGGER ...``."""
    return _DEFINER.sub(r"\1", sql, count=1)


def q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def requalify(sql: str, source_db: str, target_db: str) -> str:
    """Point `source_db`.x qualifiers at `target_db`.

    Only the quoted form the server itself writes is rewritten; the text inside a trigger or
    routine body is the user's own and may name the database unquoted, which is left alone.
    Backtick-quoted text never occurs inside a string literal of server-normalised SQL, so a
    plain replacement is safe there.
    """
    if source_db == target_db:
        return sql
    return re.sub(re.escape(q(source_db)) + r"(\s*\.)", lambda m: q(target_db) + m.group(1), sql)


@dataclass(frozen=True)
class ServerObject:
    """One view, trigger, routine or event to re-create after the data, as the source has it."""

    kind: str  # "FUNCTION", "PROCEDURE", "VIEW", "TRIGGER", "EVENT"
    name: str
    create_sql: str  # SHOW CREATE text, definer already stripped
    sql_mode: str | None = None  # the mode the object was created under (bodies depend on it)
    time_zone: str | None = None  # events: their schedule is in this zone

    def sql_for(self, source_db: str, target_db: str) -> str:
        return requalify(self.create_sql, source_db, target_db)

    def __str__(self) -> str:
        return f"{self.kind.lower()} {self.name}"


def views_in_dependency_order(views: dict[TableRef, View]) -> list[TableRef]:
    """Views after the views they read from; ties by name, so the order is stable.

    Real views cannot form a cycle, but a false match in the definition text could make one:
    then the rest go in name order and the writer's retry pass sorts them out.
    """
    deps = {r: {d for d in v.depends_on if d in views and d != r} for r, v in views.items()}
    done: list[TableRef] = []
    placed: set[TableRef] = set()
    while len(done) < len(deps):
        ready = sorted(r for r in deps if r not in placed and deps[r] <= placed)
        if not ready:
            ready = sorted(r for r in deps if r not in placed)
        for r in ready:
            done.append(r)
            placed.add(r)
    return done


_KEY_DEF = re.compile(r"(UNIQUE )?KEY `(?:[^`]|``)+` \((.*)\)")
_IDENT = re.compile(r"`((?:[^`]|``)*)`")


def key_columns(definition: str) -> tuple[str, ...] | None:
    """The columns of a ``KEY`` or ``UNIQUE KEY`` line of SHOW CREATE TABLE, or None for
    anything else (PRIMARY, FULLTEXT, SPATIAL, a functional key part)."""
    m = _KEY_DEF.match(definition)
    if m is None:
        return None
    inside = m.group(2)
    if "(" in re.sub(r"\(\d+\)", "", _IDENT.sub("`x`", inside)):
        return None  # (expr): a functional key part, or a comment we do not read
    return tuple(n.replace("``", "`") for n in _IDENT.findall(inside)) or None


def key_name(definition: str) -> str:
    """The name of a key definition: ``UNIQUE KEY `email` (...)`` -> ``email``."""
    m = _IDENT.search(definition)
    return m.group(1).replace("``", "`") if m else ""


def defer_keys(create_sql: str,
               deferrable: Callable[[tuple[str, ...]], bool]) -> tuple[str, list[str]]:
    """SHOW CREATE TABLE text without the secondary keys ``deferrable`` accepts, and those
    key definitions, to add once the rows are in (ALTER TABLE ... ADD <definition>): InnoDB
    then builds each index sorted in one pass instead of inserting every row into it, which
    for random values (a masked unique e-mail) thrashes the buffer pool once the index
    outgrows it. A key of an AUTO_INCREMENT column stays: the column needs one."""
    lines = create_sql.split("\n")
    end = next((i for i in range(1, len(lines)) if lines[i].startswith(")")), None)
    if end is None:
        return create_sql, []
    defs = [line.rstrip(",") for line in lines[1:end]]
    auto = {_IDENT.match(d.strip()).group(1) for d in defs  # type: ignore[union-attr]
            if d.strip().startswith("`") and " AUTO_INCREMENT" in d}
    kept, deferred = [], []
    for d in defs:
        cols = key_columns(d.strip())
        if cols is not None and cols[0] not in auto and deferrable(cols):
            deferred.append(d.strip())
        else:
            kept.append(d)
    if not deferred:
        return create_sql, []
    return "\n".join([lines[0], ",\n".join(kept), *lines[end:]]), deferred
