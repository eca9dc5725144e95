"""README sections generated from the code, so the docs cannot drift.

``python -m dbclone.docs`` rewrites the generator catalogue in README.md; a unit test fails
when the README is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dbclone.transform import REGISTRY
from dbclone.transform.base import ALL_TYPES, COMMON_OPTIONS

START = "<!-- generators:start -->"
END = "<!-- generators:end -->"


def generator_table() -> str:
    families: dict[str, list[str]] = {}
    for name in sorted(REGISTRY):
        families.setdefault(REGISTRY[name].family, []).append(name)
    lines = ["| generator | family | column types | options | what it does |",
             "| --- | --- | --- | --- | --- |"]
    for family in sorted(families):
        for name in families[family]:
            cls = REGISTRY[name]
            types = "any" if cls.accepts == ALL_TYPES else ", ".join(
                sorted(c.value for c in cls.accepts))
            opts = ", ".join(k for k in cls.Params.model_fields if k not in COMMON_OPTIONS)
            flags = []
            if cls.unique_safe:
                flags.append("unique-safe")
            if cls.may_return_source and cls.masks:
                flags.append("may return the source value")
            doc = " ".join(cls.doc().split()).replace("|", "\\|")
            if flags:
                doc += f" *({'; '.join(flags)})*"
            lines.append(f"| `{name}` | {family} | {types} | {opts or '-'} | {doc} |")
    return "\n".join(lines)


def render(readme: str) -> str:
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{generator_table()}\n{END}{tail}"


def main() -> int:
    path = Path(__file__).resolve().parent.parent / "README.md"
    text = path.read_text(encoding="utf-8")
    if START not in text:
        print(f"{path}: no {START} marker", file=sys.stderr)
        return 1
    path.write_text(render(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
