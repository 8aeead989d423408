"""The audit trail as an Excel workbook: a pure function, rows in, bytes out.

Every text cell is written as text, whatever it begins with: a reason or a name typed as
`=HYPERLINK(...)` stays those characters and never becomes a formula when the file is opened.
The text is kept exactly rather than stripped (as indico does), because an audit export is
evidence and must read as the trail does; the cell is marked as text instead.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from io import BytesIO

from babel.numbers import format_decimal
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from cases.audit_trail import TrailRow
from cases.sheets.writer import text_cell

HEADERS = (_l("Số thứ tự"), _l("Thời gian"), _l("Người thực hiện"), _l("Vai trò"), _l("Việc"), _l("Hồ sơ số"),
           _l("Họ tên đối tượng"), _l("Xã/phường"), _l("Lý do"), _l("Kết quả"), _l("Chi tiết"))


def trail_workbook(rows: Iterable[TrailRow], action_label: Callable[[str], str] = str,
                   truncated: bool = False) -> bytes:
    """An .xlsx of `rows` (already masked), one sheet, a header row, local times as dates.
    `truncated` adds a closing line saying that more records matched than were exported."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Nhật ký"))
    sheet.append([text_cell(sheet, h) for h in HEADERS])
    written = 0
    for written, r in enumerate(rows, 1):
        moment = WriteOnlyCell(sheet, value=r.occurred_at.replace(tzinfo=None))
        moment.number_format = "dd/mm/yyyy hh:mm:ss"
        sheet.append([r.seq, moment] + [text_cell(sheet, v) for v in (
            r.actor_username, r.actor_role, action_label(r.action))] + [r.case_id] + [text_cell(sheet, v) for v in (
            r.case_name, r.commune_name, r.reason, r.outcome, "\n".join(r.detail))])
    if truncated:
        sheet.append([text_cell(sheet, ngettext(
            "Chỉ xuất %(count)s bản ghi mới nhất; hãy lọc hẹp hơn để xuất phần còn lại.",
            "Chỉ xuất %(count)s bản ghi mới nhất; hãy lọc hẹp hơn để xuất phần còn lại.",
            written, count=format_decimal(written, locale=get_locale() or "vi")))])
    out = BytesIO()
    book.save(out)
    return out.getvalue()
