"""A provider's payment list of 100,000 lines (issue 18, Speed), timed against openpyxl's
write-only mode writing the same rows' values bare.

`payment_list_100k_s`: the month's list as a supervisor makes it — drafted from the cases (the
amounts in force, the differences against last month's signed list with their reasons, the lines
and control totals stored) and its workbook built from the stored lines, on the database;
`payment_list_ratio`: that over `payment_list_bare_write_s` (the goal: at most 2). Last month's
list and the cases are made set-based and untimed, with changes since: accounts changed, amounts
changed, cases terminated.

`payment_list_workbook_100k_s`: `payment_list_workbook` for a synthetic list (three sheets: the
lines with their control totals, the differences, the per-commune summary);
`payment_list_workbook_bare_s`: one write-only sheet of the same rows as plain values, nothing else —
no text cells, no formats, no totals, no other sheet; `payment_list_workbook_ratio`: the first
over the second. Each the median of three runs, the two kinds taken in
turn so that a busy machine weighs on both alike. No database: lines are made up in memory.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import date, datetime
from io import BytesIO

from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select, update

from cases import reference
from cases.models import Case, PaymentLine, PaymentList, PaymentProvider
from cases.models.payments import LineChange
from cases.payments.export import list_workbook
from cases.payments.lists import draft_list
from cases.payments.workbook import ListHeader, LineRow, payment_list_workbook
from cases.reports.periods import add_months
from extensions import db, write_intent
from workflow.states import CaseState

RUNS = 3
COMMUNES = 180                            # about a province's
_SURNAMES = ("Nguyễn", "Hoàng", "Lương", "Vi", "Nông", "Hà", "Lăng", "Triệu", "Đinh", "Chu")
_GIVEN = ("Văn Minh", "Thị Hoa", "Văn Sơn", "Thị Lan", "Đức Thắng", "Thị Mai", "Văn Hùng", "Thị Thu")


def synthetic_lines(rows: int, seed: int = 18) -> list[LineRow]:
    """`rows` lines as a province's bank list has them: national IDs and account numbers with
    leading zeros, one in ten new or changed, one in a hundred removed, one in fifty with arrears."""
    pick = random.Random(seed)
    lines = []
    for n in range(rows):
        group = "ncc" if n % 3 == 0 else "btxh"
        monthly = 500_000 + pick.randrange(0, 8) * 250_000
        arrears = 2 * monthly if n % 50 == 7 else 0
        removed = n % 100 == 13
        change = (LineChange.REMOVED if removed else LineChange.NEW if n % 20 == 1 else
                  LineChange.ACCOUNT_CHANGED if n % 40 == 2 else LineChange.AMOUNT_CHANGED if n % 40 == 3
                  else LineChange.SAME).value
        reason = {"removed": "suspended", "new": "resumed" if arrears else "new_account"}.get(change)
        name = f"{pick.choice(_SURNAMES)} {pick.choice(_GIVEN)}"
        lines.append(LineRow(
            case_id=100_000 + n, full_name=name, national_id=f"0{pick.randrange(10**10, 10**11)}",
            commune_name=f"Xã Số {n % COMMUNES + 1}", policy_group=group, in_cash=False,
            account_holder_name=name.upper(), account_number=f"00{pick.randrange(10**9, 10**10)}",
            monthly_amount=0 if removed else monthly, arrears_amount=0 if removed else arrears,
            amount=0 if removed else monthly + arrears, change=change, reason=reason))
    return lines


def synthetic_header(lines: list[LineRow]) -> ListHeader:
    totals = {key: {"count": 0, "amount": 0} for key in ("btxh", "ncc", "all")}
    for line in lines:
        if line.amount > 0:
            for key in (line.policy_group, "all"):
                totals[key]["count"] += 1
                totals[key]["amount"] += line.amount
    return ListHeader(list_id=1, provider_name="Ngân hàng TMCP Đầu tư và Phát triển Việt Nam – CN Lạng Sơn",
                      provider_short_name="BIDV-LS", province_name="Tỉnh Lạng Sơn", month=date(2026, 12, 1),
                      cut_off_at=datetime(2026, 11, 30, 10), signed_by="Hoàng Văn Sơn",
                      signed_at=datetime(2026, 12, 1, 2, 30), totals=totals)


def bare_write(values: list[tuple]) -> bytes:
    """openpyxl write-only, the rows' values appended as they are, saved: the floor to compare with."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Danh sách")
    for row in values:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def measure_payment_workbook(app: Flask, rows: int = 100_000) -> dict:
    lines = synthetic_lines(rows)
    header = synthetic_header(lines)
    labels = {"btxh": "BTXH", "ncc": "NCC"}
    values = [(n, line.case_id, line.full_name, line.national_id, line.commune_name, line.account_holder_name,
               line.account_number, line.monthly_amount, line.arrears_amount, line.amount,
               labels[line.policy_group], line.change if line.change != "same" else None)
              for n, line in enumerate((line for line in lines if line.amount > 0), 1)]
    whole_s, bare_s = [], []
    with app.app_context():
        for _ in range(RUNS):
            bare_s.append(_timed(lambda: bare_write(values)))
            whole_s.append(_timed(lambda: payment_list_workbook(header, lines)))
    whole, bare = statistics.median(whole_s), statistics.median(bare_s)
    return {"payment_list_workbook_100k_s": round(whole, 3), "payment_list_workbook_bare_s": round(bare, 3),
            "payment_list_workbook_ratio": round(whole / bare, 2) if bare else None,
            "payment_list_workbook_rows": rows}


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def measure_payment_list(app: Flask, rows: int = 100_000) -> dict:
    """Seconds to draft next month's list of a bank with `rows` cases against this month's signed
    list, and build its workbook; beside openpyxl writing the drafted lines' values bare."""
    from bench.returns import BENCH_ACTOR, _province, _signed_list

    with app.app_context():
        list_id, month = _signed_list(_province(), rows)
        provider = db.session.get(PaymentProvider, db.session.get(PaymentList, list_id).provider_id)
        _changes_since(list_id, provider.id, month)
        provider_id = provider.id
        db.session.remove()
    whole_s, bare_s = [], []
    for _ in range(RUNS):
        with app.app_context(), write_intent():
            started = time.perf_counter()
            plist = draft_list(db.session, BENCH_ACTOR, None, db.session.get(PaymentProvider, provider_id),
                               add_months(month, 1))
            list_workbook(db.session, plist)
            db.session.commit()
            whole_s.append(time.perf_counter() - started)
            values = [(n, *line) for n, line in enumerate(db.session.execute(
                select(PaymentLine.case_id, PaymentLine.full_name, PaymentLine.national_id, PaymentLine.commune_id,
                       PaymentLine.account_holder_name, PaymentLine.account_number, PaymentLine.monthly_amount,
                       PaymentLine.arrears_amount, PaymentLine.amount, PaymentLine.policy_group, PaymentLine.change)
                .where(PaymentLine.list_id == plist.id).order_by(PaymentLine.id)).tuples(), 1)]
            counts = {change.value: 0 for change in LineChange}
            for value in values:
                counts[value[-1].value] += 1
            values = [value[:-1] + (value[-1].value,) for value in values]
        bare_s.append(_timed(lambda: bare_write(values)))
    whole, bare = statistics.median(whole_s), statistics.median(bare_s)
    return {"payment_list_100k_s": round(whole, 3), "payment_list_bare_write_s": round(bare, 3),
            "payment_list_ratio": round(whole / bare, 2) if bare else None, "payment_list_rows": len(values),
            "payment_list_changes": {k: v for k, v in counts.items() if k != "same"}}


def _changes_since(list_id: int, provider_id: int, month: date) -> None:
    """Last month's BTXH lines at the amount in force (as a draft would have had them); then, since,
    set-based: one case in fifty has a new account number, one in fifty a new amount (NCC), one in
    a hundred is terminated (a removed line)."""
    with write_intent():
        btxh = reference.btxh_monthly_amount("D5.K5a.1", month)
        db.session.execute(update(PaymentLine).where(PaymentLine.list_id == list_id, PaymentLine.policy_group == "btxh")
                           .values(monthly_amount=btxh, amount=btxh))
        ids = select(Case.id).where(Case.provider_id == provider_id)
        db.session.execute(update(Case).where(Case.id.in_(ids), Case.id % 50 == 1)
                           .values(account_number=Case.account_number + "9"))
        db.session.execute(update(Case).where(Case.id.in_(ids), Case.id % 50 == 2, Case.policy_group == "ncc")
                           .values(monthly_amount=Case.monthly_amount + 100_000))
        db.session.execute(update(Case).where(Case.id.in_(ids), Case.id % 100 == 3)
                           .values(status=CaseState.TERMINATED.value))
        db.session.commit()
