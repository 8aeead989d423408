"""The one writer of spreadsheets: pure functions, rows in, .xlsx bytes out (openpyxl, write-only).

Text that people typed is always written as a text cell, whatever it begins with: a name or a
note typed as `=HYPERLINK(...)`, `+1`, `-2` or `@SUM(A1)` stays those characters and never
becomes a formula. It is kept exactly rather than stripped (as indico does), since an export is a
record of what was entered; the cell is marked as text instead, and "quote-prefixed" so that
Excel keeps it text when someone edits it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from io import BytesIO

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cases.sheets import SheetRow, Table

# What a spreadsheet reads as the start of a formula (or of a formula after a blank).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
MAX_CELL_TEXT = 32_767               # Excel's limit for one cell
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
_SHEET_TITLE_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
_NUMBERS = (int, float, Decimal)          # bool is an int, and openpyxl writes it as a bool
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass
class SheetSpec:
    """One sheet of an export: bold heading lines, then the header row, then the rows."""
    title: str
    heading_lines: list[str]
    header: list[str]
    rows: Iterable[tuple]
    column_widths: list[float | None] | None = None     # per column, in characters
    number_formats: list[str | None] | None = None      # per column, for numbers and dates ("#,##0")
    freeze_header: bool = field(default=True)           # keep the header in view when scrolling


def text_cell(sheet: WriteOnlyWorksheet, value) -> WriteOnlyCell | None:
    """A cell holding `value` as text, never as a formula, illegal control characters removed;
    None stays an empty cell."""
    if value is None:
        return None
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))[:MAX_CELL_TEXT]
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl made it "f" if it begins with "="
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    return cell


def cell(sheet: WriteOnlyWorksheet, value, number_format: str | None = None):
    """What to append for `value`: numbers as numbers, dates as dates (dd/mm/yyyy), text through
    `text_cell`. Plain values need no cell object of their own: openpyxl writes a str that
    cannot be read as a formula exactly as `text_cell` would, and a number as a number."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if value.startswith(FORMULA_STARTS) or len(value) > MAX_CELL_TEXT or ILLEGAL_CHARACTERS_RE.search(value):
            return text_cell(sheet, value)
        return value
    if isinstance(value, (datetime, date, time)):
        return _dated(sheet, value, number_format)
    if number_format and isinstance(value, _NUMBERS) and not isinstance(value, bool):
        formatted = WriteOnlyCell(sheet, value=value)
        formatted.number_format = number_format
        return formatted
    if isinstance(value, _NUMBERS):
        return value
    return text_cell(sheet, value)


def workbook_bytes(sheets: list[SheetSpec]) -> bytes:
    """An .xlsx of `sheets`, in order."""
    book = Workbook(write_only=True)
    for spec in sheets:
        _write_sheet(book, spec)
    return _saved(book)


def rejected_workbook(table: Table, rejected: list[tuple[SheetRow, list[str]]], reason_header: str) -> bytes:
    """The rejected rows as they came: the file's header row(s), then each row's own cells
    untouched (numbers stay numbers, dates dates, text text), and a last column of its reasons."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(table.sheet))
    width = max([len(table.header)] + [len(cells) for cells in table.header_cells])
    header_rows = table.header_cells or (tuple(table.header),)
    for n, cells in enumerate(header_rows):
        line = [_bold(sheet, v) for v in cells] + [None] * (width - len(cells))
        sheet.append(line + [_bold(sheet, reason_header) if n == 0 else None])
    for row, reasons in rejected:
        line = [cell(sheet, v) for v in row.cells] + [None] * (width - len(row.cells))
        sheet.append(line + [text_cell(sheet, "; ".join(str(r) for r in reasons))])
    return _saved(book)


def template_workbook(title: str, header: list[str], examples: list[tuple], instructions: list[str]) -> bytes:
    """A blank list to fill in: sheet 1 the title, the header and example rows; sheet 2
    "Hướng dẫn", the instructions one per row."""
    widths = [max(10, min(40, len(h) + 4)) for h in header]
    guide = SheetSpec(title=_("Hướng dẫn"), heading_lines=[], header=[_("Hướng dẫn điền danh sách")],
                      rows=[(line,) for line in instructions], column_widths=[120], freeze_header=False)
    return workbook_bytes([SheetSpec(title=_("Danh sách"), heading_lines=[title], header=header, rows=examples,
                                     column_widths=widths), guide])


# -- helpers

def _write_sheet(book: Workbook, spec: SheetSpec) -> None:
    sheet = book.create_sheet(_sheet_title(spec.title))
    for col, width in enumerate(spec.column_widths or (), 1):
        if width:
            sheet.column_dimensions[get_column_letter(col)].width = width
    if spec.freeze_header and spec.header:
        sheet.freeze_panes = f"A{len(spec.heading_lines) + 2}"
    for line in spec.heading_lines:
        sheet.append([_bold(sheet, line)])
    if spec.header:
        sheet.append([_bold(sheet, h) for h in spec.header])
    formats = list(spec.number_formats or ())
    if not formats:
        for row in spec.rows:
            sheet.append([cell(sheet, v) for v in row])
        return
    formats += [None] * 256
    for row in spec.rows:
        sheet.append([cell(sheet, v, f) for v, f in zip(row, formats)])


def _dated(sheet: WriteOnlyWorksheet, value, number_format: str | None) -> WriteOnlyCell:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=None)   # Excel has no time zones: the caller gives local time
        fmt = number_format or (DATE_FORMAT if value.time() == time() else DATETIME_FORMAT)
    elif isinstance(value, date):
        fmt = number_format or DATE_FORMAT
    else:
        fmt = number_format or "hh:mm"
    dated = WriteOnlyCell(sheet, value=value)
    dated.number_format = fmt
    return dated


def _bold(sheet: WriteOnlyWorksheet, value) -> WriteOnlyCell | None:
    made = cell(sheet, value)
    if made is None:
        return None
    if not isinstance(made, Cell):                 # WriteOnlyCell is a factory of Cell
        made = WriteOnlyCell(sheet, value=made)
    made.font = _BOLD
    if isinstance(made.value, str):
        made.alignment = _WRAP
    return made


def _sheet_title(title: str) -> str:
    """Excel's rules for a sheet name: 31 characters at most, none of [ ] : * ? / \\."""
    cleaned = " ".join(str(title).translate(_SHEET_TITLE_FORBIDDEN).split()).strip("'")
    return cleaned[:31] or "Sheet1"


def _saved(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()
