"""Entity types of the text redactor: canonical names, the tags they redact to, the aliases
that other tools (spaCy, Presidio, datasets) use, and which types count as identifiers."""

from __future__ import annotations

# canonical type -> tag written in redact mode
TAGS: dict[str, str] = {
    "PERSON": "NAME",
    "LOCATION": "LOCATION",
    "ADDRESS": "ADDRESS",
    "ZIP": "ZIP",
    "ORGANIZATION": "ORGANIZATION",
    "DATE": "DATE",
    "AGE": "AGE",
    "PHONE": "PHONE",
    "EMAIL": "EMAIL",
    "URL": "URL",
    "IP_ADDRESS": "IP",
    "SSN": "SSN",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN": "IBAN",
    "MRN": "MRN",
    "ACCOUNT": "ACCOUNT",
    "ID": "ID",
    "NRP": "NRP",
}

# HIPAA Safe Harbor identifiers that can appear in text; ORGANIZATION and NRP
# (nationalities, religious and political groups) are not among them: opt in.
DEFAULT_ENTITIES: frozenset[str] = frozenset(TAGS) - {"ORGANIZATION", "NRP"}

# Numbers and codes that identify a person or account. A span with any of these labels (or a
# label we do not know, e.g. from an extra pattern) is redacted whenever any identifier type
# is selected: a recognizer that calls a phone number an account number must not leak it.
IDENTIFIER_TYPES: frozenset[str] = frozenset(
    {"PHONE", "SSN", "CREDIT_CARD", "IBAN", "MRN", "ACCOUNT", "ID", "IP_ADDRESS"})

ALIASES: dict[str, str] = {
    "NAME": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "CITY": "LOCATION",
    "STREET_ADDRESS": "ADDRESS",
    "ZIP_CODE": "ZIP",
    "POSTCODE": "ZIP",
    "ORG": "ORGANIZATION",
    "DATE_TIME": "DATE",
    "DOB": "DATE",
    "PHONE_NUMBER": "PHONE",
    "FAX": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "DOMAIN_NAME": "URL",
    "IP": "IP_ADDRESS",
    "US_SSN": "SSN",
    "IBAN_CODE": "IBAN",
    "CARD": "CREDIT_CARD",
    "US_BANK_NUMBER": "ACCOUNT",
    "BANK_ACCOUNT": "ACCOUNT",
    "US_DRIVER_LICENSE": "ID",
    "US_PASSPORT": "ID",
    "US_ITIN": "SSN",
    "NORP": "NRP",
}


def canonical(label: str) -> str:
    """Our name for a label; unknown labels are kept (upper-cased) and treated as IDs."""
    up = label.strip().upper().replace("-", "_").replace(" ", "_")
    return ALIASES.get(up, up)


def is_identifier(label: str) -> bool:
    return label in IDENTIFIER_TYPES or label not in TAGS


def tag_for(label: str) -> str:
    return TAGS.get(label, label)


def parse_entities(names: list[str] | tuple[str, ...] | None) -> frozenset[str]:
    """The selected types; 'all' adds every known type, 'default' the default set."""
    if not names:
        return DEFAULT_ENTITIES
    out: set[str] = set()
    for raw in names:
        name = canonical(raw)
        if name == "ALL":
            out |= set(TAGS)
        elif name == "DEFAULT":
            out |= DEFAULT_ENTITIES
        elif name not in TAGS:
            from dbclone.errors import did_you_mean

            hint = did_you_mean(raw, [*TAGS, *ALIASES])
            raise ValueError(f"unknown entity type '{raw}'" + (f" ({hint})" if hint else
                             f" (types: {', '.join(sorted(TAGS))})"))
        else:
            out.add(name)
    return frozenset(out)


def wanted(label: str, selected: frozenset[str]) -> bool:
    """Is a span with this label redacted under this selection?"""
    if label in selected:
        return True
    return is_identifier(label) and bool(selected & IDENTIFIER_TYPES)
