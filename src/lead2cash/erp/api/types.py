"""Field types of the REST API: Business Central codes (upper case, trimmed), bounded texts and exact amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints


def _blank_to_none(value):
    return None if isinstance(value, str) and not value.strip() else value


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it here on every database so both behave the same.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _fits(length: int):
    def check(value: str) -> str:
        # upper-casing can lengthen a code ("ß" → "SS"): check the length of what will be stored
        if len(value) > length:
            raise ValueError(f"must be at most {length} characters in upper case")
        return value

    return AfterValidator(check)


def Code(length: int):
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            to_upper=True,
            min_length=1,
            max_length=length,
            pattern=r"^[^\s/\\?#%][^/\\?#%]*$",
        ),
        AfterValidator(_no_nul),
        _fits(length),
    ]


def CodeRef(length: int):
    """An optional reference by code: blank means none."""
    return Annotated[Code(length) | None, BeforeValidator(_blank_to_none)]


def Text(length: int):
    return Annotated[str, StringConstraints(max_length=length), AfterValidator(_no_nul)]


Amount = Annotated[Decimal, Field(max_digits=18, decimal_places=5, ge=Decimal("-1e12"), le=Decimal("1e12"))]
Rate = Annotated[Decimal, Field(max_digits=18, decimal_places=8, gt=0, le=Decimal("1e9"))]
VatPct = Annotated[Decimal, Field(max_digits=8, decimal_places=5, ge=0, le=100)]
