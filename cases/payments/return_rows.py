"""A provider's return, row by row (issue 18, item 3): each row of the file read into what it says
— whose, how much, paid or not and why — and the preview's verdicts kept for the import.

The words banks write vary ("Đã chi trả", "Thành công", "Không thành công: tài khoản đã đóng"):
they are read folded (cases.sheets.header.fold_header), an unpaid word first.

The plan. The preview reads the whole file and matches each row to its line of the signed list;
the import would do it all again (two seconds for 100,000 rows). What the file says and which line
each row matched cannot change between the two — the file is the job's, and a signed list is
frozen — so the preview stores its verdicts (`encode_plan`) and the import starts from them
(`decode_plan`), checking again what can change: the list still signed, the lines given an
outcome meanwhile, each case's state.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from flask_babel import gettext as _

from cases.search import case_number
from cases.sheets.header import fold_header
from cases.sheets.values import BadValue, as_amount, as_national_id, as_text

NOTE_MAX = 190                # payment_failure_reason is 200: "other: " + the provider's words
PLAN_VERSION = 1

# Folded words (cases.sheets.header.fold_header). An unpaid word is looked for first:
# "không thành công" holds "thành công", "chưa chi trả" holds "chi trả".
_UNPAID_WORDS = ("chua", "khong", "that bai", "unpaid", "not paid", "fail", "failed", "loi", "tu choi", "tra lai",
                 "rejected", "error")
_PAID_WORDS = ("da chi tra", "da chi", "da tra", "thanh cong", "paid", "success", "successful", "ok",
               "hoan thanh", "completed", "done")
# The failure form's choices (forms/transitions.PaymentFailureForm), by the words a bank uses.
_REASONS = (
    ("account_closed", ("tai khoan da dong", "tk da dong", "dong tai khoan", "tai khoan dong", "da dong tai khoan",
                        "tai khoan bi dong", "closed")),
    ("wrong_number", ("sai so tai khoan", "sai stk", "sai so tk", "sai tai khoan", "tai khoan khong ton tai",
                      "so tai khoan khong ton tai", "khong ton tai", "wrong account", "invalid account",
                      "so tai khoan khong dung", "stk khong dung")),
    ("name_mismatch", ("ten khong khop", "sai ten", "khong khop ten", "ten khong dung", "ten chu tai khoan",
                       "name mismatch", "lech ten")),
)


@dataclass
class ReturnRow:
    number: int
    source: object                       # the SheetRow, for the rejected-rows workbook
    name: str | None
    case_number: int | None = None
    national_id: str | None = None
    account: str | None = None
    amount: int | None = None
    group: str | None = None
    paid: bool | None = None
    reason: str | None = None
    reference: str | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    row: ReturnRow
    outcome: str                         # PAID / UNPAID before the case's state is known; then the final key
    line: object | None = None           # the line's row (id, case_id, in_cash, ...) as read
    refusals: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return self.row.reasons + self.refusals


def cell_text(raw, limit: int) -> str | None:
    if raw.__class__ is str:        # most cells: as_text would only strip what split() drops
        return " ".join(raw.split())[:limit] or None
    if raw.__class__ is int:        # a case number typed as a number (a bool is not one)
        return str(raw)[:limit]
    try:
        text = as_text(raw)
    except BadValue:
        text = str(raw)
    text = " ".join(text.split()) if text else ""
    return text[:limit] or None


def read_row(sheet_row) -> ReturnRow:
    values = sheet_row.values
    row = ReturnRow(sheet_row.number, sheet_row, cell_text(values.get("full_name"), 120))
    number = cell_text(values.get("case_number"), 20)
    if number:
        row.case_number = case_number(number)
        if row.case_number is None:
            row.reasons.append(_("Mã hồ sơ «%(value)s» không đúng.", value=number))
    try:
        row.national_id = as_national_id(values.get("national_id"))
        if row.national_id is not None and len(row.national_id) != 12:
            row.reasons.append(_("Số CCCD «%(value)s» phải có 12 chữ số.", value=row.national_id[:20]))
    except BadValue as bad:
        row.reasons.append(bad.message)
    if row.case_number is None and row.national_id is None and not row.reasons:
        row.reasons.append(_("Thiếu cả mã hồ sơ lẫn số CCCD: không biết dòng này của ai."))
    account = cell_text(values.get("account_number"), 30)
    row.account = account.replace(" ", "").replace("'", "") if account else None
    try:
        row.amount = as_amount(values.get("amount"))
        if row.amount is None:
            row.reasons.append(_("Thiếu số tiền."))
    except BadValue as bad:
        row.reasons.append(bad.message)
    row.group = _group(values.get("policy_group"))
    if values.get("policy_group") not in (None, "") and row.group is None:
        row.reasons.append(_("Nhóm «%(value)s» không rõ: hãy ghi «BTXH» hoặc «NCC».",
                             value=cell_text(values.get("policy_group"), 40)))
    row.paid = _said(cell_text(values.get("outcome"), 60) or "")
    if row.paid is None:
        shown = cell_text(values.get("outcome"), 40)
        row.reasons.append(_("Kết quả «%(value)s» không rõ: hãy ghi «Đã chi trả» hoặc «Chưa chi trả».", value=shown)
                           if shown else _("Thiếu kết quả chi trả (Đã chi trả / Chưa chi trả)."))
    row.reason = cell_text(values.get("reason"), 200)
    row.reference = cell_text(values.get("reference"), 60)
    return row


@lru_cache(maxsize=256)
def _said(raw: str) -> bool | None:
    """True (paid), False (unpaid) or None (unreadable). A file repeats a few words: each is read once."""
    padded = f" {fold_header(raw)} "
    if not padded.strip():
        return None
    if any(f" {words} " in padded for words in _UNPAID_WORDS):
        return False
    if any(f" {words} " in padded for words in _PAID_WORDS):
        return True
    return None


def _group(raw) -> str | None:
    folded = fold_header(raw) if isinstance(raw, str) else ""
    if folded in ("btxh", "bao tro xa hoi") or folded.startswith("bao tro"):
        return "btxh"
    if folded in ("ncc", "nguoi co cong") or folded.startswith("nguoi co cong"):
        return "ncc"
    return None


def failure_reason(words: str | None) -> tuple[str, str | None]:
    """The failure form's choice for the provider's words, and the note: the words themselves when
    no choice matches ("other")."""
    if not words:
        return "other", None
    padded = f" {fold_header(words)} "
    for code, phrases in _REASONS:
        if any(f" {phrase} " in padded for phrase in phrases):
            return code, None
    return "other", words[:NOTE_MAX]


# --- the plan ---------------------------------------------------------------------------------

class PlannedLine(NamedTuple):
    """The line a row matched, as the import needs it (the preview read more)."""
    id: int
    case_id: int
    in_cash: bool


def encode_plan(verdicts: list[Verdict]) -> bytes:
    """The verdicts as stored with the job: compressed JSON, a list a row."""
    rows = []
    for v in verdicts:
        r, line = v.row, v.line
        rows.append([r.number, r.name, r.case_number, r.national_id, r.account, r.amount, r.group, r.paid, r.reason,
                     r.reference, [str(reason) for reason in r.reasons], v.outcome, [str(x) for x in v.refusals],
                     None if line is None else [line.id, line.case_id, bool(line.in_cash)]])
    text = json.dumps({"version": PLAN_VERSION, "verdicts": rows}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(text.encode(), 1)


def decode_plan(plan: bytes) -> list[Verdict] | None:
    """The verdicts `encode_plan` stored, or None when they were stored by another version."""
    stored = json.loads(zlib.decompress(plan))
    if stored.get("version") != PLAN_VERSION:
        return None
    verdicts = []
    for (number, name, case, national_id, account, amount, group, paid, reason, reference, reasons, outcome,
         refusals, line) in stored["verdicts"]:
        row = ReturnRow(number, None, name, case, national_id, account, amount, group, paid, reason, reference,
                        reasons)
        verdicts.append(Verdict(row, outcome, None if line is None else PlannedLine(*line), refusals))
    return verdicts
