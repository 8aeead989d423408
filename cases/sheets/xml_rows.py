"""A large table's rows written as the sheet's XML directly, set in place as the workbook is saved.

openpyxl makes and writes each cell through ElementTree (lxml is not installed), some 12 µs a
cell, where a formatted string takes a fraction of one: a report's 73,000 cells or a payment
list's 1,200,000 spend most of their workbook's time there. So a workbook keeps what is around its
table in openpyxl (headings, merged cells, totals, widths, print settings), and its table's rows go
through `XmlCells` into `XmlRows`; `saved_workbook` sets them in place between openpyxl's rows.

The cells are written as openpyxl writes them (an inline string; the index of its style array,
added to the workbook's cell styles as openpyxl adds it; a number as `%.16g`), and text goes
through the writer's gate (cases.sheets.writer.text_cell): never a formula, quote-prefixed when it
begins like one. The saved workbook is dated one moment throughout, so the same input gives the
same bytes.
"""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from datetime import datetime
from io import BytesIO
from tempfile import SpooledTemporaryFile
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font
from openpyxl.styles.cell_style import StyleArray
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from cases.sheets.writer import FORMULA_STARTS, MAX_CELL_TEXT, text_cell

# What sends a text the long way, through text_cell: a formula's first character, a character no
# sheet may hold, or one XML must escape.
_NEEDS_CARE = re.compile(f"^[{re.escape(''.join(FORMULA_STARTS))}]|{ILLEGAL_CHARACTERS_RE.pattern}|[&<>]")
_ROW_START = re.compile(rb'<row r="(\d+)"')
_DIMENSION = re.compile(rb'(<dimension ref="[A-Z]+\d+:[A-Z]+)(\d+)"')
EMPTY = ' t="n" />'                     # an empty cell without a style, which a row may leave out as openpyxl does
_ROWS_A_CHUNK = 2_000                  # rows encoded and set aside at a time
_IN_MEMORY = 8 << 20                   # bytes of rows kept in memory before they go to a temporary file


def make_look(sheet: Worksheet, font: Font | None = None, border: Border | None = None,
         alignment: Alignment | None = None, number_format: str | None = None) -> StyleArray:
    """The style array of a cell so styled, for cells to share (copying one onto a cell, or
    naming it in the XML, is much cheaper than setting a font, border and format on each)."""
    scratch = Cell(sheet)
    if font is not None:
        scratch.font = font
    if border is not None:
        scratch.border = border
    if alignment is not None:
        scratch.alignment = alignment
    if number_format:
        scratch.number_format = number_format
    return scratch._style


class XmlCells:
    """A cell's XML after its reference (`<c r="C11"`, the caller's), as openpyxl writes the cell;
    a look None is no style at all (and an empty cell then EMPTY itself)."""

    def __init__(self, sheet: Worksheet):
        self.sheet = sheet
        self._styles: dict[tuple[int, bool], str] = {(id(None), False): ""}
        self._labels: dict[tuple[str | None, int], str] = {}

    def number(self, value, look: StyleArray | None = None) -> str:
        """A number (int or Decimal; None: an empty cell)."""
        style = self._styles.get((id(look), False))
        if style is None:
            style = self._style(look)
        if value is None:
            return f'{style}{EMPTY}'
        return f'{style} t="n"><v>{"%.16g" % value}</v></c>'

    def text(self, value, look: StyleArray | None = None) -> str:
        """A text cell as text_cell makes it (cases.sheets.writer): never a formula, quote-prefixed
        when it begins like one, illegal characters gone; None and "" an empty cell."""
        if value.__class__ is str and value and _NEEDS_CARE.search(value) is None and len(value) <= MAX_CELL_TEXT:
            style = self._styles.get((id(look), False))      # what text_cell would keep
            if style is None:
                style = self._style(look)
            stripped = value.strip()
            preserve = ' xml:space="preserve"' if stripped and value != stripped else ""
            return f'{style} t="inlineStr"><is><t{preserve}>{value}</t></is></c>'
        return self._made_text(value, look)

    def label(self, value, look: StyleArray | None = None) -> str:
        """`text` for words a column repeats over thousands of rows (a group, a commune's name):
        each made once."""
        key = (value, id(look))
        made = self._labels.get(key)
        if made is None:
            made = self._labels[key] = self._made_text(value, look)
        return made

    def formula(self, formula: str, stored, look: StyleArray) -> str:
        """`formula` ("=SUM(...)", ours, never text from people), `stored` its result (None: none)."""
        result = "<v />" if stored is None else f"<v>{stored}</v>"
        return f'{self._style(look)}><f>{escape(formula[1:])}</f>{result}</c>'

    def _made_text(self, value, look: StyleArray | None) -> str:
        made = text_cell(self.sheet, value if value != "" else None)
        if made is None:
            return EMPTY if look is None else f'{self._style(look)}{EMPTY}'
        style, text = self._style(look, bool(made.quotePrefix)), made.value
        if not text:                          # nothing left once illegal characters are gone
            return f'{style} t="inlineStr" />'
        stripped = text.strip()
        preserve = ' xml:space="preserve"' if stripped and text != stripped else ""
        return f'{style} t="inlineStr"><is><t{preserve}>{escape(text)}</t></is></c>'

    def _style(self, look: StyleArray | None, quoted: bool = False) -> str:
        """The cell's `s` attribute: the look's index among the workbook's cell styles, added there
        as openpyxl adds a cell's style when it writes the cell; quote-prefixed when `quoted`."""
        key = (id(look), quoted)
        if key not in self._styles:
            array = StyleArray(look) if look is not None else StyleArray()
            if quoted:
                array.quotePrefix = True
            self._styles[key] = f' s="{self.sheet.parent._cell_styles.add(array)}"'
        return self._styles[key]


class XmlRows:
    """A table's rows, from `first_row` down, in a sheet of the workbook; held (in memory, then in a
    temporary file past a few megabytes) until `saved_workbook` sets them in place. Use as a
    context manager, which discards what it holds."""

    def __init__(self, sheet: Worksheet, first_row: int):
        self.sheet = sheet
        self.first_row = self.next_row = first_row
        self._pending: list[str] = []
        self._held = SpooledTemporaryFile(max_size=_IN_MEMORY)

    def add(self, cells: str) -> None:
        """Row `next_row`, its cells' XML (each cell's reference in that row: `<c r="A12"...`)."""
        self._pending.append(f'<row r="{self.next_row}">{cells}</row>')
        self.next_row += 1
        if len(self._pending) == _ROWS_A_CHUNK:
            self._set_aside()

    @property
    def last_row(self) -> int:
        return self.next_row - 1

    def size(self) -> int:
        """The bytes of XML the rows take."""
        self._set_aside()
        return self._held.tell()

    def copy_to(self, target) -> None:
        self._set_aside()
        self._held.seek(0)
        shutil.copyfileobj(self._held, target, 1 << 20)

    def _set_aside(self) -> None:
        if self._pending:
            self._held.write("".join(self._pending).encode())
            self._pending = []

    def __enter__(self) -> XmlRows:
        return self

    def __exit__(self, *exc) -> None:
        self._held.close()


def saved_workbook(book: Workbook, moment: datetime, tables: Iterable[XmlRows] = ()) -> bytes:
    """The workbook's bytes with each of `tables` in its sheet, dated `moment` inside (its
    properties and every member of the zip): the same input always gives the same bytes, so a
    stored workbook can be built again and compared.

    :raise ValueError: a table's rows would overlap rows of its sheet written by openpyxl.
    """
    book.properties.creator = "AnSinh"
    book.properties.created = book.properties.modified = moment
    out = BytesIO()
    ExcelWriter(book, SteadyZip(out, moment, tables)).save()
    return out.getvalue()


class SteadyZip(ZipFile):
    """A zip whose members are all dated one moment (zipfile dates them now, or by a file's mtime);
    a worksheet, which openpyxl writes from a file, gets its table's rows (if it has a table)."""

    def __init__(self, out: BytesIO, moment: datetime, tables: Iterable[XmlRows] = ()):
        super().__init__(out, "w", ZIP_DEFLATED, allowZip64=True)
        self._date_time = moment.timetuple()[:6]
        self._tables = list(tables)

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._member(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename, arcname=None, *args, **kwargs):
        arcname = arcname or str(filename)
        with open(filename, "rb") as source:
            xml = source.read()
        # A sheet's part name ("xl/worksheets/sheet2.xml") is given by openpyxl as it writes it.
        table = next((rows for rows in self._tables if rows.sheet.path[1:] == arcname), None)
        if table is None:
            self.writestr(arcname, xml)
            return
        at = _insertion_point(xml, table)
        head, tail = _with_rows_counted(xml[:at], table.last_row), xml[at:]
        member = self._member(arcname)
        member.file_size = len(head) + table.size() + len(tail)    # zipfile's choice of zip64, as writestr's
        with self.open(member, "w") as target:
            target.write(head)
            table.copy_to(target)
            target.write(tail)

    def _member(self, name: str) -> ZipInfo:
        member = ZipInfo(name, date_time=self._date_time)
        member.compress_type = self.compression
        member.external_attr = 0o600 << 16
        return member


def _insertion_point(xml: bytes, table: XmlRows) -> int:
    """Where the table's rows go in the sheet's XML: before openpyxl's first row below them, or at
    the end of the sheet's data."""
    for row in _ROW_START.finditer(xml):
        number = int(row[1])
        if number >= table.first_row:
            if number <= table.last_row:
                raise ValueError(f"row {number} of {table.sheet.title!r} is within its table's rows "
                                 f"{table.first_row}–{table.last_row}")
            return row.start()
    return xml.index(b"</sheetData>")


def _with_rows_counted(head: bytes, last_row: int) -> bytes:
    """The sheet's dimension (its used range, which readers may size the sheet by) down to the
    table's last row when the table ends the sheet; its columns are the header's."""
    found = _DIMENSION.search(head)
    if found is None or int(found[2]) >= last_row:
        return head
    return head[:found.start(2)] + str(last_row).encode() + head[found.end(2):]
