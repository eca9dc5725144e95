"""The built-in catalogue, one module per family. Importing this registers every generator."""

from dbclone.transform.generators import (  # noqa: F401
    compose,
    contact,
    erase,
    identifiers,
    people,
    structure,
    text,
)
