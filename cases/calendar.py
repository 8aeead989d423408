"""Working days: Monday to Friday, less the public holidays of `cases/data/holidays.csv`."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import cache

from cases.reference import holidays


@cache
def _weekday_holidays() -> list[date]:
    return sorted(d for d in holidays() if d.weekday() < 5)


def _weekdays_before(day: date) -> int:
    """Weekdays from the epoch 0001-01-01 (a Monday) up to, not including, `day`."""
    n = day.toordinal() - 1
    weeks, rest = divmod(n, 7)
    return weeks * 5 + min(rest, 5)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start).

    O(log holidays), so a queue page can show it for every row.
    """
    if end <= start:
        return 0
    first = start + timedelta(days=1)
    weekdays = _weekdays_before(end + timedelta(days=1)) - _weekdays_before(first)
    days_off = _weekday_holidays()
    return weekdays - (bisect_right(days_off, end) - bisect_left(days_off, first))
