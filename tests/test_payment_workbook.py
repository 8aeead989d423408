"""A provider's payment-list workbook (issue 18, item 2): lines built by hand, the file opened again.

Sheet 1 holds the lines paid (a removed line is not paid, so not there), personal text as text
cells (an ID or account number keeps its leading zeros, a name typed as a formula stays text),
money as numbers formatted `#,##0`, and a control-totals block equal to the sums of the lines.
Sheet 2 lists the differences against last month with their reasons in words; sheet 3 sums per
commune and policy group. A provider's layout renames headings.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from bench.payments import measure_payment_workbook
from cases.models.payments import LineChange
from cases.payments.workbook import (COLUMNS, PAYMENT_LIST_COLUMNS, REASON_LABELS, ListHeader, LineRow,
                                     payment_list_workbook)

FORMULA_NAME = '=HYPERLINK("http://lua.example","Bấm vào đây")'
BINH_GIA, TAN_VAN, HOA_THAM = "Xã Bình Gia", "Xã Tân Văn", "Xã Hoa Thám"


def _line(case_id, name, national_id, commune, group, account, monthly, arrears=0, change="same", reason=None,
          in_cash=False, removed=False) -> LineRow:
    return LineRow(case_id=case_id, full_name=name, national_id=national_id, commune_name=commune,
                   policy_group=group, in_cash=in_cash, account_holder_name=None if in_cash else name,
                   account_number=account, monthly_amount=0 if removed else monthly,
                   arrears_amount=0 if removed else arrears, amount=0 if removed else monthly + arrears,
                   change=change, reason=reason)


LINES = (
    _line(101, "Lương Văn Tư", "012345678901", BINH_GIA, "btxh", "0012345678", 500_000, change="new",
          reason="new_account"),
    _line(102, FORMULA_NAME, "020304050607", BINH_GIA, "btxh", "1234567890", 750_000),
    _line(103, "Nông Thị Hoa", "003456789012", TAN_VAN, "ncc", None, 2_055_000, in_cash=True),
    _line(104, "Hoàng Văn Sơn", "004567890123", TAN_VAN, "btxh", "0987654321", 500_000, arrears=1_000_000,
          change="new", reason="resumed"),
    _line(105, "Vi Thị Lan", "005678901234", HOA_THAM, "ncc", "5555000011", 1_500_000, change="removed",
          reason="suspended", removed=True),
    _line(106, "Chu Đức Thắng", "006789012345", HOA_THAM, "ncc", "0000123456", 2_789_000,
          change=LineChange.ACCOUNT_CHANGED),                  # the enum itself will do too
    _line(107, "Đinh Thị Mai", "007890123456", BINH_GIA, "ncc", "7777000022", 1_800_000, change="amount_changed"),
)
PAID = [line for line in LINES if line.amount > 0]


def _sums(lines, group=None) -> tuple[int, int]:
    chosen = [line for line in lines if line.amount > 0 and group in (None, line.policy_group)]
    return len(chosen), sum(line.amount for line in chosen)


def _header(**changes) -> ListHeader:
    totals = {key: dict(zip(("count", "amount"), _sums(LINES, None if key == "all" else key)))
              for key in ("btxh", "ncc", "all")}
    header = ListHeader(list_id=42, provider_name="Agribank chi nhánh Lạng Sơn", provider_short_name="AGRIBANK-LS",
                        province_name="Tỉnh Lạng Sơn", month=date(2026, 12, 1), cut_off_at=datetime(2026, 11, 30, 10),
                        signed_by="Hoàng Văn Sơn", signed_at=datetime(2026, 12, 1, 2, 30), totals=totals)
    return replace(header, **changes)


def _book(layout=None, lines=LINES, header=None):
    return load_workbook(BytesIO(payment_list_workbook(header or _header(), lines, layout)))


def _table(sheet, first_heading: str):
    """The heading row (cells) starting with `first_heading`, and the rows under it up to a blank row."""
    rows = list(sheet.iter_rows())
    at = next(n for n, row in enumerate(rows) if row[0].value == first_heading)
    body = []
    for row in rows[at + 1:]:
        if all(c.value is None for c in row):
            break
        body.append(row)
    return rows[at], body


def _by_key(row) -> dict:
    return dict(zip(PAYMENT_LIST_COLUMNS, row))


def test_sheet_one_lists_the_lines_paid_with_text_as_text_and_money_as_numbers():
    book = _book()
    assert book.sheetnames == ["Danh sách chi trả", "Thay đổi", "Tổng hợp"]
    sheet = book["Danh sách chi trả"]
    titles = [sheet.cell(row=n, column=1).value for n in range(1, 6)]
    assert titles[:3] == ["Agribank chi nhánh Lạng Sơn (AGRIBANK-LS)", "Tỉnh Lạng Sơn",
                          "DANH SÁCH CHI TRẢ THÁNG 12/2026"]
    assert titles[3] == "Số liệu chốt lúc 30/11/2026 17:00 · Danh sách số 42"     # UTC+7
    assert titles[4] == "Ký duyệt: Hoàng Văn Sơn, lúc 01/12/2026 09:30"
    heading, body = _table(sheet, "STT")
    assert [c.value for c in heading] == ["STT", "Mã hồ sơ", "Họ và tên", "Số CCCD", "Xã/phường", "Chủ tài khoản",
                                          "Số tài khoản", "Mức trợ cấp tháng (đồng)", "Truy lĩnh (đồng)",
                                          "Số tiền chi trả (đồng)", "Nhóm", "Thay đổi so với tháng trước"]
    rows = [_by_key(row) for row in body]
    # The removed line (105) is not paid: not on this sheet.
    assert [r["case_id"].value for r in rows] == [101, 102, 103, 104, 106, 107]
    assert [r["stt"].value for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [(r["monthly_amount"].value, r["arrears_amount"].value, r["amount"].value) for r in rows] == [
        (line.monthly_amount, line.arrears_amount, line.amount) for line in PAID]
    first, formula, cash, resumed = rows[0], rows[1], rows[2], rows[3]
    assert (first["national_id"].value, first["national_id"].data_type) == ("012345678901", "s")
    assert (first["account_number"].value, first["account_number"].data_type) == ("0012345678", "s")
    assert (first["full_name"].value, first["full_name"].data_type) == ("Lương Văn Tư", "s")
    assert first["change"].value == "Mới" and first["policy_group"].value == "BTXH"
    assert (formula["full_name"].value, formula["full_name"].data_type) == (FORMULA_NAME, "s")
    assert formula["full_name"].quotePrefix and formula["change"].value is None
    assert cash["account_number"].value is None and cash["account_holder_name"].value is None
    assert cash["policy_group"].value == "NCC"
    assert [(resumed[k].value, resumed[k].data_type, resumed[k].number_format)
            for k in ("monthly_amount", "arrears_amount", "amount")] == [
        (500_000, "n", "#,##0"), (1_000_000, "n", "#,##0"), (1_500_000, "n", "#,##0")]
    assert {r["change"].value for r in rows[4:]} == {"Đổi tài khoản", "Đổi mức chi trả"}


@pytest.mark.parametrize("typed, kept", [
    ("#N/A", "#N/A"),                       # would be an error cell
    ("+84 912 345 678", "+84 912 345 678"),
    ("@SUM(A1)", "@SUM(A1)"),
    ("-", "-"),
    ("0001", "0001"),
    ("Nguyễn\x07 Văn A", "Nguyễn Văn A"),   # a control character no sheet may hold
])
def test_odd_text_from_people_stays_text(typed, kept):
    lines = [replace(LINES[0], full_name=typed, account_holder_name=typed, national_id=typed, account_number=typed)]
    _, body = _table(_book(lines=lines, header=_header(totals={}))["Danh sách chi trả"], "STT")
    row = _by_key(body[0])
    for key in ("full_name", "account_holder_name", "national_id", "account_number"):
        assert (row[key].value, row[key].data_type) == (kept, "s"), key


@pytest.mark.parametrize("typed", ["=1+1", "+84 912 345 678", "@SUM(A1)", "-", " Lê & <Văn> ", "#N/A", "0001"])
def test_text_from_people_reads_back_exactly_as_typed_in_both_readers(typed):
    """The app's own importer reads with python-calamine: a provider's file sent back must give the
    same text, on both sheets of lines; one that begins like a formula is quote-prefixed for Excel."""
    lines = [replace(LINES[0], full_name=typed, account_number=typed)]
    data = payment_list_workbook(_header(totals={}), lines)
    book = load_workbook(BytesIO(data))
    calamine = CalamineWorkbook.from_filelike(BytesIO(data))
    for title, name_column, account_column in (("Danh sách chi trả", 2, 6), ("Thay đổi", 2, 7)):
        _, body = _table(book[title], "STT")
        name, account = body[0][name_column], body[0][account_column]
        assert (name.value, name.data_type, account.value, account.data_type) == (typed, "s", typed, "s"), title
        assert name.quotePrefix == typed.startswith(("=", "+", "-", "@")), title
        read = calamine.get_sheet_by_name(title).to_python()
        assert (read[name.row - 1][name_column], read[name.row - 1][account_column]) == (typed, typed), title


def test_every_sheet_reads_the_same_in_openpyxl_and_calamine():
    """Every row the same in both readers (calamine sizes a sheet by the range it declares), money
    and counts as numbers, IDs and accounts as text with their zeros."""
    first = [replace(line, change="new", reason="first_list") for line in LINES if line.amount > 0]
    for lines in (LINES, first):
        data = payment_list_workbook(_header(), lines)
        calamine = CalamineWorkbook.from_filelike(BytesIO(data))
        for sheet in load_workbook(BytesIO(data)):
            expected = [["" if value is None else value for value in row] for row in sheet.iter_rows(values_only=True)]
            assert calamine.get_sheet_by_name(sheet.title).to_python() == expected, sheet.title
        changes = calamine.get_sheet_by_name("Thay đổi").to_python()
        assert [row[3] for row in changes[8:]] == [line.national_id for line in lines if line.change != "same"]
        assert all(isinstance(row[10], float) for row in changes[8:])


def test_sheet_two_has_money_as_numbers_and_names_as_text():
    changed = [replace(line, full_name=FORMULA_NAME) if line.case_id == 106 else line for line in LINES]
    _, body = _table(_book(lines=changed)["Thay đổi"], "STT")
    assert {(c.data_type, c.number_format) for row in body for c in row[8:11]} == {("n", "#,##0")}
    renamed = next(row for row in body if row[1].value == 106)
    assert (renamed[2].value, renamed[2].data_type, renamed[2].quotePrefix) == (FORMULA_NAME, "s", True)


def test_headings_stay_in_view_and_columns_keep_their_widths():
    book = _book()
    assert [sheet.freeze_panes for sheet in book] == ["A8", "A9", "A8"]
    lines_sheet = book["Danh sách chi trả"]
    assert [lines_sheet.column_dimensions[letter].width for letter in "ACGL"] == [6, 26, 19, 16]
    assert book["Thay đổi"].column_dimensions["M"].width == 38
    assert book["Tổng hợp"].column_dimensions["B"].width == 26


def test_no_cell_of_the_workbook_is_a_formula():
    book = _book()
    for sheet in book:
        assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"], sheet.title


def test_control_totals_after_the_rows_are_the_sums_of_the_lines_paid():
    sheet = _book()["Danh sách chi trả"]
    rows = list(sheet.iter_rows(values_only=True))
    at = next(n for n, row in enumerate(rows) if row[2] == "TỔNG KIỂM SOÁT")
    assert rows[at][2:5] == ("TỔNG KIỂM SOÁT", "Số người", "Số tiền (đồng)")
    block = {row[2]: row[3:5] for row in rows[at + 1:at + 4]}
    assert block == {"Bảo trợ xã hội (BTXH)": _sums(LINES, "btxh"), "Người có công (NCC)": _sums(LINES, "ncc"),
                     "Tổng cộng": _sums(LINES)}
    assert block["Tổng cộng"] == (6, 500_000 + 750_000 + 2_055_000 + 1_500_000 + 2_789_000 + 1_800_000)
    number_cells = [c for row in list(sheet.iter_rows())[at + 1:at + 4] for c in row[3:5]]
    assert {(c.data_type, c.number_format) for c in number_cells} == {("n", "#,##0")}


def test_totals_that_differ_from_the_lines_are_refused():
    wrong = _header(totals={"all": {"count": 6, "amount": 1}})
    with pytest.raises(ValueError, match="control totals of 'all'"):
        payment_list_workbook(wrong, LINES)
    with pytest.raises(ValueError, match="amount -1 on a new line"):
        payment_list_workbook(_header(totals={}), [replace(LINES[0], amount=-1)])
    with pytest.raises(ValueError, match="amount 5 on a removed line"):
        payment_list_workbook(_header(totals={}), [replace(LINES[4], amount=5)])


def test_sheet_two_lists_the_differences_with_their_reasons_in_words():
    sheet = _book()["Thay đổi"]
    assert sheet.cell(row=6, column=1).value == "Mới: 2 · Thôi khỏi danh sách: 1 · Đổi tài khoản: 1 · Đổi mức chi trả: 1"
    heading, body = _table(sheet, "STT")
    assert [c.value for c in heading][-2:] == ["Thay đổi so với tháng trước", "Lý do"]
    found = [(row[1].value, row[2].value, row[11].value, row[12].value) for row in body]
    assert found == [
        (101, "Lương Văn Tư", "Mới", "Mở tài khoản mới"),
        (104, "Hoàng Văn Sơn", "Mới", "Tiếp tục hưởng sau tạm dừng (có truy lĩnh)"),
        (105, "Vi Thị Lan", "Thôi khỏi danh sách", "Tạm dừng hưởng"),
        (106, "Chu Đức Thắng", "Đổi tài khoản", "Số tài khoản nhận tiền thay đổi"),
        (107, "Đinh Thị Mai", "Đổi mức chi trả", "Mức trợ cấp tháng hoặc truy lĩnh thay đổi"),
    ]
    removed = body[2]
    assert (removed[3].value, removed[3].data_type) == ("005678901234", "s")
    assert (removed[10].value, removed[10].data_type) == (0, "n")


@pytest.mark.parametrize("reason, words", [
    ("terminated", "Thôi hưởng"),
    ("switched_to_cash", "Chuyển sang nhận tiền mặt"),
    ("moved_provider", "Chuyển tổ chức chi trả"),
    ("suspended,moved_provider", "Tạm dừng hưởng; Chuyển tổ chức chi trả"),
    ("a_code_not_known", "a_code_not_known"),
])
def test_a_removed_line_says_why_in_words(reason, words):
    lines = [replace(LINES[4], reason=reason)]
    _, body = _table(_book(lines=lines, header=_header(totals={}))["Thay đổi"], "STT")
    assert [row[12].value for row in body] == [words]


def test_reason_labels_cover_the_codes_of_the_list():
    assert set(REASON_LABELS) >= {"new_account", "resumed", "suspended", "terminated", "switched_to_cash",
                                  "moved_provider", "first_list"}
    assert COLUMNS is PAYMENT_LIST_COLUMNS and len(set(COLUMNS)) == 12


def test_a_providers_layout_renames_its_headings_and_nothing_else():
    layout = {"account_number": "Số TK", "full_name": "Tên khách hàng", "not_a_column": "x", "commune": "  "}
    book = _book(layout)
    heading, body = _table(book["Danh sách chi trả"], "STT")
    assert [c.value for c in heading] == ["STT", "Mã hồ sơ", "Tên khách hàng", "Số CCCD", "Xã/phường",
                                          "Chủ tài khoản", "Số TK", "Mức trợ cấp tháng (đồng)", "Truy lĩnh (đồng)",
                                          "Số tiền chi trả (đồng)", "Nhóm", "Thay đổi so với tháng trước"]
    assert body[0][6].value == "0012345678"
    changes_heading, _ = _table(book["Thay đổi"], "STT")
    assert "Số TK" in [c.value for c in changes_heading]


def test_sheet_three_sums_per_commune_and_policy_group():
    sheet = _book()["Tổng hợp"]
    heading, body = _table(sheet, "STT")
    assert [c.value for c in heading] == ["STT", "Xã/phường", "Số người BTXH", "Số tiền BTXH (đồng)", "Số người NCC",
                                          "Số tiền NCC (đồng)", "Tổng số người", "Tổng số tiền (đồng)"]
    found = {row[1].value: tuple(c.value for c in row[2:]) for row in body}
    expected = {}
    for commune in (BINH_GIA, TAN_VAN, HOA_THAM):
        mine = [line for line in PAID if line.commune_name == commune]
        expected[commune] = (*_sums(mine, "btxh"), *_sums(mine, "ncc"), *_sums(mine))
    expected["Tổng cộng"] = (*_sums(LINES, "btxh"), *_sums(LINES, "ncc"), *_sums(LINES))
    assert found == expected
    assert found[HOA_THAM] == (0, 0, 1, 2_789_000, 1, 2_789_000)      # the removed line counts for nothing
    assert [row[1].value for row in body] == [BINH_GIA, HOA_THAM, TAN_VAN, "Tổng cộng"]
    assert {(c.data_type, c.number_format) for row in body for c in row[2:]} == {("n", "#,##0")}


def test_the_same_list_gives_the_same_bytes_whatever_the_clock():
    once = payment_list_workbook(_header(), LINES)
    again = payment_list_workbook(_header(), iter(LINES))
    assert once == again
    assert payment_list_workbook(_header(signed_at=datetime(2026, 12, 2, 3)), LINES) != once


def test_an_unsigned_list_says_so():
    sheet = _book(header=_header(signed_by=None, signed_at=None))["Danh sách chi trả"]
    assert sheet.cell(row=5, column=1).value == "Chưa ký duyệt"


@pytest.mark.bench
def test_the_benchmark_measures_both_writes(app):
    figures = measure_payment_workbook(app, rows=300)
    assert set(figures) == {"payment_list_workbook_100k_s", "payment_list_workbook_bare_s",
                            "payment_list_workbook_ratio", "payment_list_workbook_rows"}
    assert figures["payment_list_workbook_100k_s"] > 0 and figures["payment_list_workbook_bare_s"] > 0
    assert figures["payment_list_workbook_rows"] == 300


def test_a_first_list_has_every_line_new_on_sheet_two():
    first = [replace(line, change="new", reason="first_list") for line in PAID]
    sheet = _book(lines=first)["Thay đổi"]
    _, body = _table(sheet, "STT")
    assert [row[1].value for row in body] == [line.case_id for line in PAID]
    assert {row[12].value for row in body} == {"Danh sách đầu tiên của tổ chức chi trả"}
    assert [(row[8].value, row[9].value, row[10].value) for row in body] == [
        (line.monthly_amount, line.arrears_amount, line.amount) for line in PAID]


def test_dates_follow_the_language_asked_for():
    english = load_workbook(BytesIO(payment_list_workbook(_header(), LINES, language="en")))
    assert "Dec 2026" in english.worksheets[0].cell(row=3, column=1).value
    assert "30 Nov 2026 17:00" in english.worksheets[0].cell(row=4, column=1).value
