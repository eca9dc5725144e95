"""Generators (the masking catalogue) and the per-table row masker. Pure: no database access."""

from dbclone.transform.base import REGISTRY, Generator, GeneratorContext, Params
from dbclone.transform.keyed import Keyer
from dbclone.transform.masker import ColumnMasker
from dbclone.transform.resolve import MaskingPlan, resolve_rules, secret_for

__all__ = [
    "REGISTRY",
    "ColumnMasker",
    "Generator",
    "GeneratorContext",
    "Keyer",
    "MaskingPlan",
    "Params",
    "resolve_rules",
    "secret_for",
]
