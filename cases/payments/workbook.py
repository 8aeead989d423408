"""A provider's payment list as the workbook sent to it (issue 18, item 2): a pure function, the
list's header and lines in, .xlsx bytes out.

Three sheets: "Danh sách chi trả" (who is paid, how much, into which account, then the control
totals the provider checks its own sums against), "Thay đổi" (the differences against last
month, each with its reason in words) and "Tổng hợp" (counts and sums per commune and policy
group, for the Treasury transfer).

The title blocks, headings, control totals and the summary are openpyxl's; the rows of the lines
and of the differences (100,000 and more on a first list) are written as the sheets' XML
(cases.sheets.xml_rows: openpyxl's own write of their 1,300,000 cells was most of the time, longer
than writing the bare values), held in a temporary file until the workbook is saved, so memory
stays flat. Text from people (names, ID and account numbers) is always a text cell, never a
number, a formula or an error value; money is a number formatted `#,##0`. The same header and lines
always give the same bytes (every date inside the file is the list's own), so a signed list's
stored workbook can be built again and compared with its SHA-256.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cases.changes import to_local, written
from cases.models.payments import LineChange
from cases.collector import collector_paused
from cases.sheets.writer import text_cell
from cases.sheets.xml_rows import EMPTY, XmlCells, XmlRows, make_look, saved_workbook

# The columns of the list, in order; a provider's layout renames them (never reorders or drops).
PAYMENT_LIST_COLUMNS = ("stt", "case_id", "full_name", "national_id", "commune", "account_holder_name",
                        "account_number", "monthly_amount", "arrears_amount", "amount", "policy_group", "change")
COLUMNS = PAYMENT_LIST_COLUMNS
PAYMENT_LIST_HEADINGS = {
    "stt": _l("STT"),
    "case_id": _l("Mã hồ sơ"),
    "full_name": _l("Họ và tên"),
    "national_id": _l("Số CCCD"),
    "commune": _l("Xã/phường"),
    "account_holder_name": _l("Chủ tài khoản"),
    "account_number": _l("Số tài khoản"),
    "monthly_amount": _l("Mức trợ cấp tháng (đồng)"),
    "arrears_amount": _l("Truy lĩnh (đồng)"),
    "amount": _l("Số tiền chi trả (đồng)"),
    "policy_group": _l("Nhóm"),
    "change": _l("Thay đổi so với tháng trước"),
}
GROUPS = ("btxh", "ncc")
GROUP_LABELS = {"btxh": _l("BTXH"), "ncc": _l("NCC")}
GROUP_NAMES = {"btxh": _l("Bảo trợ xã hội (BTXH)"), "ncc": _l("Người có công (NCC)"), "all": _l("Tổng cộng")}
CHANGE_LABELS = {
    LineChange.NEW.value: _l("Mới"),
    LineChange.REMOVED.value: _l("Thôi khỏi danh sách"),
    LineChange.ACCOUNT_CHANGED.value: _l("Đổi tài khoản"),
    LineChange.AMOUNT_CHANGED.value: _l("Đổi mức chi trả"),
}
SAME_LABEL = _l("Không thay đổi")
# Why a line is new or removed (the codes of cases.payments.lists); a code not here is shown as is.
REASON_LABELS = {
    "first_list": _l("Danh sách đầu tiên của tổ chức chi trả"),
    "new_account": _l("Mở tài khoản mới"),
    "new_beneficiary": _l("Bắt đầu hưởng"),
    "resumed": _l("Tiếp tục hưởng sau tạm dừng (có truy lĩnh)"),
    "moved_provider": _l("Chuyển tổ chức chi trả"),
    "suspended": _l("Tạm dừng hưởng"),
    "terminated": _l("Thôi hưởng"),
    "switched_to_cash": _l("Chuyển sang nhận tiền mặt"),
    "switched_to_account": _l("Chuyển sang nhận qua tài khoản"),
    "not_receiving": _l("Không còn hưởng trợ cấp"),
}
# Said when a changed line carries no reason code of its own.
CHANGE_REASONS = {
    LineChange.ACCOUNT_CHANGED.value: _l("Số tài khoản nhận tiền thay đổi"),
    LineChange.AMOUNT_CHANGED.value: _l("Mức trợ cấp tháng hoặc truy lĩnh thay đổi"),
}
CHANGES_ORDER = (LineChange.NEW.value, LineChange.REMOVED.value, LineChange.ACCOUNT_CHANGED.value,
                 LineChange.AMOUNT_CHANGED.value)
MONEY_FORMAT = "#,##0"
TOTALS_COLUMN = 3                     # the control totals' labels sit under "Họ và tên", then count, sum
_WIDTHS = {"stt": 6, "case_id": 10, "full_name": 26, "national_id": 15, "commune": 20, "account_holder_name": 24,
           "account_number": 19, "monthly_amount": 14, "arrears_amount": 13, "amount": 15, "policy_group": 8,
           "change": 16, "reason": 38}
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=13)


@dataclass(frozen=True)
class ListHeader:
    """What the workbook says about the list itself. Moments are UTC (shown in local time)."""
    list_id: int
    provider_name: str
    provider_short_name: str
    province_name: str
    month: date                              # the first day of the month paid
    cut_off_at: datetime
    signed_by: str | None
    signed_at: datetime | None
    totals: dict[str, dict[str, int]]        # "btxh" / "ncc" / "all" → {"count", "amount"}; {}: not checked


@dataclass(frozen=True)
class LineRow:
    """One line of the list, as the workbook shows it."""
    case_id: int
    full_name: str
    national_id: str | None
    commune_name: str
    policy_group: str                        # "btxh" or "ncc"
    in_cash: bool
    account_holder_name: str | None
    account_number: str | None
    monthly_amount: int
    arrears_amount: int
    amount: int                              # 0 on a removed line
    change: str                              # a LineChange value
    reason: str | None = None                # a code of REASON_LABELS (or several, comma-separated)


def column_headings(layout: dict[str, str] | None = None) -> dict[str, str]:
    """Each column's heading: a provider's own where its layout names one, ours otherwise.
    Keys a layout has that are not columns, and blank headings, are ignored."""
    headings = {key: str(heading) for key, heading in PAYMENT_LIST_HEADINGS.items()}
    for key, heading in (layout or {}).items():
        if key in headings and heading and str(heading).strip():
            headings[key] = str(heading).strip()
    return headings


def reason_text(change: str, reason: str | None) -> str:
    """Why a line changed, in words: each reason code's label (an unknown code as it is), or what
    the change itself says when there is no code."""
    codes = [code.strip() for code in (reason or "").split(",") if code.strip()]
    if not codes:
        return str(CHANGE_REASONS.get(change, ""))
    return "; ".join(str(REASON_LABELS.get(code, code)) for code in codes)


def payment_list_workbook(header: ListHeader, lines: Iterable[LineRow], layout: dict[str, str] | None = None,
                          language: str = "vi") -> bytes:
    """The workbook of a payment list, headings in the provider's `layout`, labels in `language`.
    `lines` is read once, in order (a stream will do). Needs an app context (translations), no
    database.

    :raise ValueError: `header.totals` (when given) differ from the sums of the lines paid, or a
        line's amount is negative, or a removed line has an amount.
    """
    headings = column_headings(layout)
    with force_locale(language), collector_paused(), ExitStack() as held:
        book = Workbook()
        book.remove(book.active)             # the sheets are made below, in their order
        tally = _Tally()
        paid = _paid_sheet(book, held, header, lines, headings, tally, language)
        changed = _changes_sheet(book, held, header, tally.changed, headings, language)
        _summary_sheet(book, header, tally.communes, tally.totals, language)
        return saved_workbook(book, header.signed_at or header.cut_off_at, [paid, changed])


# -- sheet 1: the list -----------------------------------------------------------------------------

class _Tally:
    """What the rows add up to, gathered while they stream past: the control totals, the lines per
    commune, and the changed lines (few) for sheet 2."""

    def __init__(self):
        self.totals = {key: {"count": 0, "amount": 0} for key in (*GROUPS, "all")}
        self.communes: dict[str, dict[str, dict[str, int]]] = {}
        self.changed: list[LineRow] = []

    def add_paid(self, line: LineRow) -> None:
        commune = self.communes.get(line.commune_name)
        if commune is None:
            commune = self.communes[line.commune_name] = {key: {"count": 0, "amount": 0} for key in (*GROUPS, "all")}
        for sums in (self.totals, commune):
            for key in (line.policy_group, "all"):
                group = sums.setdefault(key, {"count": 0, "amount": 0})
                group["count"] += 1
                group["amount"] += line.amount


def _paid_sheet(book: Workbook, held: ExitStack, header: ListHeader, lines: Iterable[LineRow],
                headings: dict[str, str], tally: _Tally, language: str) -> XmlRows:
    """Sheet 1, its table of the lines paid (returned, to be set in place when saved)."""
    sheet = book.create_sheet(_("Danh sách chi trả")[:31])
    block = _title_block(header, _("DANH SÁCH CHI TRẢ THÁNG %(month)s", month=written(header.month, "month", language)),
                         language)
    table = held.enter_context(_headed_table(sheet, block, PAYMENT_LIST_COLUMNS, headings))
    rows = _Rows(table, PAYMENT_LIST_COLUMNS)
    for line in _checked(lines):
        if line.change != LineChange.SAME.value:
            tally.changed.append(line)
        if line.amount > 0:
            tally.add_paid(line)
            rows.add(line)
    _check_totals(header.totals, tally.totals)
    _totals_block(sheet, tally.totals, table.next_row + 1)
    return table


def _checked(lines: Iterable[LineRow]) -> Iterator[LineRow]:
    for line in lines:
        if line.amount < 0 or (line.amount and line.change == LineChange.REMOVED.value):
            raise ValueError(f"case {line.case_id}: amount {line.amount} on a {line.change} line")
        yield line


class _Rows:
    """The rows of sheets 1 and 2 as XML: each line's cells made by their kind, then set in the
    sheet's columns (`keys`, in order), an empty one left out.

    Text from people goes through the writer's gate (XmlCells.text, as text_cell): always an inline
    string, so digits keep their zeros ("0012345678"), "=..." stays text (quote-prefixed) and "#N/A"
    is no error value. Words a column repeats (a commune, a group, a change, a reason) are made once.
    """

    def __init__(self, table: XmlRows, keys: tuple[str, ...]):
        self.table = table
        self.cells = XmlCells(table.sheet)
        self.money = make_look(table.sheet, number_format=MONEY_FORMAT)
        self.columns = [(key, get_column_letter(n)) for n, key in enumerate(keys, 1)]
        self.with_reason = "reason" in keys
        self.groups = {key: str(label) for key, label in GROUP_LABELS.items()}    # translated once
        self.changes = {key: str(label) for key, label in CHANGE_LABELS.items()}
        self.reasons: dict[tuple, str] = {}

    def add(self, line: LineRow) -> None:
        """The line's row, numbered from 1 down the table."""
        at = self.table.next_row
        number, text, words, money = self.cells.number, self.cells.text, self.cells.label, self.money
        cells = {"stt": number(at - self.table.first_row + 1), "case_id": number(line.case_id),
                 "full_name": text(line.full_name), "national_id": text(line.national_id),
                 "commune": words(line.commune_name), "account_holder_name": text(line.account_holder_name),
                 "account_number": text(line.account_number), "monthly_amount": number(line.monthly_amount, money),
                 "arrears_amount": number(line.arrears_amount, money), "amount": number(line.amount, money),
                 "policy_group": words(self.groups.get(line.policy_group, line.policy_group)),
                 "change": words(self.changes.get(line.change))}
        if self.with_reason:
            cells["reason"] = words(self._reason(line))     # an unknown code is shown as it came, as text
        self.table.add("".join([f'<c r="{letter}{at}"{cells[key]}' for key, letter in self.columns
                                if cells[key] is not EMPTY]))

    def _reason(self, line: LineRow) -> str:
        key = (line.change, line.reason)
        words = self.reasons.get(key)
        if words is None:
            words = self.reasons[key] = reason_text(line.change, line.reason)
        return words


def _check_totals(expected: dict[str, dict[str, int]], found: dict[str, dict[str, int]]) -> None:
    """The list's stored control totals must be what its lines add up to: a workbook whose totals
    block disagrees with its rows is never produced."""
    for key, sums in (expected or {}).items():
        got = found.get(key, {"count": 0, "amount": 0})
        if (int(sums.get("count", 0)), int(sums.get("amount", 0))) != (got["count"], got["amount"]):
            raise ValueError(f"control totals of {key!r}: the list says {sums}, its lines add up to {got}")


def _totals_block(sheet: Worksheet, totals: dict[str, dict[str, int]], at: int) -> None:
    """Plain stored values (no formula) from row `at` down: the provider checks them against its
    own sums."""
    _put(sheet, at, [_bold(sheet, _("TỔNG KIỂM SOÁT")), _bold(sheet, _("Số người")), _bold(sheet, _("Số tiền (đồng)"))])
    for row, key in enumerate((*GROUPS, "all"), at + 1):
        bold = key == "all"
        _put(sheet, row, [_text(sheet, str(GROUP_NAMES[key]), bold), _number(sheet, totals[key]["count"], bold),
                          _number(sheet, totals[key]["amount"], bold)])


def _put(sheet: Worksheet, row: int, cells: list[Cell]) -> None:
    """`cells` in `row` from TOTALS_COLUMN on: below the table's XML rows, where `append`, which
    goes on from openpyxl's own last row, would not reach."""
    for column, made in enumerate(cells, TOTALS_COLUMN):
        made.row, made.column = row, column
        sheet._add_cell(made)


# -- sheet 2: the differences against last month ---------------------------------------------------

_CHANGE_COLUMNS = ("stt", "case_id", "full_name", "national_id", "commune", "policy_group", "account_holder_name",
                   "account_number", "monthly_amount", "arrears_amount", "amount", "change", "reason")


def _changes_sheet(book: Workbook, held: ExitStack, header: ListHeader, changed: list[LineRow],
                   headings: dict[str, str], language: str) -> XmlRows:
    """Sheet 2, its table of the changed lines (returned, to be set in place when saved)."""
    sheet = book.create_sheet(_("Thay đổi")[:31])
    month = written(header.month, "month", language)
    block = _title_block(header, _("THAY ĐỔI SO VỚI THÁNG TRƯỚC – DANH SÁCH CHI TRẢ THÁNG %(month)s", month=month),
                         language)
    by_kind = {kind: [line for line in changed if line.change == kind] for kind in CHANGES_ORDER}
    counts = " · ".join(f"{CHANGE_LABELS[kind]}: {len(found)}" for kind, found in by_kind.items())
    block.append(lambda s: [text_cell(s, counts)])
    table = held.enter_context(_headed_table(sheet, block, _CHANGE_COLUMNS, {**headings, "reason": _("Lý do")}))
    rows = _Rows(table, _CHANGE_COLUMNS)
    for kind in CHANGES_ORDER:
        for line in by_kind[kind]:
            rows.add(line)
    return table


# -- sheet 3: per commune and policy group ---------------------------------------------------------

_SUMMARY_HEADINGS = (_l("STT"), _l("Xã/phường"), _l("Số người BTXH"), _l("Số tiền BTXH (đồng)"), _l("Số người NCC"),
                     _l("Số tiền NCC (đồng)"), _l("Tổng số người"), _l("Tổng số tiền (đồng)"))
_SUMMARY_WIDTHS = (6, 26, 12, 18, 12, 18, 12, 18)


def _summary_sheet(book: Workbook, header: ListHeader, communes: dict[str, dict[str, dict[str, int]]],
                   total: dict[str, dict[str, int]], language: str) -> None:
    sheet = book.create_sheet(_("Tổng hợp")[:31])
    month = written(header.month, "month", language)
    block = _title_block(header, _("TỔNG HỢP CHI TRẢ THEO XÃ/PHƯỜNG THÁNG %(month)s", month=month), language)
    for column, width in enumerate(_SUMMARY_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{len(block) + 3}"
    for line in block:
        sheet.append(line(sheet))
    sheet.append([])
    sheet.append([_bold(sheet, str(heading)) for heading in _SUMMARY_HEADINGS])
    for number, name in enumerate(sorted(communes, key=_name_order), 1):
        sheet.append([number, text_cell(sheet, name), *_group_sums(sheet, communes[name], False)])
    sheet.append([None, _text(sheet, str(GROUP_NAMES["all"]), True), *_group_sums(sheet, total, True)])


def _group_sums(sheet: Worksheet, sums: dict[str, dict[str, int]], bold: bool) -> list:
    return [_number(sheet, sums[key][part], bold) for key in (*GROUPS, "all") for part in ("count", "amount")]


def _name_order(name: str) -> tuple[str, str]:
    """Communes in the order a reader looks for them: by their letters, marks set aside ("Xã Đồng
    Đăng" among the D's), then exactly."""
    folded = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if not unicodedata.combining(c)).casefold(), name


# -- shared pieces ---------------------------------------------------------------------------------

def _title_block(header: ListHeader, title: str, language: str) -> list:
    """The lines above a sheet's table, each a function of the sheet giving the row's cells."""
    provider = f"{header.provider_name} ({header.provider_short_name})"
    cut_off = _("Số liệu chốt lúc %(moment)s · Danh sách số %(number)d", moment=_moment(header.cut_off_at, language),
                number=header.list_id)
    if header.signed_by and header.signed_at:
        signed = _("Ký duyệt: %(name)s, lúc %(moment)s", name=header.signed_by,
                   moment=_moment(header.signed_at, language))
    else:
        signed = _("Chưa ký duyệt")
    return [lambda s: [_text(s, provider, True)], lambda s: [_text(s, header.province_name, True)],
            lambda s: [_text(s, title, True, _TITLE)], lambda s: [text_cell(s, cut_off)],
            lambda s: [text_cell(s, signed)]]


def _moment(moment: datetime, language: str) -> str:
    local = to_local(moment)
    return f"{written(local.date(), 'day', language)} {local:%H:%M}"


def _headed_table(sheet: Worksheet, block: list, keys: tuple[str, ...], headings: dict[str, str]) -> XmlRows:
    """The title block, a blank row and the heading row of `keys` (frozen, each column its width),
    and the table's rows to come under them."""
    for column, key in enumerate(keys, 1):
        sheet.column_dimensions[get_column_letter(column)].width = _WIDTHS[key]
    for line in block:
        sheet.append(line(sheet))
    sheet.append([])
    sheet.append([_bold(sheet, headings[key]) for key in keys])
    sheet.freeze_panes = f"A{sheet.max_row + 1}"
    return XmlRows(sheet, sheet.max_row + 1)


def _text(sheet: Worksheet, value: str | None, bold: bool = False, font: Font = _BOLD):
    made = text_cell(sheet, value)
    if made is not None and bold:
        made.font = font
    return made


def _bold(sheet: Worksheet, value: str | None):
    return _text(sheet, value, True)


def _number(sheet: Worksheet, value: int, bold: bool = False) -> WriteOnlyCell:
    made = WriteOnlyCell(sheet, value=value)
    made.number_format = MONEY_FORMAT
    if bold:
        made.font = _BOLD
    return made
