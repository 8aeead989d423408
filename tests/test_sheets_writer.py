"""The one writer: text from people stays text, numbers and dates stay themselves, rejected rows
go back exactly as they came, and the template reads back through the reader."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from cases.sheets.reader import read_table
from cases.sheets.writer import SheetSpec, cell, rejected_workbook, template_workbook, text_cell, workbook_bytes
from tests.test_sheets_reader import FIXTURES, MERGES, MESS, REQUIRED, ods, xlsx

FORMULAS = ['=HYPERLINK("http://x.example/","Bấm vào đây")', "+1", "-2", "@SUM(A1)", "=1+1", "\t=2+2"]


def opened(data: bytes):
    return load_workbook(io.BytesIO(data))


def test_text_that_looks_like_a_formula_is_written_as_text():
    data = workbook_bytes([SheetSpec(title="Danh sách", heading_lines=[], header=["Họ và tên"],
                                     rows=[(text,) for text in FORMULAS])])

    cells = [row[0] for row in opened(data)["Danh sách"].iter_rows(min_row=2)]
    assert [c.value for c in cells] == FORMULAS
    assert all(c.data_type == "s" for c in cells)
    assert all(c.quotePrefix for c in cells)


def test_text_cell_removes_illegal_control_characters_and_keeps_the_rest():
    sheet = Workbook(write_only=True).create_sheet("x")

    made = text_cell(sheet, "Hoàng\x00 Văn\x0b Thụ\nThôn Pò Cại")

    assert made.value == "Hoàng Văn Thụ\nThôn Pò Cại" and made.data_type == "s"
    assert text_cell(sheet, None) is None
    assert text_cell(sheet, 12).value == "12" and text_cell(sheet, 12).data_type == "s"


def test_numbers_stay_numbers_and_dates_stay_dates():
    rows = [(1, 750000, 2.5, Decimal("1500000"), True, date(1950, 3, 2), datetime(2025, 7, 1, 8, 30), "020150000123")]
    data = workbook_bytes([SheetSpec(title="DS", heading_lines=["ỦY BAN NHÂN DÂN XÃ BÌNH GIA"], header=list("ABCDEFGH"),
                                     rows=rows, number_formats=[None, "#,##0"])])

    sheet = opened(data)["DS"]
    values = [c.value for c in sheet[3]]
    assert values[:5] == [1, 750000, 2.5, 1500000, True]
    assert values[5] == datetime(1950, 3, 2) and sheet["F3"].number_format == "dd/mm/yyyy"
    assert values[6] == datetime(2025, 7, 1, 8, 30) and sheet["G3"].number_format == "dd/mm/yyyy hh:mm"
    assert values[7] == "020150000123" and sheet["H3"].data_type == "s"      # an ID keeps its zero: text
    assert sheet["B3"].number_format == "#,##0"
    assert [c.data_type for c in sheet[3]][:3] == ["n", "n", "n"]


def test_a_sheet_has_its_heading_lines_in_bold_then_its_header_and_widths():
    data = workbook_bytes([SheetSpec(title="Đề nghị xác thực: tháng 7/2025", heading_lines=["Xã Bình Gia", "DANH SÁCH"],
                                     header=["STT", "Họ và tên"], rows=iter([(1, "Hoàng Văn Thụ")]),
                                     column_widths=[6, 28])])

    book = opened(data)
    sheet = book.worksheets[0]
    assert sheet.title == "Đề nghị xác thực tháng 7 2025"     # no ":" or "/" in a sheet name
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["Xã Bình Gia", None], ["DANH SÁCH", None], ["STT", "Họ và tên"], [1, "Hoàng Văn Thụ"]]
    assert sheet["A1"].font.b and sheet["B3"].font.b and not sheet["B4"].font.b
    assert sheet.column_dimensions["B"].width == 28
    assert sheet.freeze_panes == "A4"


def test_cell_leaves_plain_values_plain_and_empties_empty():
    sheet = Workbook(write_only=True).create_sheet("x")

    assert cell(sheet, "Hoàng Văn Thụ") == "Hoàng Văn Thụ"
    assert cell(sheet, 5) == 5
    assert cell(sheet, None) is None and cell(sheet, "") is None
    assert cell(sheet, "=1+1").data_type == "s"


@pytest.mark.parametrize("source", ["xlsx", "xls", "ods"])
def test_the_rejected_workbook_gives_back_the_rows_exactly_as_they_came(source):
    data = {"xlsx": lambda: xlsx(MESS, MERGES), "ods": lambda: ods(MESS, MERGES),
            "xls": lambda: (FIXTURES / "messy-list.xls").read_bytes()}[source]()
    table = read_table(data, f"danh-sach.{source}", "beneficiaries", REQUIRED)
    first, _second, third = table.rows

    out = rejected_workbook(table, [(first, ["Số CCCD không đúng.", "Thiếu thôn."]), (third, ["Trùng CCCD."])],
                            "Lý do không nhập được")

    sheet = opened(out).active
    assert sheet.title == table.sheet
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["STT", "Họ và tên", "Ngày, tháng, năm sinh", "Giới tính", "Số CCCD/ĐDCN", "Thôn/bản",
                       "Mức trợ cấp (đồng)", "Thông tin tài khoản", None, "Ghi chú", "Lý do không nhập được"]
    assert rows[1] == [None] * 7 + ["Ngân hàng", "Số tài khoản", None, None]
    assert rows[2] == [1, "Hoàng Văn Thụ", datetime(1950, 3, 2), "Nam", 20150000123, "Pò Cại", "1.500.000",
                       "Agribank", "8888000111", None, "Số CCCD không đúng.; Thiếu thôn."]
    assert rows[3] == [3, "HOÀNG VĂN AN", 1945, "nam", 20145000333, "Pò Cại", "1,080,000", "BIDV", 1234567890, None,
                       "Trùng CCCD."]
    assert sheet["C3"].is_date and sheet["E3"].data_type == "n" and sheet["I3"].data_type == "s"


def test_rejected_rows_read_back_through_the_reader_to_the_same_values():
    table = read_table(xlsx(MESS, MERGES), "danh-sach.xlsx", "beneficiaries", REQUIRED)

    again = read_table(rejected_workbook(table, [(row, ["x"]) for row in table.rows], "Lý do"), "tra-lai.xlsx",
                       "beneficiaries", REQUIRED)

    assert [row.values for row in again.rows] == [row.values for row in table.rows]
    assert again.ignored == ["Lý do"]


def test_a_formula_in_a_rejected_row_stays_text():
    book = Workbook()
    book.active.append(["Họ và tên", "Ngày sinh"])
    book.active.append(["", "1950"])
    book.active["A2"].value, book.active["A2"].data_type = '=HYPERLINK("http://x.example")', "s"   # text, as typed
    source = io.BytesIO()
    book.save(source)
    table = read_table(source.getvalue(), "a.xlsx", "beneficiaries", REQUIRED)
    assert table.rows[0].values["full_name"] == '=HYPERLINK("http://x.example")'

    sheet = opened(rejected_workbook(table, [(table.rows[0], ["Tên lạ"])], "Lý do")).active

    assert sheet["A2"].value == '=HYPERLINK("http://x.example")' and sheet["A2"].data_type == "s"


def test_the_template_has_the_list_and_its_instructions_and_reads_back():
    header = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Mức trợ cấp"]
    examples = [(1, "Hoàng Văn Thụ", "02/03/1950", "Nam", "020150000123", 750000)]
    instructions = ["Mỗi người một dòng.", "Ngày sinh ghi dạng ngày/tháng/năm, ví dụ 02/03/1950."]

    data = template_workbook("DANH SÁCH ĐỐI TƯỢNG HƯỞNG TRỢ CẤP HÀNG THÁNG", header, examples, instructions)

    book = opened(data)
    assert book.sheetnames == ["Danh sách", "Hướng dẫn"]
    assert [[c.value for c in row] for row in book["Danh sách"].iter_rows()][:3] == [
        ["DANH SÁCH ĐỐI TƯỢNG HƯỞNG TRỢ CẤP HÀNG THÁNG"] + [None] * 5, header, list(examples[0])]
    assert [row[0].value for row in book["Hướng dẫn"].iter_rows()][1:] == instructions
    table = read_table(data, "mau.xlsx", "beneficiaries", REQUIRED)
    assert table.header_rows == (2,)
    assert [row.values["full_name"] for row in table.rows] == ["Hoàng Văn Thụ"]
