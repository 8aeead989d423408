"""Reading one cell as its field, the way communes write it; a refusal says what is wrong."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from cases.models.case import Sex
from cases.sheets.values import (BadValue, as_amount, as_date, as_flag, as_month, as_national_id, as_sex,
                                 as_text)

EMPTY = [None, "", "   ", "\n"]


@pytest.mark.parametrize("parse", [as_text, as_date, as_month, as_national_id, as_amount, as_sex])
@pytest.mark.parametrize("cell", EMPTY)
def test_an_empty_cell_is_none(parse, cell):
    assert parse(cell) is None


@pytest.mark.parametrize("cell, expected", [
    ("  Hoàng Văn Thụ ", "Hoàng Văn Thụ"), (12.0, "12"), (12, "12"), (1.5, "1.5"), (date(2025, 7, 1), "01/07/2025"),
    ("=HYPERLINK(\"x\")", "=HYPERLINK(\"x\")"),
])
def test_as_text(cell, expected):
    assert as_text(cell) == expected


@pytest.mark.parametrize("cell, expected", [
    (date(1950, 3, 2), (date(1950, 3, 2), False)),
    (datetime(1950, 3, 2, 0, 0), (date(1950, 3, 2), False)),
    ("02/03/1950", (date(1950, 3, 2), False)),
    ("2/3/1950", (date(1950, 3, 2), False)),
    ("02-03-1950", (date(1950, 3, 2), False)),
    ("02.03.1950", (date(1950, 3, 2), False)),
    (" 1950-03-02 ", (date(1950, 3, 2), False)),
    ("02/03/1950 00:00:00", (date(1950, 3, 2), False)),
    (1945, (date(1945, 1, 1), True)),
    (1945.0, (date(1945, 1, 1), True)),
    ("1945", (date(1945, 1, 1), True)),
    (18324, (date(1950, 3, 2), False)),           # an Excel day serial
    (18324.75, (date(1950, 3, 2), False)),
    (61, (date(1900, 3, 1), False)),
    (1, (date(1900, 1, 1), False)),
])
def test_as_date(cell, expected):
    assert as_date(cell) == expected


@pytest.mark.parametrize("cell, message", [
    ("31/02/1950", "Ngày «31/02/1950» không có thật."),
    ("02/03/50", "không đúng dạng ngày/tháng/năm"),
    ("mùng 2 tháng 3", "không đúng dạng ngày/tháng/năm"),
    (True, "không đúng dạng ngày/tháng/năm"),
    (-5, "không đúng dạng ngày/tháng/năm"),
    ("3000", "không đúng dạng ngày/tháng/năm"),
])
def test_as_date_refuses_what_is_no_date(cell, message):
    with pytest.raises(BadValue) as refused:
        as_date(cell)
    assert message in refused.value.message


@pytest.mark.parametrize("cell, expected", [
    (date(2025, 7, 15), date(2025, 7, 1)),
    (datetime(2025, 7, 15, 8, 0), date(2025, 7, 1)),
    ("07/2025", date(2025, 7, 1)),
    ("7/2025", date(2025, 7, 1)),
    ("07-2025", date(2025, 7, 1)),
    ("07.2025", date(2025, 7, 1)),
    ("tháng 3/2025", date(2025, 3, 1)),
    ("Tháng 03/2025", date(2025, 3, 1)),
    ("tháng 3 năm 2025", date(2025, 3, 1)),
    ("2025-07", date(2025, 7, 1)),
    ("15/07/2025", date(2025, 7, 1)),
    (3.2025, date(2025, 3, 1)),                    # "03.2025" typed, made a number by Excel
    (10.2025, date(2025, 10, 1)),
    (45853, date(2025, 7, 15).replace(day=1)),    # a day serial
])
def test_as_month(cell, expected):
    assert as_month(cell) == expected


@pytest.mark.parametrize("cell", ["13/2025", "2025", "tháng bảy", 2025, "31/02/2025", True])
def test_as_month_refuses_what_is_no_month(cell):
    with pytest.raises(BadValue) as refused:
        as_month(cell)
    assert refused.value.message.startswith(("Tháng «", "Ngày «"))


@pytest.mark.parametrize("cell, expected", [
    (20150000123, "020150000123"),                 # a number cell lost its leading zero
    (20150000123.0, "020150000123"),
    (1148000222, "001148000222"),                  # ... or two
    (201500001, "000201500001"),                   # nine digits: padded too
    (20150000123456, "20150000123456"),            # too long: left for check_national_id to refuse
    (12345678, "12345678"),                        # too short to have been an ID: not padded
    ("020150000123", "020150000123"),
    ("0201 5000 0123", "020150000123"),
    ("020.150.000.123", "020150000123"),
    ("20150000123", "20150000123"),                # text keeps what it says: no padding
    ("'020150000123", "020150000123"),
])
def test_as_national_id(cell, expected):
    assert as_national_id(cell) == expected


@pytest.mark.parametrize("cell", ["02015000012A", "020-150-000-123", 2.015e10 + 0.5, -20150000123, True, "０２０"])
def test_as_national_id_refuses_what_is_not_digits(cell):
    with pytest.raises(BadValue) as refused:
        as_national_id(cell)
    assert "chỉ được gồm chữ số" in refused.value.message


@pytest.mark.parametrize("cell, expected", [
    ("1.500.000", 1_500_000), ("1,500,000", 1_500_000), ("1 500 000", 1_500_000), ("1\u00a0500\u00a0000", 1_500_000),
    ("1.500.000 đ", 1_500_000), ("1500000đ", 1_500_000), ("1.500.000 VNĐ", 1_500_000), ("1.500.000 đồng", 1_500_000),
    ("750000", 750_000), ("1.500", 1_500), ("1.500.000,00", 1_500_000), (750000, 750_000), (750000.0, 750_000),
    ("0", 0),
])
def test_as_amount(cell, expected):
    assert as_amount(cell) == expected


@pytest.mark.parametrize("cell, message", [
    ("1.500.000,5", "có phần lẻ dưới một đồng"),
    ("1,5", "có phần lẻ dưới một đồng"),
    (750000.5, "có phần lẻ dưới một đồng"),
    ("-750.000", "không được âm"),
    (-1, "không được âm"),
    ("một triệu", "không đọc được"),
    ("1.500.00", "không đọc được"),
    ("1.500,000.00", "không đọc được"),
    (True, "không đọc được"),
])
def test_as_amount_refuses_fractions_negatives_and_words(cell, message):
    with pytest.raises(BadValue) as refused:
        as_amount(cell)
    assert message in refused.value.message


@pytest.mark.parametrize("cell, expected", [
    ("Nam", Sex.MALE), ("nam", Sex.MALE), ("NAM", Sex.MALE), ("M", Sex.MALE), ("male", Sex.MALE),
    ("Nữ", Sex.FEMALE), ("nữ", Sex.FEMALE), ("nu", Sex.FEMALE), ("nư", Sex.FEMALE), ("NỮ", Sex.FEMALE),
    ("F", Sex.FEMALE), ("Female", Sex.FEMALE),
])
def test_as_sex(cell, expected):
    assert as_sex(cell) is expected


@pytest.mark.parametrize("cell", ["Khác", "x", 1, True])
def test_as_sex_refuses_anything_else(cell):
    with pytest.raises(BadValue) as refused:
        as_sex(cell)
    assert "hãy ghi «Nam» hoặc «Nữ»" in refused.value.message


@pytest.mark.parametrize("cell, expected", [
    ("x", True), ("X", True), ("có", True), ("Có", True), ("co", True), (1, True), (1.0, True), ("1", True),
    ("yes", True), (True, True),
    (None, False), ("", False), ("  ", False), ("không", False), ("khong", False), (0, False), ("0", False),
    (False, False),
])
def test_as_flag(cell, expected):
    assert as_flag(cell) is expected


@pytest.mark.parametrize("cell", ["có lẽ", 2, "?"])
def test_as_flag_refuses_anything_else(cell):
    with pytest.raises(BadValue) as refused:
        as_flag(cell)
    assert "hãy ghi «x» nếu có" in refused.value.message
