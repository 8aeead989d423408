"""The report as CSV: the same columns as the workbook (`cases.reports.columns`), one line each.

A header line (each column's group and heading joined), a line per commune, the total last.
Numbers are written plainly (`1492`, `29.7`: a point for the decimals, whatever the language) so a
program reads them back; text is made safe for spreadsheets: a cell beginning with = + - @ (or a
tab or line break) gets a leading apostrophe, so a commune named "=HYPERLINK(...)" opens as text.
The caller adds the UTF-8 byte-order mark when it sends the file.
"""
from __future__ import annotations

import csv
from io import StringIO

from flask_babel import force_locale, gettext as _

from cases.reports import columns as columns_
from cases.reports.columns import COLUMNS, TEXT
from cases.reports.figures import Report, Row
from cases.sheets.writer import FORMULA_STARTS


def report_csv(report: Report, language: str = "vi") -> str:
    """The CSV text of `report`, its headings in `language` ("vi" or "en"). Needs an app context
    (for the translations)."""
    with force_locale(language):
        out = StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header())
        read = columns_.reader(language)
        for n, row in enumerate(report.rows, 1):
            writer.writerow([n, *_cells(row, read)])
        writer.writerow(["", *_cells(report.total, read, str(columns_.TOTAL_LABEL))])
        return out.getvalue()


def header() -> list[str]:
    """The header line, in the current locale."""
    return [str(columns_.NUMBER_HEADING), _("Mã"), str(columns_.NAME_HEADING),
            *(f"{column.group} - {column.heading}" for column in COLUMNS)]


def _cells(row: Row, read, name: str | None = None) -> list[str]:
    values = [safe(row.code), safe(name if name is not None else row.name)]
    for column in COLUMNS:
        raw = read(row, column)
        values.append(safe(raw) if column.kind == TEXT else "" if raw is None else str(raw))
    return values


def safe(text) -> str:
    """`text` as a spreadsheet opens it as text: a leading apostrophe before = + - @ and the like."""
    text = "" if text is None else str(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
