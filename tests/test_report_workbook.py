"""The report's workbook and CSV (issue 17): a Report built by hand, the files opened again.

The workbook is read back with openpyxl: the total's formulas are evaluated against the cells
they name and must give the stored totals; the sheet prints on A4 landscape with its header rows
repeated; numbers are number cells with their formats; a commune named like a formula stays text.
"""
from __future__ import annotations

import csv
import gc
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO, StringIO

import pytest
from openpyxl import load_workbook

from cases.reports.columns import BY_KEY, COLUMNS, projection_text, value
from cases.reports.csv_export import report_csv
from cases.reports.figures import ALREADY_MET, NO_TARGET, NOT_AT_THIS_PACE, Band, Counts, Report, Row, Target
from cases.reports.workbook import FIRST_DATA_COLUMN, FIRST_ROW, HEADER_TOP, report_workbook

TARGET = Target("all", 600, date(2026, 12, 31), False)
FORMULA_NAME = '=HYPERLINK("http://lua.example","Xã Lạ")'
LETTER = {column.key: n for n, column in enumerate(COLUMNS, FIRST_DATA_COLUMN)}


def _bands(btxh: Band | None, ncc: Band | None, together: Band | None) -> dict:
    return {"btxh": btxh, "ncc": ncc, "all": together}


def _row(commune_id, code, name, btxh, ncc, cash, suspended, met, bands, change, projected, target=TARGET) -> Row:
    return Row(commune_id=commune_id, code=code, name=name, btxh=btxh, ncc=ncc, paid_in_cash=cash,
               suspended=suspended, target=target, met=met, bands=bands, change=change, previous_share=None,
               projected=projected)


def build_report() -> Report:
    rows = (
        # 85 of 160 together: 53.1 %, behind the 60 % target.
        _row(1, "06112", "Xã Bình Gia", Counts(120, 80, 60), Counts(40, 30, 25), 70, 3, False,
             _bands(Band.HIGH, Band.HIGH, Band.HIGH), Decimal("2.5"), "2027-03"),
        # Beneficiaries, none paid through an account: not started.
        _row(2, "06115", "Xã Tân Văn", Counts(80, 10, 0), Counts(20, 5, 0), 97, 0, False,
             _bands(Band.NOT_STARTED, Band.NOT_STARTED, Band.NOT_STARTED), Decimal("0.0"), NOT_AT_THIS_PACE),
        # Nobody receiving: no share, no band, not judged.
        _row(3, "06118", "Xã Hoa Thám", Counts(), Counts(), 0, 2, None, _bands(None, None, None), None,
             NOT_AT_THIS_PACE),
        # Ba Tơ's figures (684 of 2,320 BTXH = 29.5 %, 443 of 1,492 NCC = 29.7 %), under a name typed as a formula.
        _row(4, "06121", FORMULA_NAME, Counts(2320, 1500, 684), Counts(1492, 900, 443), 2600, 11, False,
             _bands(Band.AVERAGE, Band.AVERAGE, Band.AVERAGE), Decimal("-1.2"), "2028-01"),
    )
    btxh = sum((r.btxh for r in rows), Counts())
    ncc = sum((r.ncc for r in rows), Counts())
    total = _row(None, "20", "Tỉnh Lạng Sơn", btxh, ncc, sum(r.paid_in_cash for r in rows),
                 sum(r.suspended for r in rows), False, _bands(Band.AVERAGE, Band.AVERAGE, Band.AVERAGE),
                 Decimal("0.4"), "2029-06")
    return Report(period="2026-10", unit_kind="province", unit_id=20, unit_code="20", unit_name="Tỉnh Lạng Sơn",
                  province_id=20, province_name="Tỉnh Lạng Sơn", as_of=datetime(2026, 10, 31, 17),
                  produced_at=datetime(2026, 11, 5, 2, 30), rows=rows, total=total)


@pytest.fixture
def report() -> Report:
    return build_report()


@pytest.fixture
def sheet(report):
    return load_workbook(BytesIO(report_workbook(report))).active


def _texts(sheet) -> list[str]:
    return [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]


# -- the total's formulas

SUM = re.compile(r"^=SUM\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)$")
RATIO = re.compile(r'^=IF\(([A-Z]+\d+)=0,"",ROUND\(([A-Z]+\d+)/([A-Z]+\d+)\*100,1\)\)$')


def evaluate(sheet, coordinate: str):
    """The value Excel computes for a cell of the total row (the two formulas it holds), else the
    cell's value."""
    formula = sheet[coordinate].value
    if not isinstance(formula, str) or not formula.startswith("="):
        return formula
    found = SUM.match(formula)
    if found:
        first, first_row, last, last_row = found.groups()
        assert first == last, formula
        return sum(sheet[f"{first}{n}"].value or 0 for n in range(int(first_row), int(last_row) + 1))
    found = RATIO.match(formula)
    assert found, f"{coordinate}: a formula the test does not know: {formula}"
    guard, part, whole = found.groups()
    assert guard == whole
    if evaluate(sheet, whole) == 0:
        return ""
    # Excel's ROUND: half away from zero, as the letters (and figures.share) round.
    return (Decimal(evaluate(sheet, part)) * 100 / Decimal(evaluate(sheet, whole))).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP)


def test_the_totals_are_formulas_that_give_the_stored_totals(report, sheet):
    total_at = FIRST_ROW + len(report.rows)
    assert sheet.cell(row=total_at, column=2).value == "Tổng cộng"
    for column in COLUMNS:
        cell = sheet.cell(row=total_at, column=LETTER[column.key])
        stored = value(report.total, column.key)
        if column.kind == "count":
            assert cell.data_type == "f" and cell.value == (
                f"=SUM({cell.column_letter}{FIRST_ROW}:{cell.column_letter}{total_at - 1})")
            assert evaluate(sheet, cell.coordinate) == stored, column.key
        elif column.ratio:
            assert cell.data_type == "f"
            assert evaluate(sheet, cell.coordinate) == stored, column.key
    # What Excel shows: 744 of 2,520 BTXH, 468 of 1,552 NCC, 1,212 of 4,072 together.
    shown = {key: evaluate(sheet, sheet.cell(row=total_at, column=LETTER[key]).coordinate)
             for key in ("btxh_receiving", "btxh_paid_by_account", "btxh_share", "ncc_share", "all_share")}
    assert shown == {"btxh_receiving": 2520, "btxh_paid_by_account": 744, "btxh_share": Decimal("29.5"),
                     "ncc_share": Decimal("30.2"), "all_share": Decimal("29.8")}


def test_a_reader_that_does_not_calculate_sees_the_stored_totals(report):
    """The formulas carry the report's totals as their results: a preview that does not recalculate
    shows the same totals as Excel."""
    values = load_workbook(BytesIO(report_workbook(report)), data_only=True).active
    total_at = FIRST_ROW + len(report.rows)
    shown = {column.key: values.cell(row=total_at, column=LETTER[column.key]).value for column in COLUMNS
             if column.kind == "count" or column.ratio}
    shown = {key: Decimal(str(v)) if isinstance(v, float) else v for key, v in shown.items()}
    assert shown == {key: value(report.total, key) for key in shown}
    assert shown["ncc_share"] == Decimal("30.2") and shown["all_receiving"] == 4072


def test_a_total_with_nobody_receiving_divides_by_nothing():
    nobody = build_report().rows[2]
    report = replace(build_report(), unit_kind="commune", unit_code="06118", unit_name="Xã Hoa Thám",
                     rows=(nobody,), total=replace(nobody, commune_id=None))
    sheet = load_workbook(BytesIO(report_workbook(report))).active
    assert sheet["A1"].value == "UBND XÃ HOA THÁM"
    assert "Hoa Thám, ngày 05 tháng 11 năm 2026" in _texts(sheet)
    total_at = FIRST_ROW + 1
    assert evaluate(sheet, sheet.cell(row=total_at, column=LETTER["all_share"]).coordinate) == ""
    assert evaluate(sheet, sheet.cell(row=total_at, column=LETTER["suspended"]).coordinate) == 2
    values = load_workbook(BytesIO(report_workbook(report)), data_only=True).active
    assert values.cell(row=total_at, column=LETTER["all_share"]).value is None
    assert values.cell(row=total_at, column=LETTER["suspended"]).value == 2


# -- the page

def test_it_prints_on_a4_landscape_with_the_header_repeated(sheet):
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4 == "9"
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == f"${HEADER_TOP}:${HEADER_TOP + 2}"
    assert sheet.freeze_panes == f"C{FIRST_ROW}"


def test_the_heading_the_title_the_period_and_the_day_counted_to(sheet):
    assert sheet["A1"].value == "UBND TỈNH LẠNG SƠN"
    texts = _texts(sheet)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                     "BÁO CÁO KẾT QUẢ CHI TRẢ CHÍNH SÁCH AN SINH XÃ HỘI KHÔNG DÙNG TIỀN MẶT",
                     "Kỳ báo cáo: Tháng 10/2026", "Số liệu tính đến hết ngày 31/10/2026",
                     "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "(Ký, ghi rõ họ tên)",
                     "Lạng Sơn, ngày 05 tháng 11 năm 2026"):
        assert expected in texts, expected


def test_the_country_report_is_issued_under_its_name(report):
    country = replace(report, unit_kind="country", unit_code="VN", unit_name="Toàn quốc")
    sheet = load_workbook(BytesIO(report_workbook(country))).active
    assert sheet["A1"].value == "TOÀN QUỐC"
    assert "Ngày 05 tháng 11 năm 2026" in _texts(sheet)


def test_two_line_headers_and_a_footer_defining_every_column(sheet):
    merged = {str(r) for r in sheet.merged_cells.ranges}
    first, last = LETTER["btxh_receiving"], LETTER["btxh_share"]
    assert sheet.cell(row=HEADER_TOP, column=first).value == "Bảo trợ xã hội"
    assert f"C{HEADER_TOP}:F{HEADER_TOP}" in merged and last - first == 3
    assert sheet.cell(row=HEADER_TOP, column=LETTER["ncc_receiving"]).value == "Người có công"
    assert [sheet.cell(row=HEADER_TOP + 1, column=LETTER[k]).value
            for k in ("btxh_receiving", "btxh_with_account", "btxh_paid_by_account", "btxh_share")] == [
        "Đang hưởng trợ cấp hằng tháng", "Có tài khoản", "Chi trả qua tài khoản", "Tỷ lệ (%)"]
    footer = [t for t in _texts(sheet) if t.startswith("Cột ")]
    for n, column in enumerate(COLUMNS, 1):
        assert any(str(column.definition) in line and re.search(rf"\b{n}\b", line.split("–")[0])
                   for line in footer), column.key


# -- the cells

def test_numbers_are_number_cells_with_their_formats(report, sheet):
    binh_gia, empty = FIRST_ROW, FIRST_ROW + 2
    count = sheet.cell(row=binh_gia, column=LETTER["btxh_receiving"])
    assert (count.data_type, count.value, count.number_format) == ("n", 120, "#,##0")
    ratio = sheet.cell(row=binh_gia, column=LETTER["all_share"])
    assert (ratio.data_type, ratio.value, ratio.number_format) == ("n", 53.1, "0.0")
    change = sheet.cell(row=FIRST_ROW + 3, column=LETTER["change"])
    assert (change.value, change.number_format) == (-1.2, "+0.0;-0.0;0.0")
    assert sheet.cell(row=binh_gia, column=LETTER["target_share"]).value == 60
    assert sheet.cell(row=empty, column=LETTER["btxh_share"]).value is None      # nobody to divide by
    assert sheet.cell(row=empty, column=LETTER["band"]).value is None
    assert sheet.cell(row=empty, column=LETTER["suspended"]).value == 2
    assert [sheet.cell(row=binh_gia, column=n).value for n in (1, 2)] == [1, "Xã Bình Gia"]


def test_the_table_is_boxed_in_the_documents_font_its_total_in_bold(report, sheet):
    total_at = FIRST_ROW + len(report.rows)
    for row in sheet.iter_rows(min_row=FIRST_ROW, max_row=total_at, max_col=FIRST_DATA_COLUMN - 1 + len(COLUMNS)):
        for cell in row:
            assert cell.font.name == "Times New Roman" and cell.font.b == (cell.row == total_at), cell.coordinate
            sides = (cell.border.left, cell.border.right, cell.border.top, cell.border.bottom)
            assert {side.style for side in sides} == {"thin"}, cell.coordinate
    assert sheet.cell(row=FIRST_ROW, column=2).alignment.wrap_text
    assert sheet.cell(row=total_at, column=LETTER["all_receiving"]).number_format == "#,##0"
    assert sheet.cell(row=total_at, column=LETTER["all_share"]).number_format == "0.0"


def test_with_no_commune_the_total_is_the_stored_numbers():
    report = replace(build_report(), rows=())
    sheet = load_workbook(BytesIO(report_workbook(report))).active
    total = [sheet.cell(row=FIRST_ROW, column=LETTER[key]) for key in ("btxh_receiving", "all_share")]
    assert [(c.data_type, c.value) for c in total] == [("n", 2520), ("n", 29.8)]
    assert sheet.cell(row=FIRST_ROW, column=2).value == "Tổng cộng"
    assert sheet.cell(row=FIRST_ROW + 2, column=1).value == "Ghi chú:"


def test_texts_in_the_words_of_the_letters(sheet):
    binh_gia, tan_van, empty = FIRST_ROW, FIRST_ROW + 1, FIRST_ROW + 2
    assert sheet.cell(row=binh_gia, column=LETTER["band"]).value == "Cao"
    assert sheet.cell(row=tan_van, column=LETTER["band"]).value == "Chưa thực hiện"
    assert sheet.cell(row=FIRST_ROW + 3, column=LETTER["band"]).value == "Trung bình"
    assert sheet.cell(row=binh_gia, column=LETTER["met"]).value == "Chưa đạt"
    assert sheet.cell(row=empty, column=LETTER["met"]).value is None
    assert sheet.cell(row=binh_gia, column=LETTER["projected"]).value == "03/2027"
    assert sheet.cell(row=tan_van, column=LETTER["projected"]).value == "Không đạt với tốc độ hiện nay"
    assert sheet.cell(row=binh_gia, column=LETTER["target_due_on"]).value == "31/12/2026"


def test_a_name_typed_as_a_formula_stays_text(sheet):
    cell = sheet.cell(row=FIRST_ROW + 3, column=2)
    assert (cell.data_type, cell.value) == ("s", FORMULA_NAME)
    assert cell.quotePrefix
    table = [c for row in sheet.iter_rows(min_row=FIRST_ROW, max_row=FIRST_ROW + 3) for c in row]
    assert not [c.coordinate for c in table if c.data_type == "f"]


def test_the_same_report_gives_the_same_bytes(report):
    assert report_workbook(report) == report_workbook(build_report())
    assert gc.isenabled()       # paused while building, running again after


def test_in_english_the_numbers_are_the_same(report, sheet):
    english = load_workbook(BytesIO(report_workbook(report, "en"))).active
    numbers = [(c.coordinate, c.value) for row in sheet.iter_rows() for c in row if c.data_type in ("n", "f")]
    assert numbers == [(c.coordinate, c.value) for row in english.iter_rows() for c in row
                       if c.data_type in ("n", "f")]
    assert english.cell(row=FIRST_ROW, column=LETTER["projected"]).value == "Mar 2027"


# -- the columns' words

@pytest.mark.parametrize("projected, expected", [
    ("2027-03", "03/2027"), (ALREADY_MET, "Đã đạt"), (NOT_AT_THIS_PACE, "Không đạt với tốc độ hiện nay"),
    (NO_TARGET, "Chưa có chỉ tiêu")])
def test_projection_text(report, projected, expected):
    row = replace(report.rows[0], projected=projected)
    assert projection_text(row, "vi") == expected


def test_value_reads_each_kind(report):
    binh_gia = report.rows[0]
    assert value(binh_gia, "all_receiving") == 160 and value(binh_gia, "all_paid_by_account") == 85
    assert value(binh_gia, "all_share") == Decimal("53.1")
    assert value(binh_gia, "target_share") == Decimal("60")
    assert value(binh_gia, "band") == "Cao" and value(binh_gia, "met") == "Chưa đạt"
    assert {c.kind for c in COLUMNS} == {"count", "share", "text"}
    assert BY_KEY["all_share"].ratio == ("all_paid_by_account", "all_receiving")


# -- the CSV

def test_the_csv_has_a_header_a_row_per_commune_and_the_total(report):
    lines = list(csv.reader(StringIO(report_csv(report))))
    assert len(lines) == 1 + len(report.rows) + 1
    header = lines[0]
    assert header[:3] == ["STT", "Mã", "Xã, phường, đặc khu"]
    assert header[3:7] == ["Bảo trợ xã hội - Đang hưởng trợ cấp hằng tháng", "Bảo trợ xã hội - Có tài khoản",
                           "Bảo trợ xã hội - Chi trả qua tài khoản", "Bảo trợ xã hội - Tỷ lệ (%)"]
    named = dict(zip(header, lines[1]))
    assert named["STT"] == "1" and named["Xã, phường, đặc khu"] == "Xã Bình Gia"
    assert named["Chung - Tỷ lệ (%)"] == "53.1" and named["So với chỉ tiêu - Mức độ thực hiện"] == "Cao"
    assert named["So với chỉ tiêu - Dự kiến tháng đạt chỉ tiêu"] == "03/2027"
    empty = dict(zip(header, lines[3]))
    assert empty["Bảo trợ xã hội - Tỷ lệ (%)"] == "" and empty["Chung - Tạm dừng trợ cấp"] == "2"
    total = dict(zip(header, lines[-1]))
    assert total["Xã, phường, đặc khu"] == "Tổng cộng"
    assert total["Bảo trợ xã hội - Đang hưởng trợ cấp hằng tháng"] == "2520"
    assert total["Người có công - Tỷ lệ (%)"] == str(report.total.ncc.share)
    assert dict(zip(header, lines[4]))["So với chỉ tiêu - Tăng, giảm so với kỳ trước (điểm %)"] == "-1.2"


def test_the_csv_keeps_a_formula_as_text(report):
    lines = list(csv.reader(StringIO(report_csv(report))))
    assert lines[4][2] == "'" + FORMULA_NAME
    assert not [cell for line in lines for cell in line if cell.startswith(("=", "+", "@"))]


def test_the_csv_in_english_has_the_same_numbers(report):
    vietnamese = list(csv.reader(StringIO(report_csv(report))))
    english = list(csv.reader(StringIO(report_csv(report, "en"))))
    assert [line[3:17] for line in english[1:]] == [line[3:17] for line in vietnamese[1:]]
