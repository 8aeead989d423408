"""Entry checks on a person's data, with the messages a commune officer reads."""
from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _

from cases.models.case import Sex
from cases.reference import id_province_prefixes

# Mobile prefixes in use since the 2018 renumbering (Viettel, VinaPhone, MobiFone, Vietnamobile,
# Gmobile, Itelecom, Reddi). Landlines are not accepted as a contact for payments.
MOBILE_PREFIXES = frozenset({
    "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098",
    "081", "082", "083", "084", "085", "088", "091", "094",
    "070", "076", "077", "078", "079", "089", "090", "093",
    "052", "056", "058", "092", "059", "099", "087", "055",
})

_TWELVE_DIGITS = re.compile(r"\d{12}")
_TEN_DIGITS = re.compile(r"\d{10}")


class CheckFailed(ValueError):
    """A value fails an entry check; the message is for the screen (Vietnamese)."""


def id_century_sex_digit(birth_year: int, sex: Sex) -> int:
    """Digit 4 of a CCCD: 0/1 for the 1900s (male/female), 2/3 for the 2000s, and so on."""
    century_index = (birth_year // 100 - 19) % 5
    return century_index * 2 + (1 if sex is Sex.FEMALE else 0)


def check_national_id(number: str, birth_date: date | None, sex: Sex | None) -> str:
    """Return the normalised ID number, or raise `CheckFailed` saying what is wrong.

    12 digits; digits 1–3 a known province code (the pre-2025 list, which an ID keeps for life);
    digit 4 the century and sex, digits 5–6 the birth year, both agreeing with the record.
    """
    number = (number or "").strip().replace(" ", "")
    if not _TWELVE_DIGITS.fullmatch(number):
        raise CheckFailed(_("Số CCCD phải gồm đúng 12 chữ số."))
    if number[:3] not in id_province_prefixes():
        raise CheckFailed(_("Mã tỉnh %(code)s ở 3 số đầu của CCCD không tồn tại.", code=number[:3]))
    if birth_date is not None and sex is not None:
        expected = id_century_sex_digit(birth_date.year, sex)
        digit = int(number[3])
        if digit // 2 != expected // 2:
            raise CheckFailed(_("Chữ số thứ 4 của CCCD (%(digit)s) không khớp với thế kỷ của năm sinh %(year)s.",
                                digit=digit, year=birth_date.year))
        if digit != expected:
            raise CheckFailed(_("Chữ số thứ 4 của CCCD (%(digit)s) không khớp với giới tính trong hồ sơ.", digit=digit))
        if number[4:6] != f"{birth_date.year % 100:02d}":
            raise CheckFailed(_("Chữ số thứ 5–6 của CCCD (%(digits)s) không khớp với năm sinh %(year)s.",
                                digits=number[4:6], year=birth_date.year))
    return number


def check_mobile(number: str) -> str:
    """Return the normalised 10-digit mobile number, or raise `CheckFailed`."""
    number = re.sub(r"[\s.\-]", "", number or "")
    if number.startswith("+84"):
        number = "0" + number[3:]
    if not _TEN_DIGITS.fullmatch(number):
        raise CheckFailed(_("Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0."))
    if number[:3] not in MOBILE_PREFIXES:
        raise CheckFailed(_("Đầu số %(prefix)s không phải đầu số di động đang dùng.", prefix=number[:3]))
    return number


def check_birth_date(value: date, today: date) -> date:
    if value > today:
        raise CheckFailed(_("Ngày sinh không được ở tương lai."))
    if value.year < 1900:
        raise CheckFailed(_("Năm sinh phải từ 1900 trở đi."))
    return value
