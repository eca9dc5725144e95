"""Just enough of SQLite's lexer to read facts out of ``sqlite_master.sql`` safely.

The catalog answers most questions through PRAGMAs; a few (AUTOINCREMENT, WITHOUT ROWID on old
versions, which names a view reads) only live in the CREATE text. Scanning tokens instead of
regex over raw text means a keyword inside a string, a comment or a quoted name never counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*.*?(?:\*/|\Z))
    | (?P<string>'(?:[^']|'')*'?)
    | (?P<blob>[xX]'[0-9a-fA-F]*')
    | (?P<dq>"(?:[^"]|"")*"?)
    | (?P<bracket>\[[^\]]*\]?)
    | (?P<backtick>`(?:[^`]|``)*`?)
    | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
    | (?P<number>[0-9][0-9A-Za-z_.]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "ident" (a quoted name, unquoted here), "string", "number", "punct"
    text: str

    def is_keyword(self, word: str) -> bool:
        return self.kind == "word" and self.text.upper() == word


def tokens(sql: str) -> list[Token]:
    out: list[Token] = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup or "punct"
        text = m.group()
        if kind in ("space", "line_comment", "block_comment"):
            continue
        if kind == "dq":
            out.append(Token("ident", text[1:-1].replace('""', '"')))
        elif kind == "bracket":
            out.append(Token("ident", text[1:-1]))
        elif kind == "backtick":
            out.append(Token("ident", text[1:-1].replace("``", "`")))
        elif kind == "blob":
            out.append(Token("string", text))
        else:
            out.append(Token(kind, text))
    return out


def has_keyword(sql: str | None, *words: str) -> bool:
    """True when ``words`` appear as consecutive keywords (e.g. "WITHOUT", "ROWID")."""
    if not sql:
        return False
    toks = tokens(sql)
    n = len(words)
    return any(all(toks[i + j].is_keyword(w) for j, w in enumerate(words))
               for i in range(len(toks) - n + 1))


def names_in(sql: str | None) -> set[str]:
    """Every bare or quoted name in ``sql``, lowercased (SQLite names are case-insensitive)."""
    if not sql:
        return set()
    return {t.text.lower() for t in tokens(sql) if t.kind in ("word", "ident")}
