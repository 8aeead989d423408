"""The one home for spreadsheets, in and out (issue 16): every import reads through `read_table`
(size and zip-bomb checks before any parsing, python-calamine for .xlsx, .xls and .ods, the header
row found by the synonym table in cases/data/column_synonyms.csv), and every export writes through
`cases.sheets.writer` (openpyxl, write-only; text from people always a text cell, never a formula).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SheetRow:
    number: int                  # the row number as the spreadsheet shows it (1-based)
    cells: tuple                 # the row's cells as read, untouched (for the rejected-rows workbook)
    values: dict[str, Any]       # field → the raw cell under the header recognised as that field


@dataclass
class Table:
    """A list's data rows under its recognised header."""
    sheet: str                                   # the sheet's name
    header_rows: tuple[int, ...]                 # the row number(s) of the header (two for a two-line header)
    header: list[str]                            # the header's text per column, as written (two lines joined)
    columns: dict[str, int]                      # field → column index (0-based)
    ignored: list[str] = field(default_factory=list)   # header texts not recognised
    rows: list[SheetRow] = field(default_factory=list)  # data rows only: no blank, total or signature row
    header_cells: tuple[tuple, ...] = ()               # the header row(s) as read, for the rejected-rows workbook
    end_rows: list[tuple] = field(default_factory=list)  # from the total row on, as read (a return's totals)
