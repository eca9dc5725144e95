"""Reflect a source database into a dialect-free :class:`SchemaSnapshot`."""

from dbclone.introspect.snapshot import (
    CheckConstraint,
    Column,
    ColumnRef,
    ForeignKey,
    SchemaSnapshot,
    Sequence,
    Table,
    TableRef,
    Trigger,
    TypeCategory,
    View,
)

__all__ = [
    "CheckConstraint",
    "Column",
    "ColumnRef",
    "ForeignKey",
    "SchemaSnapshot",
    "Sequence",
    "Table",
    "TableRef",
    "Trigger",
    "TypeCategory",
    "View",
]
