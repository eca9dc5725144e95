"""Given and family names, for telling a column of person names from a column of film titles.

About 30,000 given names and 26,000 family names from Faker's person providers in every
locale it ships, case-folded, kept in ``person_names/given.txt`` and ``family.txt`` beside
this module. Shipped rather than built from Faker at run time: importing Faker's ninety
person providers cost about 0.15 s of every run's start, and the gate's answers no longer
move with the installed Faker version. ``python -m dbclone.gate.names`` rewrites the files
from the installed Faker.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from importlib import resources
from pathlib import Path


def wordset(text: str) -> frozenset[str]:
    """A set of words written as one whitespace-separated block (easier to read and extend)."""
    return frozenset(text.split())


# Words that make a multi-word value an organisation, a place or a product rather than a
# person, even when one of its words is also somebody's name ("St Vincent's Hospital").
NOT_PERSON_WORDS = wordset("""
    hospital clinic center centre health healthcare medical medicine inc ltd llc llp corp
    corporation company co group services service university college school academy bank
    insurance care the of and for association foundation department dept office store shop
    pharmacy practice partners associates international national hotel restaurant church city
    county state street road avenue medicare medicaid blue cross shield trust fund plc gmbh ag
    limited holdings systems solutions consulting institute laboratory lab labs network
    general community regional district memorial children family women mens urgent dental
    surgery surgical physicians doctors nursing home rehabilitation hospice private public
    """)

HONORIFICS = wordset("mr mrs ms miss dr prof sir madam mx rev fr sr jr ii iii iv")


@cache
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), case-folded; Latin, Cyrillic, Greek... as Faker has them."""
    return _read("given"), _read("family")


def _read(kind: str) -> frozenset[str]:
    text = (resources.files(__package__) / "person_names" / f"{kind}.txt").read_text("utf-8")
    return frozenset(text.split("\n")) - {""}


def from_faker() -> tuple[set[str], set[str]]:
    """The word lists as the installed Faker's person providers give them."""
    import faker.providers.person as people

    given: set[str] = set()
    family: set[str] = set()
    for info in pkgutil.iter_modules(people.__path__):
        try:
            provider = importlib.import_module(f"{people.__name__}.{info.name}").Provider
        except (ImportError, AttributeError):  # a locale without a person provider
            continue
        for attr in ("first_names", "first_names_male", "first_names_female",
                     "first_names_nonbinary"):
            _take(getattr(provider, attr, None), given)
        _take(getattr(provider, "last_names", None), family)
    return given, family


def _take(values: object, into: set[str]) -> None:
    # Providers hold tuples, lists or weighted dicts; some locales define properties instead.
    if isinstance(values, (tuple, list, set, frozenset, dict)):
        for v in values:
            s = str(v).strip().casefold()
            if s and s.split() == [s]:  # one word: one line of the shipped lists
                into.add(s)


def is_given(word: str) -> bool:
    return word.casefold() in lexicon()[0]


def is_family(word: str) -> bool:
    return word.casefold() in lexicon()[1]


def write_lists(directory: Path) -> None:
    """Rewrite the shipped lists from the installed Faker (one word a line, sorted)."""
    given, family = from_faker()
    for kind, words in (("given", given), ("family", family)):
        (directory / f"{kind}.txt").write_text("".join(f"{w}\n" for w in sorted(words)),
                                              encoding="utf-8")


if __name__ == "__main__":
    write_lists(Path(__file__).with_name("person_names"))
