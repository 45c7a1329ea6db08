"""Number series: hand out the next document or record number, Business Central style (``C00009`` → ``C00010``)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import ValidationFailed
from lead2cash.erp.model import NoSeries

_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def increment(number: str, by: int = 1) -> str:
    """Increase the last run of digits in ``number`` by ``by``, keeping its width where it fits."""
    match = _LAST_NUMBER.search(number)
    if not match:
        raise ValueError(f"'{number}' has no digits to increment")
    digits = match.group(1)
    bumped = str(int(digits) + by).zfill(len(digits))
    return number[: match.start()] + bumped + number[match.end() :]


def next_no(session: Session, series_code: str, *, record: str) -> str:
    """Take the next number of a series; the row lock serializes concurrent takers until commit."""
    return next_nos(session, series_code, 1, record=record)[0]


def next_nos(session: Session, series_code: str, count: int, *, record: str) -> list[str]:
    """Take the next ``count`` numbers of a series at once (one row lock and one update for a batch)."""
    series = session.scalars(select(NoSeries).where(NoSeries.code == series_code).with_for_update()).first()
    if series is None:
        raise ValidationFailed(
            f"{record}: no number given and number series '{series_code}' does not exist.",
            record=record,
            field="no",
            fix=f"Give the no. explicitly or create number series {series_code}.",
        )
    numbers: list[str] = []
    last = series.last_no_used
    try:
        for _ in range(count):
            last = increment(last, series.increment_by) if last else series.starting_no
            increment(last)  # a number without digits could never be followed by another one
            numbers.append(last)
    except ValueError:
        raise ValidationFailed(
            f"{record}: number series '{series_code}' cannot count up from '{series.last_no_used}'.",
            record=f"No. series {series_code}",
            field="last_no_used",
            fix=f"Change number series {series_code} to numbers with digits, or give the no. explicitly.",
        ) from None
    if numbers:
        series.last_no_used = numbers[-1]
    return numbers
