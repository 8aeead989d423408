"""The demo's payment cycle as a province would have it at the start of a month (issue 18, item 6):
last month's and this month's lists of every provider signed and sent by the demo load, and the
busiest bank's return for last month's list written beside the other sample files.

A newcomer drafts next month's list (the one being prepared, due before the 25th) and sees its
differences against this month's, then imports last month's return on its list's page (the home
page shows it late) and sees who moved to "paid by account", who failed and why, one row the bank
keyed wrongly, left to be resolved by hand, and two accounts never used — unpaid on the bank's two
earlier lists too, signed and reconciled as the demo's history — proposed for suspension.

The return is a function of the signed list alone: which lines fail is chosen, seeded, from the
lines and from the state each case was in when the list was signed (`case_stays`), not as it is
now. So writing the file again after it was imported gives the same file, and importing that
again changes nothing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from random import Random

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from cases.actions import start_transition
from cases.changes import local_today, utcnow
from cases.models import (Case, CaseStay, LineOutcome, PaymentLine, PaymentList, PaymentListState, PaymentProvider, Province,
                          ProviderKind, User)
from cases.payments.export import list_workbook
from cases.payments.lists import draft_list, record_download, sign_list, signed_list
from cases.reports.periods import add_months
from cases.roles import Role
from cases.sheets.writer import SheetSpec, workbook_bytes
from cases.users import actor_of
from demo.actors import existing_actors
from demo.steps import Bank, account_number
from workflow.states import CaseState as S

RETURN_SEED = "2025:return"
HEADER = ["STT", "Mã hồ sơ", "Họ và tên", "Số CCCD", "Số tài khoản", "Số tiền (đồng)", "Nhóm", "Kết quả", "Lý do",
          "Mã tham chiếu"]
PAID_WORD, UNPAID_WORD = "Thành công", "Không thành công"
# One failure of each reason the importer maps to the failure form's choices, on cases paid by
# account when the list was signed (they move back to account opening).
FAILURE_REASONS = ("Tài khoản đã đóng", "Sai số tài khoản", "Tên chủ tài khoản không khớp")
# A newly opened account the bank could not pay into: the case stays in account opening.
OPENING_FAILURE = "Sai số tài khoản"
# Accounts the bank opens after last month's list is signed: new lines on this month's.
NEW_ACCOUNTS = 5
# Accounts opened but never used, unpaid on the two lists before last month's and again in last
# month's return: importing it proposes their suspension (three unpaid months, TT02.D2.K3.a).
ABSENT = 2
ABSENT_REASON = "Chủ tài khoản không đến giao dịch"
# The months before last month's whose lists the demo signs and reconciles as history.
EARLIER_MONTHS = 2
_ACCOUNT_STATES = (S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT)


def last_month() -> date:
    return add_months(local_today().replace(day=1), -1)


def busiest_bank(session: Session, province: Province) -> PaymentProvider | None:
    """The active bank of `province` holding the most accounts of cases paid by account; None
    when no case has one yet."""
    accounts = func.count(Case.id)
    found = session.execute(
        select(PaymentProvider.id).join(Case, Case.provider_id == PaymentProvider.id)
        .where(PaymentProvider.province_id == province.id, PaymentProvider.kind == ProviderKind.BANK,
               PaymentProvider.active, Case.province_id == province.id, Case.status.in_(_ACCOUNT_STATES),
               Case.account_number.is_not(None), Case.account_number != "")
        .group_by(PaymentProvider.id).order_by(accounts.desc(), PaymentProvider.id).limit(1)).scalar()
    return session.get(PaymentProvider, found) if found is not None else None


def last_months_list(session: Session, province: Province) -> PaymentList | None:
    """The bank list of last month signed first in `province`: the demo's, which the demo signs
    before the other providers' (or the newcomer's first, had they signed one before the demo)."""
    return session.scalars(
        select(PaymentList).join(PaymentProvider, PaymentProvider.id == PaymentList.provider_id)
        .where(PaymentList.province_id == province.id, PaymentList.month == last_month(),
               PaymentList.state == PaymentListState.SIGNED, PaymentProvider.kind == ProviderKind.BANK)
        .order_by(PaymentList.id)).first()


def sign_recent_lists(session: Session, province: Province) -> PaymentList | None:
    """Draft, sign and send last month's and this month's lists of every active provider of
    `province` (a list signed already is left as it is), as the province's first supervisor, and
    before them the busiest bank's two earlier months, reconciled as history; then a few accounts
    that bank opened since, so next month's lists differ from this month's. Nothing when a bank's
    list of last month is signed already. Returns the busiest bank's signed list of last month;
    None when no bank has an account yet or the province has no supervisor. Flushes, never commits."""
    signed = last_months_list(session, province)
    if signed is not None:
        return signed
    bank = busiest_bank(session, province)
    signer = session.scalars(select(User).where(User.province_id == province.id, User.role == Role.SUPERVISOR,
                                                User.active).order_by(User.id)).first()
    if bank is None or signer is None:
        return None
    actor, now = actor_of(signer), utcnow()
    # Every provider's, as each month: a case leaving the post office's list for the bank's then
    # shows as a new account on one and a switch to an account on the other. The bank's first, so
    # `last_months_list` finds it however the accounts are spread later. Last month's and this
    # month's, both sent (downloaded) as they would have been by now.
    others = session.scalars(select(PaymentProvider).where(PaymentProvider.province_id == province.id,
                                                           PaymentProvider.active, PaymentProvider.id != bank.id)
                             .order_by(PaymentProvider.id)).all()
    for back in range(EARLIER_MONTHS, 0, -1):      # the bank's history: paid but for the absent ones
        month = add_months(last_month(), -back)
        if signed_list(session, bank.id, month) is None:
            reconcile_earlier(session, _signed_and_sent(session, actor, signer, bank, month, now))
    for month in (last_month(), add_months(last_month(), 1)):
        for provider in (bank, *others):
            if signed_list(session, provider.id, month) is None:
                _signed_and_sent(session, actor, signer, provider, month, now)
    open_new_accounts(session, bank)
    return signed_list(session, bank.id, last_month())


def _signed_and_sent(session: Session, actor, signer: User, provider: PaymentProvider, month: date,
                     now) -> PaymentList:
    plist = draft_list(session, actor, signer, provider, month, now)
    sign_list(session, actor, signer, plist.id, list_workbook(session, plist, signer, now), now)
    record_download(session, actor, plist, provider, now)
    return plist


def open_new_accounts(session: Session, bank: PaymentProvider, count: int = NEW_ACCOUNTS) -> list[int]:
    """The bank's accounts opened today for up to `count` cases waiting for one with it (seeded),
    recorded by each commune's officer as the case page does; their ids."""
    waiting = list(session.scalars(select(Case).where(
        Case.province_id == bank.province_id, Case.status == S.ACCOUNT_OPENING, Case.provider_id == bank.id,
        or_(Case.account_number.is_(None), Case.account_number == "")).order_by(Case.id)))
    rng = Random(f"{RETURN_SEED}:accounts:{bank.id}")
    chosen = sorted(rng.sample(waiting, min(count, len(waiting))), key=lambda case: case.id)
    officers = existing_actors(session, sorted({case.commune_id for case in chosen}))
    today = local_today().isoformat()
    for case in chosen:
        officer = session.get(User, officers[case.commune_id, Role.OFFICER].user_id)
        payload = {"provider_id": bank.id, "account_number": account_number(rng, Bank(bank.id, bank.short_name)),
                   "opened_on": today}
        start_transition(session, actor_of(officer), officer, case, "record_account_opened", payload, case.version)
    return [case.id for case in chosen]


@dataclass(frozen=True)
class Reply:
    """What the bank answers for one line of the list."""
    line: PaymentLine
    paid: bool
    reason: str | None = None
    keyed_wrongly: bool = False          # no case number and a mistyped ID number: matches no line


def replies(session: Session, plist: PaymentList) -> list[Reply]:
    """The bank's answer for every paid line of `plist`, in the list's order: mostly paid; one
    failure of each known reason among the cases paid by account at signing, one among the newly
    opened accounts (when there are a few), and one paid row keyed wrongly."""
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id, PaymentLine.amount > 0)
                                 .order_by(PaymentLine.id)))
    states = states_when_signed(session, plist)
    rng = Random(f"{RETURN_SEED}:{plist.provider_id}:{plist.month.isoformat()}")
    absent = absent_cases(lines, states)
    paying = [line for line in lines if not line.in_cash and states.get(line.case_id) is S.PAID_BY_ACCOUNT]
    opening = [line for line in lines if not line.in_cash and states.get(line.case_id) is S.ACCOUNT_OPENING
               and line.case_id not in absent]
    failed = dict(zip((line.id for line in rng.sample(paying, min(len(paying), len(FAILURE_REASONS)))),
                      FAILURE_REASONS))
    if len(opening) >= 3:       # the others still show the move to "paid by account"
        failed[rng.choice(opening).id] = OPENING_FAILURE
    failed |= {line.id: ABSENT_REASON for line in lines if line.case_id in absent}
    paid_rest = [line for line in lines if line.id not in failed]
    wrong = rng.choice(paid_rest).id if len(paid_rest) > 1 else None
    return [Reply(line, line.id not in failed, failed.get(line.id), line.id == wrong) for line in lines]


def absent_cases(lines: list[PaymentLine], states: dict[int, S]) -> set[int]:
    """The BTXH accounts opened and never used (in account opening when the list was signed) that
    the bank reports unpaid month after month: ABSENT of them, the same on every list of the
    load (chosen by a seeded hash of the case, not by the list's order)."""
    waiting = [line.case_id for line in lines if not line.in_cash and line.policy_group == "btxh"
               and states.get(line.case_id) is S.ACCOUNT_OPENING]
    ranked = sorted(waiting, key=lambda case_id: hashlib.sha256(f"{RETURN_SEED}:absent:{case_id}".encode()).digest())
    return set(ranked[:ABSENT])


def reconcile_earlier(session: Session, plist: PaymentList) -> None:
    """The outcomes of an earlier month's list as its return left them, written as the demo's
    history (no return file or job of its own): every line paid, but the absent ones'."""
    lines = list(session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id, PaymentLine.amount > 0)))
    absent = absent_cases(lines, states_when_signed(session, plist))
    at = plist.signed_at
    for line in lines:
        missing = line.case_id in absent
        line.outcome = LineOutcome.UNPAID if missing else LineOutcome.PAID
        line.outcome_reason = ABSENT_REASON if missing else None
        line.outcome_reference = None if missing else f"FT{plist.month:%y%m}{line.case_id:07d}"
        line.outcome_at = at
    session.flush()


def states_when_signed(session: Session, plist: PaymentList) -> dict[int, S]:
    """Case → its state at the moment `plist` was signed, for the cases on its lines."""
    at = plist.signed_at
    on_list = select(PaymentLine.case_id).where(PaymentLine.list_id == plist.id)
    rows = session.execute(select(CaseStay.case_id, CaseStay.status).where(
        CaseStay.case_id.in_(on_list), CaseStay.valid_from <= at, CaseStay.valid_to > at))
    return {case_id: S(status) for case_id, status in rows}


def return_workbook(plist: PaymentList, provider: PaymentProvider, answers: list[Reply]) -> bytes:
    """The bank's return as .xlsx bytes: its heading, a row per paid line of the list with the
    outcome, and the control totals row the importer checks against the signed list."""
    rows = [_row(n, reply, plist.month) for n, reply in enumerate(answers, 1)]
    total = sum(reply.line.amount for reply in answers)
    rows.append(("Tổng cộng", None, f"{len(answers)} người", None, None, total))
    rows.append(())
    rows.append((None, "Người lập biểu", None, None, "Kiểm soát", None, None, "Giám đốc chi nhánh"))
    heading = [provider.name.upper(), f"BẢNG KÊ KẾT QUẢ CHI TRẢ TRỢ CẤP QUA TÀI KHOẢN THÁNG {plist.month:%m/%Y}",
               f"(Trả lời danh sách chi trả số {plist.id} đã ký duyệt)"]
    return workbook_bytes([SheetSpec("Ket qua chi tra", heading, HEADER, rows,
                                     column_widths=[6, 10, 28, 15, 18, 16, 8, 18, 28, 18],
                                     number_formats=[None] * 5 + ["#,##0"] + [None] * 4)])


def _row(number: int, reply: Reply, month: date) -> tuple:
    line = reply.line
    national_id, case_number = line.national_id, str(line.case_id)
    if reply.keyed_wrongly:      # two digits swapped at the bank, and no case number to fall back on
        national_id, case_number = _swapped(national_id), None
    return (number, case_number, line.full_name, national_id, line.account_number, line.amount,
            line.policy_group.upper(), PAID_WORD if reply.paid else UNPAID_WORD, reply.reason,
            f"FT{month:%y%m}{line.case_id:07d}" if reply.paid else None)


def _swapped(national_id: str | None) -> str:
    digits = national_id or "000000000000"
    swapped = digits[:-2] + digits[-1] + digits[-2]
    # Two equal last digits would swap into the same number: change the last one instead.
    return swapped if swapped != digits else digits[:-1] + str((int(digits[-1]) + 1) % 10)


def return_file_name(plist: PaymentList, provider: PaymentProvider) -> str:
    return f"tra-ve-{provider.short_name}-{plist.month:%Y-%m}.xlsx"


def write_return(session: Session, province: Province, folder: Path) -> Path | None:
    """Write the return for last month's signed bank list of `province` into `folder`; its path,
    or None when there is no such list."""
    plist = last_months_list(session, province)
    if plist is None:
        return None
    provider = session.get(PaymentProvider, plist.provider_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / return_file_name(plist, provider)
    path.write_bytes(return_workbook(plist, provider, replies(session, plist)))
    return path
