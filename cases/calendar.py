"""Working days: Monday to Friday, less Vietnam's public holidays, with the government's swaps.

The public holidays (Tết by the lunar calendar, and the days off the law moves to a weekday) come
from the `holidays` package, computed once per process for every year of `YEARS`. On top of them
an administrator keeps the swaps announced each year (`WorkingDaySwap`): a weekday off, or a
Saturday worked in exchange, which the package does not model. Every SLA counts from this one
calendar.

The swaps are read once a minute per process (`SWAPS_TTL_S`), so a queue page does not query
them on each row or each request; a change made in this process shows at once
(`forget_working_calendar`), in the other workers within a minute.
"""
from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

import holidays as holiday_rules
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import SwapKind, WorkingDaySwap
from extensions import db

# Generous on both sides: a case's time in state and the scheduler's deadlines never reach past.
YEARS = range(1990, 2101)
SWAPS_TTL_S = 60.0
_ONE_DAY = timedelta(days=1)


@cache
def vietnam_holidays() -> holiday_rules.HolidayBase:
    """The package's public holidays of Vietnam for `YEARS`, with their Vietnamese names."""
    return holiday_rules.country_holidays("VN", years=YEARS, language="vi")


def public_holidays(year: int) -> list[tuple[date, str]]:
    """(day, name) of the year's public holidays, weekends included, in order."""
    return sorted((day, name) for day, name in vietnam_holidays().items() if day.year == year)


def _weekdays_before(day: date) -> int:
    """Weekdays from the epoch 0001-01-01 (a Monday) up to, not including, `day`."""
    n = day.toordinal() - 1
    weeks, rest = divmod(n, 7)
    return weeks * 5 + min(rest, 5)


class WorkingCalendar:
    """Working days as Monday to Friday, less `days_off` (weekdays), plus `days_worked`
    (weekend days). Every question costs O(log days off)."""

    def __init__(self, days_off: Iterable[date], days_worked: Iterable[date] = ()):
        self._off = sorted({d for d in days_off if d.weekday() < 5})
        self._worked = sorted({d for d in days_worked if d.weekday() >= 5})

    def _before(self, day: date) -> int:
        """Working days from the epoch up to, not including, `day`."""
        return _weekdays_before(day) - bisect_left(self._off, day) + bisect_left(self._worked, day)

    def is_working_day(self, day: date) -> bool:
        return self._before(day + _ONE_DAY) > self._before(day)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        if end <= start:
            return 0
        return self._before(end + _ONE_DAY) - self._before(start + _ONE_DAY)

    def add_working_days(self, day: date, n: int) -> date:
        """The date `n` working days after `day`, or before it when `n` is negative.

        After: the first date `e` with `working_days_between(day, e) == n` (a working day when
        n > 0). Before: the last date `s` with `working_days_between(s, day) == -n`, so whatever
        entered a state on `s` or earlier has been there -n working days or more by `day` (the
        scheduler's deadline for "in state since").
        """
        if n == 0:
            return day
        base = self._before(day + _ONE_DAY)
        if n > 0:
            return self._first_reaching(base + n, day + _ONE_DAY) - _ONE_DAY
        return self._first_reaching(base + n + 1, day + _ONE_DAY) - 2 * _ONE_DAY

    def _first_reaching(self, target: int, near: date) -> date:
        """The first date `x` with at least `target` working days before it."""
        lo = hi = near
        step = 8
        while self._before(lo) >= target:
            lo, step = lo - timedelta(days=step), step * 2
        step = 8
        while self._before(hi) < target:
            hi, step = hi + timedelta(days=step), step * 2
        # Now _before(lo) < target <= _before(hi): the first ordinal past lo that reaches it.
        ordinals = range(lo.toordinal() + 1, hi.toordinal() + 1)
        found = bisect_left(ordinals, target, key=lambda o: self._before(date.fromordinal(o)))
        return date.fromordinal(ordinals[found])


@cache
def _public_days_off() -> tuple[date, ...]:
    return tuple(sorted(d for d in vietnam_holidays() if d.weekday() < 5))


_calendars: dict[object, tuple[float, WorkingCalendar]] = {}


def working_calendar(session: Session | None = None) -> WorkingCalendar:
    """The calendar of public holidays and the administrator's swaps, as this process last read
    them (at most `SWAPS_TTL_S` ago). `session` defaults to the request's."""
    session = session or db.session
    key, now = session.get_bind(), time.monotonic()
    cached = _calendars.get(key)
    if cached is None or now - cached[0] > SWAPS_TTL_S:
        swaps = session.execute(select(WorkingDaySwap.day, WorkingDaySwap.kind)).all()
        calendar = WorkingCalendar(
            [*_public_days_off(), *(s.day for s in swaps if s.kind is SwapKind.DAY_OFF)],
            [s.day for s in swaps if s.kind is SwapKind.WORKING_DAY])
        cached = _calendars[key] = now, calendar
    return cached[1]


def forget_working_calendar() -> None:
    """Drop this process's calendars (after a change to the swaps, made here)."""
    _calendars.clear()


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start).

    O(log holidays) once the calendar is built, so a queue page can show it for every row.
    """
    return working_calendar().working_days_between(start, end)
