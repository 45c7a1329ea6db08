"""Business Central date formulas (payment terms' due date calculation): ``14D``, ``1M``, ``CM+1M``, ``-1W``.

A formula is a sequence of terms, each ``[+|-]<n><unit>`` or ``C<unit>`` (current period end), with units D,
W, M, Q, Y. ``apply`` computes the date; ``parse`` rejects anything else with the reason.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_TERM = re.compile(r"([+-]?)(?:(\d+)([DWMQY])|C([DWMQY]))")


def parse(formula: str) -> list[tuple[int, str, bool]]:
    """Terms as (signed count, unit, is_current_period). Raises ValueError on a bad formula."""
    text = formula.replace(" ", "").upper()
    terms: list[tuple[int, str, bool]] = []
    pos = 0
    while pos < len(text):
        match = _TERM.match(text, pos)
        if not match:
            raise ValueError(f"'{formula}' is not a date formula (use terms like 14D, 1M, CM+1M)")
        sign = -1 if match.group(1) == "-" else 1
        if match.group(4):
            terms.append((sign, match.group(4), True))
        else:
            terms.append((sign * int(match.group(2)), match.group(3), False))
        pos = match.end()
    return terms


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _period_end(day: date, unit: str, forward: bool) -> date:
    if unit == "D":
        return day
    if unit == "W":
        return day + timedelta(days=6 - day.weekday()) if forward else day - timedelta(days=day.weekday())
    if unit == "M":
        return day.replace(day=calendar.monthrange(day.year, day.month)[1]) if forward else day.replace(day=1)
    if unit == "Q":
        first_month = 3 * ((day.month - 1) // 3) + 1
        if not forward:
            return date(day.year, first_month, 1)
        return date(day.year, first_month + 2, calendar.monthrange(day.year, first_month + 2)[1])
    return date(day.year, 12, 31) if forward else date(day.year, 1, 1)


def apply(formula: str, start: date) -> date:
    day = start
    for count, unit, current in parse(formula):
        if current:
            day = _period_end(day, unit, forward=count > 0)
        elif unit == "D":
            day += timedelta(days=count)
        elif unit == "W":
            day += timedelta(weeks=count)
        elif unit == "M":
            day = _add_months(day, count)
        elif unit == "Q":
            day = _add_months(day, 3 * count)
        else:
            day = _add_months(day, 12 * count)
    return day
