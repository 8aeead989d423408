"""A provider's payment list as the workbook sent to it (issue 18, item 2): a pure function, the
list's header and lines in, .xlsx bytes out.

Three sheets: "Danh sách chi trả" (who is paid, how much, into which account, then the control
totals the provider checks its own sums against), "Thay đổi" (the differences against last
month, each with its reason in words) and "Tổng hợp" (counts and sums per commune and policy
group, for the Treasury transfer).

Written through the house's writer (cases.sheets.writer) in openpyxl's write-only mode, so a
100,000-line list streams to disk row by row: text from people (names, ID and account numbers) is
always a text cell, never a number or a formula; money is a number formatted `#,##0`. The same
header and lines always give the same bytes (every date inside the file is the list's own), so a
signed list's stored workbook can be built again and compared with its SHA-256.
"""
from __future__ import annotations

import shutil
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from cases.changes import to_local, written
from cases.models.payments import LineChange
from cases.sheets.collector import collector_paused
from cases.sheets.writer import cell, text_cell

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
_MONEY_KEYS = ("monthly_amount", "arrears_amount", "amount")
_WIDTHS = {"stt": 6, "case_id": 10, "full_name": 26, "national_id": 15, "commune": 20, "account_holder_name": 24,
           "account_number": 19, "monthly_amount": 14, "arrears_amount": 13, "amount": 15, "policy_group": 8,
           "change": 16, "reason": 38}
_ERROR_CODES = frozenset(ERROR_CODES)
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
    with force_locale(language), collector_paused():
        book = Workbook(write_only=True)
        try:
            tally = _Tally()
            _paid_sheet(book, header, lines, headings, tally, language)
            _changes_sheet(book, header, tally.changed, headings, language)
            _summary_sheet(book, header, tally.communes, tally.totals, language)
            return _saved(book, header.signed_at or header.cut_off_at)
        finally:
            _discard_temporary_files(book)


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


def _paid_sheet(book: Workbook, header: ListHeader, lines: Iterable[LineRow], headings: dict[str, str],
                tally: _Tally, language: str) -> None:
    sheet = book.create_sheet(_("Danh sách chi trả")[:31])
    block = _title_block(header, _("DANH SÁCH CHI TRẢ THÁNG %(month)s", month=written(header.month, "month", language)),
                         language)
    _prepare(sheet, PAYMENT_LIST_COLUMNS, header_at=len(block) + 2)
    for line in block:
        sheet.append(line(sheet))
    sheet.append([])
    sheet.append([_bold(sheet, headings[key]) for key in PAYMENT_LIST_COLUMNS])
    number, rows = 0, _Rows(sheet)
    for line in _checked(lines):
        if line.change != LineChange.SAME.value:
            tally.changed.append(line)
        if line.amount > 0:
            number += 1
            tally.add_paid(line)
            sheet.append(rows.paid(number, line))
    _check_totals(header.totals, tally.totals)
    _totals_block(sheet, tally.totals)


def _checked(lines: Iterable[LineRow]) -> Iterator[LineRow]:
    for line in lines:
        if line.amount < 0 or (line.amount and line.change == LineChange.REMOVED.value):
            raise ValueError(f"case {line.case_id}: amount {line.amount} on a {line.change} line")
        yield line


class _Rows:
    """The rows of sheets 1 and 2, made as cheaply as the writer's rules allow (the time of a
    100,000-line list is in openpyxl's per-cell work, so each row makes as few cell objects as it
    can; a first list has every line on both sheets).

    Text from people goes through the writer's gate (`cell`): a plain str that cannot be read as a
    formula is appended as it is, and openpyxl writes it as a text cell (digits too: "0012345678"
    stays text, zeros kept); anything else becomes a `text_cell`. Money needs a styled cell for its
    format: three are made once and given each row's amounts, which is safe because a write-only
    sheet writes a row out during `append` and never binds another value into a styled cell.
    """

    def __init__(self, sheet: WriteOnlyWorksheet):
        self.sheet = sheet
        self.groups = {key: str(label) for key, label in GROUP_LABELS.items()}    # translated once
        self.changes = {key: str(label) for key, label in CHANGE_LABELS.items()}
        self.reasons: dict[tuple, str] = {}
        self.money = tuple(_number(sheet, 0) for _ in _MONEY_KEYS)

    def paid(self, number: int, line: LineRow) -> list:
        sheet = self.sheet
        return [number, line.case_id, _person_text(sheet, line.full_name), _person_text(sheet, line.national_id),
                _person_text(sheet, line.commune_name), _person_text(sheet, line.account_holder_name),
                _person_text(sheet, line.account_number), *self._amounts(line),
                self.groups.get(line.policy_group, line.policy_group), self.changes.get(line.change)]

    def changed(self, number: int, line: LineRow) -> list:
        sheet = self.sheet
        return [number, line.case_id, _person_text(sheet, line.full_name), _person_text(sheet, line.national_id),
                _person_text(sheet, line.commune_name), self.groups.get(line.policy_group, line.policy_group),
                _person_text(sheet, line.account_holder_name), _person_text(sheet, line.account_number),
                *self._amounts(line), self.changes.get(line.change), self._reason(line)]

    def _amounts(self, line: LineRow):
        monthly, arrears, amount = line.monthly_amount, line.arrears_amount, line.amount
        if type(monthly) is type(arrears) is type(amount) is int:
            cells = self.money
            cells[0]._value, cells[1]._value, cells[2]._value = monthly, arrears, amount   # data_type "n"
            return cells
        return [cell(self.sheet, value, MONEY_FORMAT) for value in (monthly, arrears, amount)]

    def _reason(self, line: LineRow):
        key = (line.change, line.reason)
        words = self.reasons.get(key)
        if words is None:
            words = self.reasons[key] = reason_text(line.change, line.reason)
        return _person_text(self.sheet, words)       # an unknown code is shown as it came


def _person_text(sheet: WriteOnlyWorksheet, value):
    """Text someone typed, for `append`: never a formula, never a number, never an error value."""
    if value.__class__ is not str:
        return text_cell(sheet, value)                   # None stays empty; anything else made text
    made = cell(sheet, value)
    if made.__class__ is str and made in _ERROR_CODES:   # "#N/A" would be written as an error cell
        return text_cell(sheet, made)
    return made


def _check_totals(expected: dict[str, dict[str, int]], found: dict[str, dict[str, int]]) -> None:
    """The list's stored control totals must be what its lines add up to: a workbook whose totals
    block disagrees with its rows is never produced."""
    for key, sums in (expected or {}).items():
        got = found.get(key, {"count": 0, "amount": 0})
        if (int(sums.get("count", 0)), int(sums.get("amount", 0))) != (got["count"], got["amount"]):
            raise ValueError(f"control totals of {key!r}: the list says {sums}, its lines add up to {got}")


def _totals_block(sheet: WriteOnlyWorksheet, totals: dict[str, dict[str, int]]) -> None:
    """Plain stored values (no formula): the provider checks them against its own sums."""
    before = [None] * (TOTALS_COLUMN - 1)
    sheet.append([])
    sheet.append(before + [_bold(sheet, _("TỔNG KIỂM SOÁT")), _bold(sheet, _("Số người")),
                           _bold(sheet, _("Số tiền (đồng)"))])
    for key in (*GROUPS, "all"):
        bold = key == "all"
        sheet.append(before + [_text(sheet, str(GROUP_NAMES[key]), bold), _number(sheet, totals[key]["count"], bold),
                               _number(sheet, totals[key]["amount"], bold)])


# -- sheet 2: the differences against last month ---------------------------------------------------

_CHANGE_COLUMNS = ("stt", "case_id", "full_name", "national_id", "commune", "policy_group", "account_holder_name",
                   "account_number", "monthly_amount", "arrears_amount", "amount", "change", "reason")


def _changes_sheet(book: Workbook, header: ListHeader, changed: list[LineRow], headings: dict[str, str],
                   language: str) -> None:
    sheet = book.create_sheet(_("Thay đổi")[:31])
    month = written(header.month, "month", language)
    block = _title_block(header, _("THAY ĐỔI SO VỚI THÁNG TRƯỚC – DANH SÁCH CHI TRẢ THÁNG %(month)s", month=month),
                         language)
    by_kind = {kind: [line for line in changed if line.change == kind] for kind in CHANGES_ORDER}
    counts = " · ".join(f"{CHANGE_LABELS[kind]}: {len(found)}" for kind, found in by_kind.items())
    block.append(lambda s: [text_cell(s, counts)])
    _prepare(sheet, _CHANGE_COLUMNS, header_at=len(block) + 2)
    for line in block:
        sheet.append(line(sheet))
    sheet.append([])
    names = {**headings, "reason": _("Lý do")}
    sheet.append([_bold(sheet, names[key]) for key in _CHANGE_COLUMNS])
    rows = _Rows(sheet)
    for number, line in enumerate((line for kind in CHANGES_ORDER for line in by_kind[kind]), 1):
        sheet.append(rows.changed(number, line))


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


def _group_sums(sheet: WriteOnlyWorksheet, sums: dict[str, dict[str, int]], bold: bool) -> list:
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


def _prepare(sheet: WriteOnlyWorksheet, keys: tuple[str, ...], header_at: int) -> None:
    """Widths and the frozen header: set before the first row (write-only mode writes them first)."""
    for column, key in enumerate(keys, 1):
        sheet.column_dimensions[get_column_letter(column)].width = _WIDTHS[key]
    sheet.freeze_panes = f"A{header_at + 1}"


def _text(sheet: WriteOnlyWorksheet, value: str | None, bold: bool = False, font: Font = _BOLD):
    made = text_cell(sheet, value)
    if made is not None and bold:
        made.font = font
    return made


def _bold(sheet: WriteOnlyWorksheet, value: str | None):
    return _text(sheet, value, True)


def _number(sheet: WriteOnlyWorksheet, value: int, bold: bool = False) -> WriteOnlyCell:
    made = WriteOnlyCell(sheet, value=value)
    made.number_format = MONEY_FORMAT
    if bold:
        made.font = _BOLD
    return made



def _saved(book: Workbook, moment: datetime) -> bytes:
    """The workbook's bytes, every date inside (its properties, each member of the zip) `moment`."""
    book.properties.creator = "AnSinh"
    book.properties.created = book.properties.modified = moment
    out = BytesIO()
    ExcelWriter(book, _SteadyZip(out, moment)).save()
    return out.getvalue()


def _discard_temporary_files(book: Workbook) -> None:
    """Write-only sheets stream to temporary files, removed when saved; a workbook given up
    half-way (a ValueError) removes its own."""
    for sheet in book.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is not None and not sheet.closed:
            sheet.close()                  # ends its row stream, which would complain if left open
            writer.cleanup()


class _SteadyZip(ZipFile):
    """A zip whose members are all dated `moment` (zipfile dates them now, or by a file's mtime)."""

    def __init__(self, out: BytesIO, moment: datetime):
        super().__init__(out, "w", ZIP_DEFLATED, allowZip64=True)
        self._date_time = moment.timetuple()[:6]

    def _member(self, name: str) -> ZipInfo:
        member = ZipInfo(name, date_time=self._date_time)
        member.compress_type = self.compression
        member.external_attr = 0o600 << 16
        return member

    def writestr(self, zinfo_or_arcname, data, *args, **kwargs):
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = self._member(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, *args, **kwargs)

    def write(self, filename, arcname=None, *args, **kwargs):
        """A sheet's temporary file, streamed in (a 100,000-line sheet is tens of megabytes)."""
        with open(filename, "rb") as source, self.open(self._member(arcname or str(filename)), "w",
                                                        force_zip64=True) as target:
            shutil.copyfileobj(source, target, 1 << 20)
