"""The report as the workbook a commune sends upward: a pure function, a Report in, .xlsx bytes out.

Laid out as Vietnamese administrative reports are: the issuing unit on the left and the national
heading on the right, the title, the period and the day counted to, the table under a two-line
header (a group heading merged over its columns, then each column's heading, then the columns'
numbers A, B, 1, 2, ...), a total row of formulas Excel recalculates, a footer defining each
column, and the signature block. It prints on A4 landscape, fitted to the page's width, with the
header rows repeated on every page.

A normal (not write-only) openpyxl workbook holds what is around the table — the heading, the
merged two-line header, the footer, the signatures, the print settings — its cells sharing a
handful of style arrays copied onto them. The table's rows (a country's 3,321 communes, and the
total) are written as the sheet's XML directly (cases.sheets.xml_rows: openpyxl's per-cell write
was 0.9 s of a country's 73,000 cells, most of its report's time), and
tests/test_report_workbook.py reads them back with openpyxl.
"""
from __future__ import annotations

from datetime import date

from flask_babel import force_locale, gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cases.changes import to_local, written
from cases.reports import columns as columns_
from cases.reports.columns import COLUMNS, COUNT, SHARE
from cases.reports.figures import Report, Row
from cases.reports.periods import Period
from cases.collector import collector_paused
from cases.sheets.writer import text_cell
from cases.sheets.xml_rows import XmlCells, XmlRows, make_look, saved_workbook

FIRST_DATA_COLUMN = 3                    # A: STT, B: the commune, then COLUMNS
WIDTH = FIRST_DATA_COLUMN - 1 + len(COLUMNS)
HEADER_TOP = 8                           # the group headings' row; the column headings and numbers follow
FIRST_ROW = HEADER_TOP + 3               # the first commune
LEFT_BLOCK = (1, 6)                      # columns of the issuing unit and of the preparer's signature
RIGHT_BLOCK = (WIDTH - 7, WIDTH)         # columns of the national heading and of the head's signature
FONT_NAME = "Times New Roman"            # the font of Vietnamese administrative documents
_WIDTHS = {COUNT: 11.5, SHARE: 8.5}        # in characters, by kind; a few columns by key
_KEY_WIDTHS = {"change": 11, "target_due_on": 11.5, "met": 9.5, "band": 12, "projected": 15}
_UNIT_PREFIXES = ("Thành phố ", "Tỉnh ", "Xã ", "Phường ", "Đặc khu ", "Thị trấn ", "Huyện ", "Quận ")


def report_workbook(report: Report, language: str = "vi") -> bytes:
    """The workbook of `report`, its labels in `language` ("vi" or "en"). Needs an app context
    (for the translations), nothing else: no database, no request."""
    with force_locale(language), collector_paused():
        book = Workbook()
        sheet = book.active
        sheet.title = _("Báo cáo")[:31]
        period = Period.parse(report.period)
        looks = _Looks(sheet)
        _heading(sheet, looks, report, period, language)
        _table_header(sheet, looks)
        with XmlRows(sheet, FIRST_ROW) as table:
            _table(table, looks, report, language)
            after = _footer(sheet, looks, FIRST_ROW + len(report.rows) + 2)
            _signatures(sheet, looks, report, after + 1, language)
            _page_setup(sheet)
            return saved_workbook(book, report.produced_at, [table])


class _Looks:
    """The style arrays the sheet's cells share (copying one onto a cell is much cheaper than
    setting its font, border, alignment and format one by one)."""

    def __init__(self, sheet: Worksheet):
        thin = Side(style="thin")
        box = Border(left=thin, right=thin, top=thin, bottom=thin)
        plain, bold = Font(name=FONT_NAME, size=11), Font(name=FONT_NAME, size=11, bold=True)
        centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
        self.sheet = sheet
        self.header = self._make(bold, box, centre)
        self.numbering = self._make(Font(name=FONT_NAME, size=10, italic=True), box, centre)
        self.name = self._make(plain, box, Alignment(vertical="center", wrap_text=True))
        self.total_name = self._make(bold, box, Alignment(vertical="center"))
        self.centred = self._make(plain, box, centre)
        self.total_centred = self._make(bold, box, centre)
        self.numbers = {c.key: self._make(plain, box, Alignment(vertical="center"), c.number_format)
                        for c in COLUMNS if c.number_format}
        self.total_numbers = {c.key: self._make(bold, box, Alignment(vertical="center"), c.number_format)
                              for c in COLUMNS if c.number_format}
        self.title = self._make(Font(name=FONT_NAME, size=14, bold=True), None, centre)
        self.bold_centre = self._make(bold, None, centre)
        self.italic_centre = self._make(Font(name=FONT_NAME, size=12, italic=True), None, centre)
        self.centre = self._make(Font(name=FONT_NAME, size=12), None, centre)
        self.italic_right = self._make(Font(name=FONT_NAME, size=11, italic=True), None,
                                       Alignment(horizontal="right"))
        self.note_heading = self._make(Font(name=FONT_NAME, size=11, bold=True, italic=True), None, None)
        self.note = self._make(Font(name=FONT_NAME, size=10), None, None)

    def _make(self, font, border, alignment, number_format=None):
        return make_look(self.sheet, font, border, alignment, number_format)


def _text(sheet: Worksheet, value, look) -> Cell:
    """A text cell that is never a formula (cases.sheets.writer), styled; None and "" stay empty."""
    made = text_cell(sheet, value if value != "" else None) or Cell(sheet)
    quoted = made.quotePrefix              # text_cell's mark that the text must stay text
    made._style = StyleArray(look)
    if quoted:
        made.quotePrefix = True
    return made


def _line(sheet: Worksheet, row: int, span: tuple[int, int], value, look) -> None:
    """`value` in a merged run of `row` from column span[0] to span[1]."""
    first, last = span
    _place(sheet, row, first, _text(sheet, value, look))
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _place(sheet: Worksheet, row: int, column: int, cell: Cell) -> None:
    cell.row, cell.column = row, column
    sheet._add_cell(cell)


def _heading(sheet: Worksheet, looks: _Looks, report: Report, period: Period, language: str) -> None:
    _line(sheet, 1, LEFT_BLOCK, issuing_unit(report), looks.bold_centre)
    _line(sheet, 2, LEFT_BLOCK, "―――――", looks.centre)
    _line(sheet, 1, RIGHT_BLOCK, _("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), looks.bold_centre)
    _line(sheet, 2, RIGHT_BLOCK, _("Độc lập - Tự do - Hạnh phúc"), looks.bold_centre)
    _line(sheet, 4, (1, WIDTH), _("BÁO CÁO KẾT QUẢ CHI TRẢ CHÍNH SÁCH AN SINH XÃ HỘI KHÔNG DÙNG TIỀN MẶT"),
          looks.title)
    _line(sheet, 5, (1, WIDTH), _("Kỳ báo cáo: %(period)s", period=period.label),
          looks.bold_centre)
    _line(sheet, 6, (1, WIDTH), _("Số liệu tính đến hết ngày %(day)s", day=written(period.last_day, "day", language)),
          looks.italic_centre)
    _line(sheet, 7, RIGHT_BLOCK, _("Đơn vị tính: người; tỷ lệ: %"), looks.italic_right)
    sheet.row_dimensions[4].height = 22


def issuing_unit(report: Report) -> str:
    """"UBND TỈNH LẠNG SƠN", "UBND XÃ BÌNH GIA"; the country's report: its name."""
    if report.unit_kind == "country":
        return report.unit_name.upper()
    return _("UBND %(unit)s", unit=report.unit_name.upper())


def place_name(report: Report) -> str:
    """The place a report is dated at: the unit's name without its kind ("Lạng Sơn", "Bình Gia")."""
    name = report.unit_name if report.unit_kind != "country" else ""
    while name.startswith(_UNIT_PREFIXES):
        name = name.split(" ", 1)[1] if not name.startswith("Thành phố ") else name[len("Thành phố "):]
    return name


def _table_header(sheet: Worksheet, looks: _Looks) -> None:
    top, second, numbers = HEADER_TOP, HEADER_TOP + 1, HEADER_TOP + 2
    for column, heading in ((1, columns_.NUMBER_HEADING), (2, columns_.NAME_HEADING)):
        _place(sheet, top, column, _text(sheet, str(heading), looks.header))
        _place(sheet, second, column, _text(sheet, None, looks.header))
        sheet.merge_cells(start_row=top, start_column=column, end_row=second, end_column=column)
        _place(sheet, numbers, column, _text(sheet, "AB"[column - 1], looks.numbering))
    start = 0
    for n, column in enumerate(COLUMNS):
        at = FIRST_DATA_COLUMN + n
        _place(sheet, top, at, _text(sheet, str(column.group) if n == start else None, looks.header))
        _place(sheet, second, at, _text(sheet, str(column.heading), looks.header))
        _place(sheet, numbers, at, _text(sheet, str(n + 1), looks.numbering))
        last_of_group = n + 1 == len(COLUMNS) or str(COLUMNS[n + 1].group) != str(column.group)
        if last_of_group:
            if n > start:
                sheet.merge_cells(start_row=top, start_column=FIRST_DATA_COLUMN + start, end_row=top, end_column=at)
            start = n + 1
    sheet.row_dimensions[second].height = 80
    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 24
    for n, column in enumerate(COLUMNS):
        width = _KEY_WIDTHS.get(column.key) or _WIDTHS.get(column.kind, 12)
        sheet.column_dimensions[get_column_letter(FIRST_DATA_COLUMN + n)].width = width


def _table(table: XmlRows, looks: _Looks, report: Report, language: str) -> None:
    """The communes' rows and the total's, as the sheet's XML."""
    read = columns_.reader(language)
    cells = XmlCells(table.sheet)
    plan = [(get_column_letter(FIRST_DATA_COLUMN + n), column, column.kind in (COUNT, SHARE),
             looks.numbers.get(column.key, looks.centred)) for n, column in enumerate(COLUMNS)]
    for number, row in enumerate(report.rows, 1):
        at = table.next_row
        line = [f'<c r="A{at}"', cells.number(number, looks.centred), f'<c r="B{at}"', cells.text(row.name, looks.name)]
        for letter, column, numeric, styled in plan:
            value = read(row, column)
            line.append(f'<c r="{letter}{at}"')
            line.append(cells.number(value, styled) if numeric else cells.label(value, styled))
        table.add("".join(line))
    table.add(_total(cells, looks, report.total, table.next_row, len(report.rows), language))


def _total(cells: XmlCells, looks: _Looks, total: Row, at: int, communes: int, language: str) -> str:
    """The total row: a formula for each count and share, the report's own total stored as its result.

    Excel and LibreOffice recalculate the formulas on opening; a reader that does not calculate (a
    phone's preview, python-calamine, a province merging the communes' files) shows the stored
    results, and would show blank totals without them. They are what the formulas compute
    (tests/test_report_workbook.py).
    """
    formulas = _total_formulas(at, communes)
    line = [f'<c r="A{at}"', cells.text(None, looks.total_centred),
            f'<c r="B{at}"', cells.text(str(columns_.TOTAL_LABEL), looks.total_name)]
    for n, column in enumerate(COLUMNS):
        line.append(f'<c r="{get_column_letter(FIRST_DATA_COLUMN + n)}{at}"')
        stored = column.read(total, language)
        if column.key in formulas:           # a formula of ours, never text from people
            line.append(cells.formula(formulas[column.key], stored, looks.total_numbers[column.key]))
        elif column.kind in (COUNT, SHARE):
            line.append(cells.number(stored, looks.total_numbers[column.key]))
        else:
            line.append(cells.text(stored, looks.total_centred))
    return "".join(line)


def _total_formulas(total_at: int, communes: int) -> dict[str, str]:
    """The total's formulas by column key: a SUM over the communes for each count, and each share
    computed from the total's own counts as the letters compute it. Empty when there is no commune
    row (the stored totals are written instead)."""
    if not communes:
        return {}
    letters = {column.key: get_column_letter(FIRST_DATA_COLUMN + n) for n, column in enumerate(COLUMNS)}
    last = FIRST_ROW + communes - 1
    formulas = {}
    for column in COLUMNS:
        letter = letters[column.key]
        if column.kind == COUNT:
            formulas[column.key] = f"=SUM({letter}{FIRST_ROW}:{letter}{last})"
        elif column.ratio is not None:
            part, whole = (f"{letters[key]}{total_at}" for key in column.ratio)
            formulas[column.key] = f'=IF({whole}=0,"",ROUND({part}/{whole}*100,1))'
    return formulas


def _footer(sheet: Worksheet, looks: _Looks, at: int) -> int:
    """"Ghi chú": each column's definition once, with the numbers of the columns it defines.
    Returns the row after the last line."""
    _place(sheet, at, 1, _text(sheet, _("Ghi chú:"), looks.note_heading))
    numbered: dict[str, list[str]] = {}
    headings: dict[str, str] = {}
    for n, column in enumerate(COLUMNS, 1):
        definition = str(column.definition)
        numbered.setdefault(definition, []).append(str(n))
        headings.setdefault(definition, str(column.heading))
    for line, (definition, numbers) in enumerate(numbered.items(), at + 1):
        text = _("Cột %(columns)s – %(heading)s: %(definition)s", columns=", ".join(numbers),
                 heading=headings[definition], definition=definition)
        _place(sheet, line, 1, _text(sheet, text, looks.note))
    return at + 1 + len(numbered)


def _signatures(sheet: Worksheet, looks: _Looks, report: Report, at: int, language: str) -> None:
    _line(sheet, at, RIGHT_BLOCK, dated_at(place_name(report), to_local(report.produced_at).date(), language),
          looks.italic_centre)
    _line(sheet, at + 1, LEFT_BLOCK, _("NGƯỜI LẬP BIỂU"), looks.bold_centre)
    _line(sheet, at + 1, RIGHT_BLOCK, _("THỦ TRƯỞNG ĐƠN VỊ"), looks.bold_centre)
    _line(sheet, at + 2, LEFT_BLOCK, _("(Ký, ghi rõ họ tên)"), looks.italic_centre)
    _line(sheet, at + 2, RIGHT_BLOCK, _("(Ký, ghi rõ họ tên, đóng dấu)"), looks.italic_centre)


def dated_at(place: str, day: date, language: str) -> str:
    """"Lạng Sơn, ngày 05 tháng 11 năm 2026" (the day the report was produced)."""
    if language != "vi":
        written_day = written(day, "day", language)
        return f"{place}, {written_day}" if place else written_day
    line = _("ngày %(day)02d tháng %(month)02d năm %(year)d", day=day.day, month=day.month, year=day.year)
    return f"{place}, {line}" if place else line[:1].upper() + line[1:]


def _page_setup(sheet: Worksheet) -> None:
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0         # as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.6
    sheet.print_title_rows = f"{HEADER_TOP}:{HEADER_TOP + 2}"
    sheet.freeze_panes = f"{get_column_letter(FIRST_DATA_COLUMN)}{FIRST_ROW}"
    sheet.oddFooter.center.text = _("Trang &P/&N")
