"""Short column constructors so models read like Business Central table definitions."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import mapped_column

from lead2cash.sqltypes import DecimalType

AMOUNT = DecimalType(scale=5)
RATE = DecimalType(scale=8)


def text(length: int, *, nullable: bool = False, **kw):
    """A text field; blank is the empty string, as in Business Central."""
    return mapped_column(String(length), nullable=nullable, default="" if not nullable else None, **kw)


def code_ref(target: str, length: int = 20, **kw):
    """An optional reference to another table's code or no. (NULL when blank)."""
    return mapped_column(String(length), ForeignKey(target), nullable=True, **kw)


def option(enum: type[StrEnum], default: StrEnum):
    return mapped_column(
        Enum(
            enum,
            native_enum=False,
            length=32,
            values_callable=lambda e: [m.value for m in e],
            validate_strings=True,
        ),
        nullable=False,
        default=default,
    )


def amount(**kw):
    return mapped_column(AMOUNT, nullable=False, default=0, **kw)


def flag(default: bool = False):
    return mapped_column(Boolean, nullable=False, default=default)
