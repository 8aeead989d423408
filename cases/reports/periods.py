"""The period a report covers — a month, a half-year or a year — and the moment it is counted at.

Counts are taken as of the end of the period's last day at the commune office (midnight, Vietnam's
time), so a report for October produced in December gives the numbers it gave on 31 October.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import gettext as _, lazy_gettext as _l

from cases.changes import DISPLAY_TZ
from cases.errors import DomainError

MONTH, HALF, YEAR = "month", "half", "year"
_CODE = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|H(?P<half>[12])))?$")
BAD_PERIOD = _l("Kỳ báo cáo không hợp lệ: hãy ghi YYYY-MM (tháng), YYYY-H1 hoặc YYYY-H2 (6 tháng) hoặc YYYY (năm).")


@dataclass(frozen=True, order=True)
class Period:
    kind: str           # MONTH, HALF or YEAR
    year: int
    number: int         # the month (1–12), the half (1–2), or 1 for a year

    @classmethod
    def parse(cls, code: str) -> Period:
        """`2026-10`, `2026-H1`, `2026-H2` or `2026`.

        :raise DomainError: anything else, or a month or year out of range.
        """
        found = _CODE.match((code or "").strip().upper())
        if not found or not 2000 <= int(found["year"]) <= 2100:
            raise DomainError(str(BAD_PERIOD), "period")
        year = int(found["year"])
        if found["month"]:
            if not 1 <= int(found["month"]) <= 12:
                raise DomainError(str(BAD_PERIOD), "period")
            return cls(MONTH, year, int(found["month"]))
        if found["half"]:
            return cls(HALF, year, int(found["half"]))
        return cls(YEAR, year, 1)

    @classmethod
    def month_of(cls, day: date) -> Period:
        return cls(MONTH, day.year, day.month)

    @property
    def code(self) -> str:
        if self.kind == MONTH:
            return f"{self.year}-{self.number:02d}"
        if self.kind == HALF:
            return f"{self.year}-H{self.number}"
        return str(self.year)

    @property
    def first_day(self) -> date:
        if self.kind == MONTH:
            return date(self.year, self.number, 1)
        if self.kind == HALF:
            return date(self.year, 1 if self.number == 1 else 7, 1)
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        """The last day counted."""
        if self.kind == MONTH:
            return add_months(date(self.year, self.number, 1), 1) - timedelta(days=1)
        if self.kind == HALF:
            return date(self.year, 6, 30) if self.number == 1 else date(self.year, 12, 31)
        return date(self.year, 12, 31)

    @property
    def last_month(self) -> date:
        """The first day of the period's last month."""
        return self.last_day.replace(day=1)

    @property
    def as_of(self) -> datetime:
        """The moment counted, in UTC without zone (as the database stores moments)."""
        return end_of(self.last_day)

    def previous(self) -> Period:
        """The period before, of the same kind (October → September, H1 → last year's H2)."""
        if self.kind == MONTH:
            before = add_months(self.first_day, -1)
            return Period(MONTH, before.year, before.month)
        if self.kind == HALF:
            return Period(HALF, self.year, 1) if self.number == 2 else Period(HALF, self.year - 1, 2)
        return Period(YEAR, self.year - 1, 1)

    @property
    def label(self) -> str:
        """`Tháng 10/2026`, `6 tháng đầu năm 2026`, `6 tháng cuối năm 2026`, `Năm 2026`, in the reader's
        language."""
        if self.kind == MONTH:
            return _("Tháng %(month)02d/%(year)d", month=self.number, year=self.year)
        if self.kind == HALF:
            if self.number == 1:
                return _("6 tháng đầu năm %(year)d", year=self.year)
            return _("6 tháng cuối năm %(year)d", year=self.year)
        return _("Năm %(year)d", year=self.year)


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s (before, when negative)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def end_of(day: date) -> datetime:
    """Midnight after `day` at the commune office, in UTC without zone."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=DISPLAY_TZ)
    return local.astimezone(timezone.utc).replace(tzinfo=None)
