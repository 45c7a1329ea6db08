"""The time windows behind Dataverse's relative date query functions (`Today`, `LastXDays`, `On` …).

Dataverse evaluates these in the user's time zone and with the organization's first day of the week; the
local server has neither setting, so it uses UTC days and ISO weeks (starting on Monday). Each function
becomes a :class:`Window` (lower and upper bound, each inclusive or not, either may be open); the
`$filter` compiler turns a window into two SQL comparisons. Keeping the calendar arithmetic here, apart
from SQL, lets it be tested and reused on its own.

Semantics (``now`` is the request time, ``today`` its UTC midnight):

* ``Today`` / ``Yesterday`` / ``Tomorrow``: that calendar day.
* ``LastXDays(X)``: from ``today - X days`` up to ``now``; ``NextXDays(X)``: from ``now`` up to the end of
  ``today + X days``. Weeks, months and years work the same way; hours and minutes count back or forward
  from ``now`` exactly. ``Last7Days`` / ``Next7Days`` are ``X = 7``.
* ``OlderThanX<unit>(X)``: strictly before ``now - X units``.
* ``This/Last/Next`` ``Week``/``Month``/``Year``: that calendar period.
* ``On(d)`` / ``OnOrAfter(d)`` / ``OnOrBefore(d)``: the day ``d``, from it on, up to its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MAX_COUNT = 100_000  # a larger X than this is certainly a mistake and would overflow the calendar


@dataclass(frozen=True)
class Window:
    """A time interval; ``None`` for an open end."""

    lo: datetime | None
    lo_inclusive: bool
    hi: datetime | None
    hi_inclusive: bool


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def _day(day: date) -> Window:
    return Window(_midnight(day), True, _midnight(day + timedelta(days=1)), False)


def _span(start: date, end: date) -> Window:
    return Window(_midnight(start), True, _midnight(end), False)


def _shift(now: datetime, unit: str, count: int) -> datetime:
    """``now`` moved by ``count`` units (negative: into the past), calendar-aware for months/years."""
    if unit in ("Minutes", "Hours", "Days", "Weeks"):
        return now + timedelta(**{unit.lower(): count})
    months = count * (12 if unit == "Years" else 1)
    first = _add_months(now.date().replace(day=1), months)
    # Keep the day of month where it exists (31 Jan + 1 month → 28/29 Feb).
    last_day = (_add_months(first, 1) - timedelta(days=1)).day
    return now.replace(year=first.year, month=first.month, day=min(now.day, last_day))


def _relative(name: str, now: datetime, count: int) -> Window:
    today = now.date()
    for prefix in ("OlderThanX", "LastX", "NextX"):
        if name.startswith(prefix):
            unit = name[len(prefix) :]
            break
    else:  # pragma: no cover - callers only pass names from RELATIVE_FUNCTIONS
        raise KeyError(name)
    if prefix == "OlderThanX":
        return Window(None, False, _shift(now, unit, -count), False)
    if unit in ("Minutes", "Hours"):
        if prefix == "LastX":
            return Window(_shift(now, unit, -count), True, now, True)
        return Window(now, True, _shift(now, unit, count), True)
    midnight = _midnight(today)
    if prefix == "LastX":
        return Window(_shift(midnight, unit, -count), True, now, True)
    return Window(now, True, _shift(midnight, unit, count) + timedelta(days=1), False)


RELATIVE_FUNCTIONS = frozenset(
    f"{prefix}{unit}"
    for prefix in ("LastX", "NextX", "OlderThanX")
    for unit in ("Minutes", "Hours", "Days", "Weeks", "Months", "Years")
)
FIXED_FUNCTIONS = frozenset(
    {
        "Today",
        "Yesterday",
        "Tomorrow",
        "Last7Days",
        "Next7Days",
        "ThisWeek",
        "LastWeek",
        "NextWeek",
        "ThisMonth",
        "LastMonth",
        "NextMonth",
        "ThisYear",
        "LastYear",
        "NextYear",
    }
)
DAY_FUNCTIONS = frozenset({"On", "OnOrAfter", "OnOrBefore", "NotOn"})


def fixed_window(name: str, now: datetime) -> Window:
    """The window of a parameterless date function at ``now``."""
    today = now.date()
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    year = today.replace(month=1, day=1)
    one = timedelta(days=1)
    table = {
        "Today": lambda: _day(today),
        "Yesterday": lambda: _day(today - one),
        "Tomorrow": lambda: _day(today + one),
        "Last7Days": lambda: _relative("LastXDays", now, 7),
        "Next7Days": lambda: _relative("NextXDays", now, 7),
        "ThisWeek": lambda: _span(week, week + 7 * one),
        "LastWeek": lambda: _span(week - 7 * one, week),
        "NextWeek": lambda: _span(week + 7 * one, week + 14 * one),
        "ThisMonth": lambda: _span(month, _add_months(month, 1)),
        "LastMonth": lambda: _span(_add_months(month, -1), month),
        "NextMonth": lambda: _span(_add_months(month, 1), _add_months(month, 2)),
        "ThisYear": lambda: _span(year, year.replace(year=year.year + 1)),
        "LastYear": lambda: _span(year.replace(year=year.year - 1), year),
        "NextYear": lambda: _span(year.replace(year=year.year + 1), year.replace(year=year.year + 2)),
    }
    return table[name]()


def relative_window(name: str, now: datetime, count: int) -> Window:
    """The window of ``LastX…``/``NextX…``/``OlderThanX…`` with ``X = count`` at ``now``."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"PropertyValue for {name} must be between 0 and {MAX_COUNT}.")
    return _relative(name, now, count)


def day_window(name: str, day: date) -> Window:
    """The window of ``On``/``OnOrAfter``/``OnOrBefore`` (and ``NotOn``, the complement of ``On``)."""
    whole = _day(day)
    if name == "OnOrAfter":
        return Window(whole.lo, True, None, False)
    if name == "OnOrBefore":
        return Window(None, False, whole.hi, False)
    return whole
