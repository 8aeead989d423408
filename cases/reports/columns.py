"""The report's vocabulary: its columns, their headings and definitions, and how a cell reads a row.

The one home of what a report's table says — the workbook, the CSV and the page all read
`COLUMNS` and `value`, so a column added or renamed here changes all three together. Each column
has a group heading (the first header line), a heading (the second), a sentence defining it (the
workbook's footer) and a kind: `count` (an int), `share` (a Decimal in percent, one decimal, or
points for the change) or `text` (a str).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from cases.changes import reader_language, written
from cases.reports.figures import ALREADY_MET, NO_TARGET, NOBODY_RECEIVING, NOT_AT_THIS_PACE, Band, Row

COUNT, SHARE, TEXT = "count", "share", "text"
COUNT_FORMAT, SHARE_FORMAT, POINTS_FORMAT = "#,##0", "0.0", "+0.0;-0.0;0.0"

BAND_LABELS = {
    Band.HIGH: _l("Cao"),
    Band.AVERAGE: _l("Trung bình"),
    Band.LOW: _l("Thấp"),
    Band.NOT_STARTED: _l("Chưa thực hiện"),
}
GROUP_HEADINGS = {"btxh": _l("Bảo trợ xã hội"), "ncc": _l("Người có công"), "all": _l("Chung")}
TARGET_HEADING = _l("So với chỉ tiêu")
NUMBER_HEADING, NAME_HEADING, TOTAL_LABEL = _l("STT"), _l("Xã, phường, đặc khu"), _l("Tổng cộng")


@dataclass(frozen=True)
class Column:
    key: str
    group: object               # lazy string: the first header line, shared by the group's columns
    heading: object             # lazy string: the second header line
    definition: object          # lazy string: the footer's sentence
    kind: str                   # COUNT, SHARE or TEXT
    read: Callable[[Row, str], object]      # (row, language) → the cell's raw value
    ratio: tuple[str, str] | None = None    # a share computed as (part key, whole key): the total's formula
    number_format: str | None = None        # how a spreadsheet shows it (counts and shares)
    # For a text: everything of the row it depends on, so a table of thousands of rows translates
    # each distinct value once (`reader`).
    depends: Callable[[Row], Hashable] | None = None


def _group_columns(group: str) -> tuple[Column, ...]:
    heading = GROUP_HEADINGS[group]

    def counts(row: Row):
        return row.counts(group)

    return (
        Column(f"{group}_receiving", heading, _l("Đang hưởng trợ cấp hằng tháng"),
               _l("Số đối tượng đang hưởng trợ cấp hằng tháng tại thời điểm cuối kỳ báo cáo (kể cả đang xác thực, "
                  "đăng ký phương thức chi trả hoặc mở tài khoản; không tính tạm dừng, thôi hưởng), theo nhóm đối "
                  "tượng ghi trên cột."),
               COUNT, lambda row, _lang: counts(row).receiving, number_format=COUNT_FORMAT),
        Column(f"{group}_with_account", heading, _l("Có tài khoản"),
               _l("Trong số đang hưởng trợ cấp, số đối tượng đã có số tài khoản thanh toán trong hồ sơ."),
               COUNT, lambda row, _lang: counts(row).with_account, number_format=COUNT_FORMAT),
        Column(f"{group}_paid_by_account", heading, _l("Chi trả qua tài khoản"),
               _l("Trong số đang hưởng trợ cấp, số đối tượng được chi trả qua tài khoản (không dùng tiền mặt)."),
               COUNT, lambda row, _lang: counts(row).paid_by_account, number_format=COUNT_FORMAT),
        Column(f"{group}_share", heading, _l("Tỷ lệ (%)"),
               _l("Tỷ lệ chi trả qua tài khoản = số chi trả qua tài khoản / số đang hưởng trợ cấp × 100, làm tròn "
                  "một chữ số thập phân; để trống khi không có đối tượng đang hưởng."),
               SHARE, lambda row, _lang: counts(row).share, ratio=(f"{group}_paid_by_account", f"{group}_receiving"),
               number_format=SHARE_FORMAT),
    )


def met_text(row: Row) -> str:
    """"Đạt" / "Chưa đạt" the target in force; "" when there is no target or nobody receiving."""
    if row.met is None:
        return ""
    return str(_l("Đạt") if row.met else _l("Chưa đạt"))


def band_text(row: Row) -> str:
    """The row's band in the Ba Tơ letter's words; "" when nobody is receiving."""
    band = row.band
    return "" if band is None else str(BAND_LABELS[band])


def projection_text(row: Row, language: str | None = None) -> str:
    """The month the row reaches its target at its pace ("03/2027" in Vietnamese, "Mar 2027" in
    English), or "Đã đạt", "Không đạt với tốc độ hiện nay", "Chưa có chỉ tiêu"."""
    month = row.projected_month
    if month is not None:
        return written(month, "month", language or reader_language())
    if row.projected == ALREADY_MET:
        return str(_l("Đã đạt"))
    if row.projected == NOT_AT_THIS_PACE:
        return str(_l("Không đạt với tốc độ hiện nay"))
    if row.projected == NO_TARGET:
        return str(_l("Chưa có chỉ tiêu"))
    if row.projected == NOBODY_RECEIVING:
        return "—"
    return row.projected


def _target_share(row: Row, _language: str) -> Decimal | None:
    return None if row.target is None else row.target.share


def _target_due(row: Row, language: str) -> str:
    return "" if row.target is None else written(row.target.due_on, "day", language)


COLUMNS: tuple[Column, ...] = (
    *_group_columns("btxh"),
    *_group_columns("ncc"),
    *_group_columns("all"),
    Column("paid_in_cash", GROUP_HEADINGS["all"], _l("Chi trả bằng tiền mặt"),
           _l("Số đối tượng (cả hai nhóm) đang được chi trả bằng tiền mặt tại thời điểm cuối kỳ báo cáo."),
           COUNT, lambda row, _lang: row.paid_in_cash, number_format=COUNT_FORMAT),
    Column("suspended", GROUP_HEADINGS["all"], _l("Tạm dừng trợ cấp"),
           _l("Số đối tượng (cả hai nhóm) đang bị tạm dừng trợ cấp tại thời điểm cuối kỳ báo cáo; không tính vào "
              "số đang hưởng."),
           COUNT, lambda row, _lang: row.suspended, number_format=COUNT_FORMAT),
    Column("target_share", TARGET_HEADING, _l("Chỉ tiêu (%)"),
           _l("Tỷ lệ chi trả qua tài khoản phải đạt theo chỉ tiêu đang có hiệu lực (chỉ tiêu riêng của xã nếu có, "
              "nếu không thì chỉ tiêu của tỉnh), tính trên nhóm đối tượng mà chỉ tiêu quy định."),
           SHARE, _target_share, number_format=SHARE_FORMAT),
    Column("target_due_on", TARGET_HEADING, _l("Thời hạn"),
           _l("Ngày phải đạt chỉ tiêu."),
           TEXT, _target_due, depends=lambda row: row.target),
    Column("met", TARGET_HEADING, _l("Kết quả"),
           _l("Đạt khi tỷ lệ chi trả qua tài khoản cuối kỳ không thấp hơn chỉ tiêu; để trống khi chưa có chỉ tiêu "
              "hoặc không có đối tượng đang hưởng."),
           TEXT, lambda row, _lang: met_text(row), depends=lambda row: row.met),
    Column("band", TARGET_HEADING, _l("Mức độ thực hiện"),
           _l("Cao, Trung bình hoặc Thấp theo ngưỡng tỷ lệ do tỉnh quy định; Chưa thực hiện khi có đối tượng "
              "đang hưởng nhưng chưa ai được chi trả qua tài khoản."),
           TEXT, lambda row, _lang: band_text(row), depends=lambda row: row.band),
    Column("change", TARGET_HEADING, _l("Tăng, giảm so với kỳ trước (điểm %)"),
           _l("Tỷ lệ cuối kỳ này trừ tỷ lệ cuối kỳ trước, tính bằng điểm phần trăm."),
           SHARE, lambda row, _lang: row.change, number_format=POINTS_FORMAT),
    Column("projected", TARGET_HEADING, _l("Dự kiến tháng đạt chỉ tiêu"),
           _l("Tháng dự kiến đạt chỉ tiêu nếu giữ tốc độ tăng bình quân của 3 tháng gần nhất."),
           TEXT, projection_text, depends=lambda row: row.projected),
)
BY_KEY = {column.key: column for column in COLUMNS}


def value(row: Row, key: str, language: str | None = None):
    """The raw value of column `key` for `row`: an int for a count, a Decimal (or None) for a share,
    a str for a text.

    :raise KeyError: no such column.
    """
    return BY_KEY[key].read(row, language or reader_language())


def reader(language: str) -> Callable[[Row, Column], object]:
    """`value` for many rows: (row, column) → the raw value, each distinct text computed once."""
    known: dict[tuple[str, Hashable], object] = {}

    def read(row: Row, column: Column):
        if column.depends is None:
            return column.read(row, language)
        key = (column.key, column.depends(row))
        if key not in known:
            known[key] = column.read(row, language)
        return known[key]
    return read
