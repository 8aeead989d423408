"""The one reader of spreadsheets: bytes in, a list's data rows under its recognised header out.

`check_file` passes the bytes first; python-calamine (Rust) then reads .xlsx, .xls and .ods alike,
and every row a sheet holds: the sheet's declared dimension is not trusted (tests/test_sheets_reader.py
proves a lying one drops nothing).
"""
from __future__ import annotations

import io
import logging
from operator import itemgetter

from flask_babel import gettext as _
from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum, SheetVisibleEnum

from cases.errors import DomainError
from cases.sheets import SheetRow, Table
from cases.collector import collector_paused
from cases.sheets.header import (HEADER_SEARCH_ROWS, Header, find_header, is_blank_row, is_end_row,
                                 is_numbering_row, synonyms)
from cases.sheets.safety import MAX_UPLOAD_BYTES, check_file, password_protected

log = logging.getLogger(__name__)


class SheetError(DomainError):
    """The file passed the safety checks but holds no list that can be read; the message says why."""


def read_table(data: bytes, filename: str, list_name: str, required: frozenset[str],
               max_bytes: int | None = None) -> Table:
    """The data rows of the first visible sheet whose header recognises every `required` field of
    `list_name` ("beneficiaries", "police_results"); titles, the header, a numbering row, blank
    rows, the total row and the signature block are left out.

    :raise UnsafeFile: the bytes fail `check_file`.
    :raise SheetError: the file cannot be read (damaged, password-protected), or no sheet has
        such a header (the message names the columns looked for).
    """
    check_file(data, filename, max_bytes or MAX_UPLOAD_BYTES)
    nearest: tuple[str, Header] | None = None
    with _open(data, filename) as book:
        for name in _visible_sheets(book):
            sheet = _sheet(book, name, filename)
            rows = _rows(sheet, filename)
            merged = sheet.merged_cell_ranges
            header = find_header(rows, list_name, required, merged)
            if header is not None:
                table = Table(sheet=name, header_rows=tuple(i + 1 for i in header.rows), header=header.texts,
                              columns=header.columns, ignored=header.ignored,
                              header_cells=tuple(tuple(rows[i]) for i in header.rows))
                table.rows, table.end_rows = _data_rows(rows, header.rows[-1] + 1, header.columns)
                return table
            partial = find_header(rows, list_name, frozenset(), merged)
            if partial is not None and (nearest is None or len(partial.found) > len(nearest[1].found)):
                nearest = name, partial
    raise _no_header(filename, list_name, required, nearest)


def read_sheets(data: bytes, filename: str) -> list[tuple[str, list[list]]]:
    """Every sheet's rows as Python values, from the sheet's first row (the benchmark's bare read).
    :raise UnsafeFile, SheetError: as `read_table`."""
    check_file(data, filename)
    with _open(data, filename) as book:
        return [(name, _rows(_sheet(book, name, filename), filename)) for name in book.sheet_names]


def _data_rows(rows: list[list], start: int, columns: dict[str, int]) -> tuple[list[SheetRow], list[tuple]]:
    """The data rows from `start`, and the rows from the end row (a total row) on, as read."""
    with collector_paused():
        return _collect(rows, start, columns)


def _collect(rows: list[list], start: int, columns: dict[str, int]) -> tuple[list[SheetRow], list[tuple]]:
    if start < len(rows) and is_numbering_row(rows[start]):
        start += 1
    fields = tuple(columns)
    pick = itemgetter(*columns.values()) if len(columns) > 1 else lambda row: (row[next(iter(columns.values()))],)
    out = []
    for index in range(start, len(rows)):
        row = rows[index]
        if is_blank_row(row):
            continue
        if is_end_row(row):
            return out, [tuple(rest) for rest in rows[index:]]
        out.append(SheetRow(index + 1, tuple(row), dict(zip(fields, pick(row)))))
    return out, []


def _open(data: bytes, filename: str) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError:
        raise _password(filename) from None
    except CalamineError as error:
        log.info("calamine refused an upload: %s", type(error).__name__)
        raise _damaged(filename) from None


def _sheet(book: CalamineWorkbook, name: str, filename: str):
    try:
        return book.get_sheet_by_name(name)
    except PasswordError:
        raise _password(filename) from None
    except CalamineError as error:
        log.info("calamine could not read a sheet: %s", type(error).__name__)
        raise _damaged(filename) from None


def _rows(sheet, filename: str) -> list[list]:
    """The sheet's rows from its first (A1), so that a row's index + 1 is its number in Excel."""
    try:
        return sheet.to_python(skip_empty_area=False)
    except CalamineError as error:
        log.info("calamine could not read a sheet's cells: %s", type(error).__name__)
        raise _damaged(filename) from None


def _visible_sheets(book: CalamineWorkbook) -> list[str]:
    return [m.name for m in book.sheets_metadata
            if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet]


def _no_header(filename: str, list_name: str, required: frozenset[str], nearest: tuple[str, Header] | None) -> SheetError:
    """Name the columns looked for; when some row came close (two fields or more), where it is and
    which required columns it lacks."""
    labels = synonyms().labels[list_name]
    order = list(labels)

    def named(fields) -> str:
        return ", ".join(f"«{labels[f]}»" for f in sorted(fields, key=order.index))
    if nearest is not None and len(nearest[1].found) >= 2:
        sheet, header = nearest
        return SheetError(_("Dòng tiêu đề ở dòng %(row)s của trang «%(sheet)s» thiếu cột %(missing)s: hãy thêm cột đó "
                            "hoặc sửa tên cột rồi tải lên lần nữa.", row=header.rows[0] + 1, sheet=sheet,
                            missing=named(required - header.found)))
    return SheetError(_("Không tìm thấy dòng tiêu đề có cột %(columns)s trong %(rows)s dòng đầu của tệp «%(name)s»: "
                        "hãy kiểm tra tên các cột.", columns=named(required), rows=HEADER_SEARCH_ROWS, name=filename))


def _password(filename: str) -> SheetError:
    return SheetError(password_protected(filename).message)     # the safety check's own words


def _damaged(filename: str) -> SheetError:
    return SheetError(_("Tệp «%(name)s» bị hỏng hoặc không phải bảng tính đọc được: hãy mở bằng Excel, lưu lại thành "
                        ".xlsx rồi tải lên lần nữa.", name=filename))
