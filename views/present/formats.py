"""Dates, months, times, numbers and money in the reader's locale (Vietnamese by default).

Vietnamese: `01/12/2026`, `12/2026`, `01/12/2026 14:05`, `500.000 đ`. English: `01 Dec 2026`,
`Dec 2026`, `01 Dec 2026 14:05`, `VND 500,000`. Times are shown in Asia/Ho_Chi_Minh.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import format_number, format_percent

from cases.changes import reader_language, to_local, written



def _as_date(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:   # a payload or an audit record keeps dates as ISO strings
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def vn_date(value) -> str:
    """A day: `01/12/2026` (vi), `01 Dec 2026` (en); empty for no date."""
    day = _as_date(value)
    return written(day, "day", reader_language()) if day else ""


def vn_month(value) -> str:
    """A month: `12/2026` (vi), `Dec 2026` (en); empty for no date."""
    day = _as_date(value)
    return written(day, "month", reader_language()) if day else ""


def vn_datetime(value: datetime | None) -> str:
    """A moment stored in UTC, shown at the commune office's time: `01/12/2026 14:05`."""
    if not isinstance(value, datetime):
        return ""
    local = to_local(value)
    return f"{vn_date(local)} {local:%H:%M}"


def number(value) -> str:
    """`1.234` (vi), `1,234` (en)."""
    return format_decimal(value, locale=reader_language()) if value is not None else ""


def money(value) -> str:
    """An amount in whole đồng: `500.000 đ` (vi), `VND 500,000` (en)."""
    if value is None or value == "":
        return ""
    shown = number(int(value))
    return f"VND {shown}" if reader_language() == "en" else f"{shown} đ"


def vn_number(value) -> str:
    """A count: `2.251` (vi), `2,251` (en); 0 for none."""
    return format_number(value or 0)


def vn_percent(value) -> str:
    """A fraction as a percent, a decimal only when there is one: `42%`, `42,5%`."""
    return format_percent(value or 0, "#,##0.#%")


def share_percent(share: Decimal | float | None) -> str:
    """A share already in percent (29.7), as the letters write it, one decimal: `29,7%` (vi),
    `29.7%` (en); a dash for none."""
    if share is None:
        return "—"
    return format_percent(Decimal(share) / 100, "#,##0.0%")
