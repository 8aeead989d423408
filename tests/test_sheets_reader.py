"""The one reader: a commune's list as it really looks (title block, merged cells, a two-line
header, a numbering row, blank rows, a total row, a signature block) read to its data rows, the
same from .xlsx, .xls and .ods."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from openpyxl import Workbook

from cases.sheets import reader
from cases.sheets.reader import SheetError, read_sheets, read_table
from cases.sheets.values import as_amount, as_date, as_national_id

FIXTURES = Path(__file__).parent / "fixtures" / "lists"
REQUIRED = frozenset({"full_name", "birth_date"})

# The list of tests/fixtures/lists/messy-list.xls, cell for cell (0-based rows): built here as
# .xlsx and .ods, and made once as .xls by the script in tests/fixtures/lists/README.md.
MESS = {
    0: ["ỦY BAN NHÂN DÂN XÃ BÌNH GIA", None, None, None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"],
    1: [None, None, None, None, "Độc lập - Tự do - Hạnh phúc"],
    3: ["DANH SÁCH ĐỐI TƯỢNG BẢO TRỢ XÃ HỘI HƯỞNG TRỢ CẤP HÀNG THÁNG"],
    4: ["(Kèm theo Tờ trình số 12/TTr-UBND ngày 05/3/2025 của UBND xã Bình Gia)"],
    6: ["STT", "Họ và tên", "Ngày, tháng, năm sinh", "Giới tính", "Số CCCD/ĐDCN", "Thôn/bản", "Mức trợ cấp (đồng)",
        "Thông tin tài khoản", None, "Ghi chú"],
    7: [None] * 7 + ["Ngân hàng", "Số tài khoản"],
    8: [f"({n})" for n in range(1, 11)],
    9: [1, "Hoàng Văn Thụ", date(1950, 3, 2), "Nam", 20150000123, "Pò Cại", "1.500.000", "Agribank", "8888000111"],
    10: [2, "Lương Thị Hoa", "05/11/1948", "Nữ", "001148000222", "Nà Pàn", 750000, None, None, "Chưa có tài khoản"],
    12: [3, "HOÀNG VĂN AN", 1945, "nam", 20145000333, "Pò Cại", "1,080,000", "BIDV", 1234567890],
    13: [None, "Tổng cộng", None, None, None, None, 3330000],
    15: [None, "Người lập biểu", None, None, None, None, "Bình Gia, ngày 10 tháng 3 năm 2025"],
    16: [None, None, None, None, None, None, "TM. UBND XÃ"],
    17: [None, "Nông Văn Lập", None, None, None, None, "Chủ tịch"],
}
# (first row, first column, last row, last column), 0-based and inclusive
MERGES = [(0, 0, 0, 2), (0, 4, 0, 9), (1, 4, 1, 9), (3, 0, 3, 9), (4, 0, 4, 9), (6, 7, 6, 8), (6, 9, 7, 9)] + [
    (6, c, 7, c) for c in range(7)]
EXPECTED_HEADER = ["STT", "Họ và tên", "Ngày, tháng, năm sinh", "Giới tính", "Số CCCD/ĐDCN", "Thôn/bản",
                   "Mức trợ cấp (đồng)", "Thông tin tài khoản / Ngân hàng", "Thông tin tài khoản / Số tài khoản",
                   "Ghi chú"]
EXPECTED_COLUMNS = {"full_name": 1, "birth_date": 2, "sex": 3, "national_id": 4, "village": 5, "monthly_amount": 6,
                    "provider": 7, "account_number": 8, "notes": 9}


def xlsx(rows: dict[int, list], merges=(), sheet_title: str = "Danh sách", before: list[tuple[str, dict, str]] = ()) -> bytes:
    """An .xlsx built by openpyxl; `before`: (title, rows, state) sheets put ahead of the list."""
    book = Workbook()
    book.remove(book.active)
    for title, other, state in before:
        extra = book.create_sheet(title)
        extra.sheet_state = state
        _fill(extra, other)
    sheet = book.create_sheet(sheet_title)
    _fill(sheet, rows)
    for r1, c1, r2, c2 in merges:
        sheet.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _fill(sheet, rows: dict[int, list]) -> None:
    for r, values in rows.items():
        for c, value in enumerate(values):
            if value is not None:
                sheet.cell(r + 1, c + 1, value)


def ods(rows: dict[int, list], merges=()) -> bytes:
    """An OpenDocument spreadsheet written by hand: a zip with `mimetype` first, then content.xml."""
    spans = {(r1, c1): (r2 - r1 + 1, c2 - c1 + 1) for r1, c1, r2, c2 in merges}
    covered = {(r, c) for r1, c1, r2, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - set(spans)
    width = max(len(v) for v in rows.values())
    lines = []
    for r in range(max(rows) + 1):
        values = rows.get(r, [])
        cells = []
        for c in range(width):
            value = values[c] if c < len(values) else None
            if (r, c) in covered:
                cells.append("<table:covered-table-cell/>")
                continue
            span = spans.get((r, c))
            extra = (f' table:number-rows-spanned="{span[0]}" table:number-columns-spanned="{span[1]}"'
                     if span else "")
            cells.append(_ods_cell(value, extra))
        lines.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Danh sách">'
        + "".join(lines) + "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _ods_cell(value, extra: str) -> str:
    if value is None:
        return f"<table:table-cell{extra}/>"
    if isinstance(value, date):
        return f'<table:table-cell{extra} office:value-type="date" office:date-value="{value.isoformat()}"/>'
    if isinstance(value, (int, float)):
        return f'<table:table-cell{extra} office:value-type="float" office:value="{value}"/>'
    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in str(value).split("\n"))
    return f'<table:table-cell{extra} office:value-type="string">{paragraphs}</table:table-cell>'


def rows_of(table) -> list[tuple[int, dict]]:
    return [(row.number, row.values) for row in table.rows]


# -- the messy list, in three formats

def test_the_messy_list_is_read_to_its_three_data_rows():
    table = read_table(xlsx(MESS, MERGES), "danh-sach.xlsx", "beneficiaries", REQUIRED)

    assert table.sheet == "Danh sách"
    assert table.header_rows == (7, 8)
    assert table.header == EXPECTED_HEADER
    assert table.columns == EXPECTED_COLUMNS
    assert table.ignored == []
    assert [row.number for row in table.rows] == [10, 11, 13]      # not the numbering, total or signature rows
    first, second, third = (row.values for row in table.rows)
    assert first["full_name"] == "Hoàng Văn Thụ" and first["provider"] == "Agribank"
    assert second["notes"] == "Chưa có tài khoản"
    assert third["full_name"] == "HOÀNG VĂN AN"


def test_cells_are_kept_as_read_and_parse_to_their_values():
    table = read_table(xlsx(MESS, MERGES), "danh-sach.xlsx", "beneficiaries", REQUIRED)
    first, second, third = (row.values for row in table.rows)

    assert as_date(first["birth_date"]) == (date(1950, 3, 2), False)       # a real date
    assert as_date(second["birth_date"]) == (date(1948, 11, 5), False)     # dd/mm/yyyy text
    assert as_date(third["birth_date"]) == (date(1945, 1, 1), True)        # a bare year
    assert as_national_id(first["national_id"]) == "020150000123"          # a number that lost its zero
    assert as_national_id(second["national_id"]) == "001148000222"         # text keeps its zeros
    assert [as_amount(v["monthly_amount"]) for v in (first, second, third)] == [1_500_000, 750_000, 1_080_000]
    assert table.rows[0].cells[:3] == (1, "Hoàng Văn Thụ", date(1950, 3, 2))


def test_xls_and_ods_with_the_same_mess_read_to_the_same_rows():
    from_xlsx = read_table(xlsx(MESS, MERGES), "a.xlsx", "beneficiaries", REQUIRED)
    from_xls = read_table((FIXTURES / "messy-list.xls").read_bytes(), "a.xls", "beneficiaries", REQUIRED)
    from_ods = read_table(ods(MESS, MERGES), "a.ods", "beneficiaries", REQUIRED)

    assert rows_of(from_xls) == rows_of(from_xlsx)
    assert rows_of(from_ods) == rows_of(from_xlsx)
    for table in (from_xls, from_ods):
        assert table.header_rows == (7, 8)
        assert table.header == EXPECTED_HEADER
        assert table.columns == EXPECTED_COLUMNS


def test_an_ods_two_line_header_without_merges_carries_the_group_over():
    rows = {0: ["Họ và tên", "Ngày sinh", "Thông tin tài khoản", None],
            1: [None, None, "Ngân hàng", "Số TK"],
            2: ["Lò Văn Páo", "1960", "Agribank", "123"]}
    table = read_table(ods(rows), "a.ods", "beneficiaries", REQUIRED)

    assert table.header[2:] == ["Thông tin tài khoản / Ngân hàng", "Thông tin tài khoản / Số TK"]
    assert table.columns == {"full_name": 0, "birth_date": 1, "provider": 2, "account_number": 3}


# -- headers written every which way

@pytest.mark.parametrize("name, born, id_header", [
    ("HỌ VÀ TÊN", "NGÀY SINH", "SỐ CCCD"),
    ("Ho va ten", "Ngay sinh", "So CCCD"),
    ("ho ten", "ngay thang nam sinh", "so dinh danh ca nhan"),
    ("Họ và\ntên", "Ngày,\ntháng, năm sinh", "Số CMND/CCCD"),
    ("  Họ và tên đối tượng  ", "Năm sinh", "CCCD"),
])
def test_headers_are_recognised_without_diacritics_in_capitals_and_on_two_lines(name, born, id_header):
    rows = {0: ["DANH SÁCH"], 2: ["TT", name, born, id_header], 3: [1, "Lò Thị Mai", "1952", "020152000001"]}
    table = read_table(xlsx(rows), "a.xlsx", "beneficiaries", REQUIRED)

    assert table.header_rows == (3,)
    assert table.columns == {"full_name": 1, "birth_date": 2, "national_id": 3}
    assert [row.values["full_name"] for row in table.rows] == ["Lò Thị Mai"]


def test_unknown_headers_are_reported_and_a_field_named_twice_is_read_once():
    rows = {0: ["Họ tên", "Ngày sinh", "Số hộ khẩu", "Ghi chú", "Ghi chú"], 1: ["A Lử", "1950", "12", "x", "y"]}
    table = read_table(xlsx(rows), "a.xlsx", "beneficiaries", REQUIRED)

    assert table.columns == {"full_name": 0, "birth_date": 1, "notes": 3}
    assert table.ignored == ["Số hộ khẩu", "Ghi chú"]


def test_a_plain_numbering_row_is_skipped():
    rows = {0: ["STT", "Họ và tên", "Ngày sinh"], 1: [1, 2, 3], 2: [1, "Vi Văn Tâm", "02/03/1950"]}
    table = read_table(xlsx(rows), "a.xlsx", "beneficiaries", REQUIRED)

    assert [(row.number, row.values["full_name"]) for row in table.rows] == [(3, "Vi Văn Tâm")]


# -- where the data ends

@pytest.mark.parametrize("end_row", [
    [None, "Tổng cộng:", None, 1500000],
    ["Cộng", None, None, 1500000],
    [None, "TỔNG SỐ: 2 đối tượng"],
    [None, "Người lập biểu", None, "Chủ tịch UBND xã"],
    [None, None, "Lạng Sơn, ngày ... tháng ... năm 2025"],
    [None, "KT. CHỦ TỊCH"],
    ["TM. ỦY BAN NHÂN DÂN XÃ"],
    [None, "Xác nhận của UBND xã"],
])
def test_data_ends_at_a_total_row_or_the_signature_block(end_row):
    rows = {0: ["STT", "Họ và tên", "Ngày sinh", "Mức trợ cấp"],
            1: [1, "Nguyễn Văn Tống", "1950", 750000],
            2: [2, "Tống Công Thành", "1951", 750000],       # a name, not a total
            3: end_row,
            4: [3, "Sau Chữ Ký", "1952", 750000]}
    table = read_table(xlsx(rows), "a.xlsx", "beneficiaries", REQUIRED)

    assert [row.values["full_name"] for row in table.rows] == ["Nguyễn Văn Tống", "Tống Công Thành"]


def test_blank_rows_inside_the_data_are_skipped_and_the_rows_after_them_kept():
    rows = {0: ["Họ và tên", "Ngày sinh"], 1: ["Hà Văn Một", "1950"], 2: [None, "   "], 5: ["Hà Văn Hai", "1951"],
            6: ["Hà Văn Ba", "1952"]}
    table = read_table(xlsx(rows), "a.xlsx", "beneficiaries", REQUIRED)

    assert [(row.number, row.values["full_name"]) for row in table.rows] == [(2, "Hà Văn Một"), (6, "Hà Văn Hai"),
                                                                            (7, "Hà Văn Ba")]


def test_a_lying_dimension_drops_no_row():
    rows = {0: ["Họ và tên", "Ngày sinh", "Số CCCD"]} | {r: [f"Người số {r}", 1950, 20150000000 + r] for r in range(1, 51)}
    data = _rewrite(xlsx(rows), "xl/worksheets/sheet1.xml",
                    lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C3"', xml))
    assert b'<dimension ref="A1:C3"' in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")

    table = read_table(data, "a.xlsx", "beneficiaries", REQUIRED)

    assert len(table.rows) == 50
    assert table.rows[-1].number == 51 and table.rows[-1].values["full_name"] == "Người số 50"


def _rewrite(data: bytes, part: str, change) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info, change(content) if info.filename == part else content)
    return out.getvalue()


# -- which sheet

def test_hidden_sheets_and_sheets_without_a_header_are_passed_over():
    hidden = ("Ẩn", {0: ["Họ và tên", "Ngày sinh"], 1: ["Người Ẩn", "1950"]}, "hidden")
    guide = ("Hướng dẫn", {0: ["Điền họ và tên, ngày sinh của từng người."]}, "visible")
    table = read_table(xlsx({0: ["Họ và tên", "Ngày sinh"], 1: ["Người Thật", "1950"]}, before=[hidden, guide]),
                       "a.xlsx", "beneficiaries", REQUIRED)

    assert table.sheet == "Danh sách"
    assert [row.values["full_name"] for row in table.rows] == ["Người Thật"]


def test_no_header_names_the_columns_looked_for():
    data = xlsx({0: ["Danh sách hộ nghèo"], 1: ["Chủ hộ", "Số khẩu"], 2: ["A", 3]})

    with pytest.raises(SheetError) as refused:
        read_table(data, "ho-ngheo.xlsx", "beneficiaries", REQUIRED)

    assert "Không tìm thấy dòng tiêu đề có cột «Họ và tên», «Ngày sinh»" in refused.value.message
    assert "ho-ngheo.xlsx" in refused.value.message


def test_a_header_lacking_a_required_column_is_named_with_what_it_lacks():
    data = xlsx({0: ["DANH SÁCH"], 2: ["STT", "Họ và tên", "Giới tính", "Số CCCD"], 3: [1, "A", "Nam", "1"]})

    with pytest.raises(SheetError) as refused:
        read_table(data, "a.xlsx", "beneficiaries", REQUIRED)

    assert refused.value.message.startswith("Dòng tiêu đề ở dòng 3 của trang «Danh sách» thiếu cột «Ngày sinh»")


def test_a_damaged_workbook_is_a_sheet_error():
    data = _rewrite(xlsx({0: ["Họ và tên", "Ngày sinh"]}), "xl/workbook.xml", lambda xml: b"<workbook><sheets>")

    with pytest.raises(SheetError) as refused:
        read_table(data, "hong.xlsx", "beneficiaries", REQUIRED)

    assert "bị hỏng" in refused.value.message


def test_a_password_protected_xls_that_slipped_past_the_byte_check_is_still_refused(monkeypatch):
    protected = _with_filepass((FIXTURES / "messy-list.xls").read_bytes())
    monkeypatch.setattr(reader, "check_file", lambda *args: "xls")

    with pytest.raises(SheetError) as refused:
        read_table(protected, "a.xls", "beneficiaries", REQUIRED)

    assert "hỏng" in refused.value.message   # calamine reports it as an unknown format, not as a password


def _with_filepass(xls: bytes) -> bytes:
    """The fixture with its WRITEACCESS record (right after BOF) turned into FILEPASS, the record
    an encrypted .xls carries there; same length, so the file stays well formed."""
    assert xls.count(b"\x5c\x00\x70\x00") == 1
    return xls.replace(b"\x5c\x00\x70\x00", b"\x2f\x00\x70\x00")


# -- the police's list back

def test_a_police_results_list_with_a_two_line_group_of_corrections():
    rows = {0: ["CÔNG AN XÃ BÌNH GIA"],
            2: ["STT", "Mã hồ sơ", "Họ và tên", "Ngày sinh", "Số CCCD", "Kết quả (Khớp / Không khớp)",
                "Thông tin theo CSDL", None, None, "Ghi chú"],
            3: [None] * 6 + ["Họ tên", "Ngày sinh", "Giới tính"],
            4: [1, 12, "Hoàng Văn Thụ", "02/03/1950", 20150000123, "Khớp", "Hoàng Văn Thự", None, None, "Sai dấu"]}
    merges = [(2, c, 3, c) for c in (0, 1, 2, 3, 4, 5, 9)] + [(2, 6, 2, 8)]
    table = read_table(xlsx(rows, merges), "ca.xlsx", "police_results", frozenset({"national_id", "result"}))

    assert table.columns == {"case_number": 1, "full_name": 2, "birth_date": 3, "national_id": 4, "result": 5,
                             "corrected_full_name": 6, "corrected_birth_date": 7, "corrected_sex": 8,
                             "police_note": 9}
    assert [row.values["corrected_full_name"] for row in table.rows] == ["Hoàng Văn Thự"]


def test_read_sheets_gives_every_sheet_from_its_first_row():
    data = xlsx({2: ["Họ và tên"], 3: ["A"]}, before=[("Bìa", {0: ["Trang bìa"]}, "visible")])

    sheets = read_sheets(data, "a.xlsx")

    assert [name for name, _ in sheets] == ["Bìa", "Danh sách"]
    assert sheets[1][1][2:] == [["Họ và tên"], ["A"]]
    assert sheets[1][1][0] == [""]


def test_the_fast_fold_of_every_data_row_agrees_with_the_header_fold():
    from cases.sheets.header import _quick_fold, fold_header, synonyms
    texts = [header for known in synonyms().by_list.values() for header in known] + [
        "Họ và\ntên", "HỌ VÀ TÊN", "Ho\u0323 va\u0300 te\u0302n", "Đặng Thị Tới", "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH",
        "Bình Gia, ngày 10 tháng 3 năm 2025", "Tổng cộng:", "Số CCCD/ĐDCN", "Nơi nhận:", "T/M UBND XÃ"]

    assert [_quick_fold(t) for t in texts] == [fold_header(t) for t in texts]


def test_the_synonym_table_covers_every_field_the_lists_read():
    from cases.sheets.header import synonyms
    table = synonyms()

    assert table.fields("beneficiaries") >= {
        "row_number", "full_name", "birth_date", "sex", "national_id", "phone", "ethnicity", "village", "address_detail",
        "policy_group", "category_code", "monthly_amount", "benefit_decision_number", "benefit_start_month",
        "guardian_name", "guardian_national_id", "guardian_relation", "guardian_phone", "payment_status", "provider",
        "account_number", "special", "notes"}
    assert table.fields("police_results") >= {
        "case_number", "full_name", "birth_date", "sex", "national_id", "address", "result", "corrected_full_name",
        "corrected_birth_date", "corrected_sex", "police_note"}
    assert table.field("beneficiaries", "Có tài khoản / Chưa có tài khoản") == "payment_status"
