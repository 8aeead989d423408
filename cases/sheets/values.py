"""Reading one raw cell as the value a field needs, the way communes actually write it.

Each parser returns None for an empty cell (as_flag: False) or raises `BadValue` saying, in
Vietnamese, what is wrong with the cell. Cells come as the reader gives them: str, int, float,
bool, date or datetime.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from cases.models.case import Sex
from cases.sheets.header import fold_header

EXCEL_EPOCH = date(1899, 12, 30)     # serial 1 is 1900-01-01, counting Excel's phantom 29 Feb 1900
YEARS = range(1900, 2101)            # a bare number in this range is a year, not a day serial
SHOWN = 40                           # characters of a cell quoted back in a message

_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_YEAR_MONTH_DAY = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_YEAR = re.compile(r"\d{4}")
# On folded text, where "/", "-" and "." are spaces.
_MONTH_YEAR = re.compile(r"(?:thang )?(\d{1,2}) (?:nam )?(\d{4})")
_YEAR_MONTH = re.compile(r"(\d{4}) (\d{1,2})")
_DAY_MONTH_YEAR_FOLDED = re.compile(r"(\d{1,2}) (\d{1,2}) (\d{4})")
_SPACES = re.compile(r"[\s\u00a0]+")
_CURRENCY = re.compile(r"(?:vnđ|vnd|đồng|dong|đ|d)\.?$", re.IGNORECASE)
_GROUPED = re.compile(r"\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*")
_DECIMAL = re.compile(r"(\d+|\d{1,3}(?:([.,])\d{3})(?:\2\d{3})*)([.,])(\d+)")

_MALE = frozenset({"nam", "m", "male", "nam gioi", "trai"})
_FEMALE = frozenset({"nu", "f", "female", "nu gioi", "gai"})
_YES = frozenset({"x", "co", "1", "yes", "true", "v"})
_NO = frozenset({"khong", "0", "no", "false"})


class BadValue(ValueError):
    """A cell that cannot be read as its field; the message says why, in Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def as_text(value) -> str | None:
    """The cell as text, trimmed; a whole number without its ".0", a date as dd/mm/yyyy."""
    if _empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (date, datetime)):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def as_date(value) -> tuple[date, bool] | None:
    """(the date, whether only its year was written). A date cell; text dd/mm/yyyy, d/m/yyyy,
    dd-mm-yyyy, dd.mm.yyyy or yyyy-mm-dd; a bare year (1900–2100) as 1 January; an Excel day
    serial. :raise BadValue: anything else, or a day that does not exist."""
    if _empty(value):
        return None
    if isinstance(value, datetime):
        return value.date(), False
    if isinstance(value, date):
        return value, False
    if isinstance(value, bool):
        raise _bad_date(value)
    if isinstance(value, (int, float)):
        if value == int(value) and int(value) in YEARS:
            return date(int(value), 1, 1), True
        return _serial(value), False
    text = str(value).strip()
    if _YEAR.fullmatch(text) and int(text) in YEARS:
        return date(int(text), 1, 1), True
    found = _DAY_MONTH_YEAR.fullmatch(text)
    if found:
        return _day(text, int(found[3]), int(found[2]), int(found[1])), False
    found = _YEAR_MONTH_DAY.fullmatch(text)
    if found:
        return _day(text, int(found[1]), int(found[2]), int(found[3])), False
    raise _bad_date(value)


def as_month(value) -> date | None:
    """The first day of the month written: a date cell, "mm/yyyy", "m-yyyy", "tháng 3/2025",
    "tháng 3 năm 2025", "yyyy-mm", a full date, or 3.2025 (typed "03.2025" and made a number by
    Excel). :raise BadValue: anything else."""
    if _empty(value):
        return None
    if isinstance(value, (date, datetime)):
        return date(value.year, value.month, 1)
    if isinstance(value, bool):
        raise _bad_month(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and 1 <= value < 13 and not value.is_integer():
            month, year = f"{value:.4f}".split(".")
            return _month(value, int(year), int(month))
        day = _serial(value) if value > max(YEARS) else None
        if day is None:
            raise _bad_month(value)
        return date(day.year, day.month, 1)
    text = fold_header(value)          # "tháng 3/2025" -> "thang 3 2025", "2025-07" -> "2025 07"
    found = _MONTH_YEAR.fullmatch(text)
    if found:
        return _month(value, int(found[2]), int(found[1]))
    found = _YEAR_MONTH.fullmatch(text)
    if found:
        return _month(value, int(found[1]), int(found[2]))
    found = _DAY_MONTH_YEAR_FOLDED.fullmatch(text)
    if found:
        day = _day(str(value), int(found[3]), int(found[2]), int(found[1]))
        return date(day.year, day.month, 1)
    raise _bad_month(value)


def as_national_id(value) -> str | None:
    """The ID number's digits. A number cell lost its leading zeros (Excel drops them): 9 to 11
    digits are padded back to 12. Text keeps its zeros and is not padded. The 12-digit structure
    is checked by `cases.checks.check_national_id`. :raise BadValue: not digits."""
    if _empty(value):
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise _bad_id(value)
    if isinstance(value, (int, float)):
        if value < 0:
            raise _bad_id(value)
        digits = str(int(value))
        return digits.zfill(12) if 9 <= len(digits) <= 11 else digits
    digits = re.sub(r"[\s\u00a0.]+", "", str(value)).lstrip("'")
    if not digits.isdigit() or not digits.isascii():
        raise _bad_id(value)
    return digits


def as_amount(value) -> int | None:
    """A sum in whole đồng: a number cell, or text with thousand separators and a currency
    ("1.500.000", "1,500,000", "1 500 000", "1.500.000 đ", "1500000đ").
    :raise BadValue: not a number, a fraction of a đồng, or negative."""
    if _empty(value):
        return None
    if isinstance(value, bool):
        raise _bad_amount(value)
    if isinstance(value, (int, float)):
        number = value
    else:
        number = _amount_text(value)
    if number < 0:
        raise BadValue(_("Số tiền «%(value)s» không được âm.", value=_shown(value)))
    if number != int(number):
        raise BadValue(_("Số tiền «%(value)s» có phần lẻ dưới một đồng.", value=_shown(value)))
    return int(number)


def as_sex(value) -> Sex | None:
    """Nam / Nữ in any case, with or without marks ("nu", "nư"), or M / F, male / female.
    :raise BadValue: anything else."""
    if _empty(value):
        return None
    folded = fold_header(value) if isinstance(value, str) else ""
    if folded in _MALE:
        return Sex.MALE
    if folded in _FEMALE:
        return Sex.FEMALE
    raise BadValue(_("Giới tính «%(value)s» không rõ: hãy ghi «Nam» hoặc «Nữ».", value=_shown(value)))


def as_flag(value) -> bool:
    """A tick: x, có, 1, yes, True are yes; an empty cell, không, 0, False are no.
    :raise BadValue: anything else."""
    if _empty(value):
        return False
    if isinstance(value, bool):
        return value
    folded = _number_text(value) if isinstance(value, (int, float)) else fold_header(value)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise BadValue(_("«%(value)s» không rõ: hãy ghi «x» nếu có, để trống nếu không.", value=_shown(value)))


# -- helpers

def _empty(value) -> bool:
    return value is None or value == "" or isinstance(value, str) and not value.strip()


def _shown(value) -> str:
    text = as_text(value) if not isinstance(value, bool) else str(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 1] + "…"


def _number_text(value: int | float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _serial(value: int | float) -> date:
    """An Excel day serial as its date (the time of day dropped)."""
    if not 1 <= value < 2_958_466:    # 31/12/9999
        raise _bad_date(value)
    days = int(value)
    return EXCEL_EPOCH + timedelta(days=days if days > 60 else days + 1)


def _day(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise BadValue(_("Ngày «%(value)s» không có thật.", value=_shown(text))) from None


def _month(value, year: int, month: int) -> date:
    if not 1 <= month <= 12 or year not in YEARS:
        raise _bad_month(value)
    return date(year, month, 1)


def _amount_text(value) -> float:
    text = _CURRENCY.sub("", _SPACES.sub("", str(value)))
    negative = text.startswith("-")
    text = text.removeprefix("-").removeprefix("+")
    if text.isdigit():
        number: float = int(text)
    elif _GROUPED.fullmatch(text):
        number = int(re.sub(r"[.,]", "", text))
    else:
        found = _DECIMAL.fullmatch(text)
        if not found or found[2] == found[3]:
            raise _bad_amount(value)
        number = int(re.sub(r"[.,]", "", found[1])) + int(found[4]) / 10 ** len(found[4])
    return -number if negative else number


def _bad_date(value) -> BadValue:
    return BadValue(_("Ngày «%(value)s» không đúng dạng ngày/tháng/năm (ví dụ 02/03/1950).", value=_shown(value)))


def _bad_month(value) -> BadValue:
    return BadValue(_("Tháng «%(value)s» không đúng dạng tháng/năm (ví dụ 07/2025).", value=_shown(value)))


def _bad_id(value) -> BadValue:
    return BadValue(_("Số CCCD «%(value)s» chỉ được gồm chữ số.", value=_shown(value)))


def _bad_amount(value) -> BadValue:
    return BadValue(_("Số tiền «%(value)s» không đọc được: hãy ghi số đồng, ví dụ 1.500.000.", value=_shown(value)))
