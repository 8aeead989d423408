"""The demo's payment round trip (issue 18, item 6): the demo load signs and sends last month's and
this month's lists, next month's draft is compared with this month's, and the busiest bank's
return written for last month's list is
accepted by the real importer — paid new accounts move to "paid by account", failed accounts move
back with their reason, one row keyed wrongly waits to be resolved by hand — and importing it again
changes nothing."""
from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cases.changes import local_today
from cases.models import (Case, LineChange, PaymentLine, PaymentList, PaymentListState, PaymentProvider, Proposal,
                          ProviderKind, ReturnException, User)
from cases.models.lists import ListJobState
from cases.organisation import province_by_code
from cases.payments.lists import draft_list
from cases.reports.periods import add_months
from cases.users import actor_of
from demo.payments import (ABSENT, ABSENT_REASON, FAILURE_REASONS, NEW_ACCOUNTS, HEADER, last_months_list, replies,
                           states_when_signed, write_return)
from demo.province import DEMO_USERS, load_demo
from extensions import db, write_intent
from tests.conftest import LANG_SON, login
from tests.helpers import audit_records, last_seq, text_of
from tests.test_demo import DEMO_CASES
from tests.test_payment_returns import run
from workflow.states import CaseState as S


@pytest.fixture
def demo(tmp_path):
    """The demo loaded (the smallest size the demo's tests use), its return written to a folder of
    the test's own."""
    with write_intent():
        load_demo(db.session, DEMO_CASES)
        db.session.commit()
    province = province_by_code(db.session, LANG_SON)
    path = write_return(db.session, province, tmp_path)
    supervisor = db.session.scalar(select(User).where(User.username == "so.langson"))
    return {"list": last_months_list(db.session, province), "path": path, "supervisor": supervisor}


def _status(case_id: int) -> tuple:
    case = db.session.get(Case, case_id)
    return case.status, case.payment_failure_reason, case.last_paid_month


def test_last_months_list_of_the_busiest_bank_is_signed_and_its_return_written(demo):
    plist, path = demo["list"], demo["path"]
    provider = db.session.get(PaymentProvider, plist.provider_id)
    assert plist.month == add_months(local_today().replace(day=1), -1)
    assert (plist.state, plist.signed_by_id, provider.kind) == (
        PaymentListState.SIGNED, demo["supervisor"].id, ProviderKind.BANK)
    assert plist.sha256 == hashlib.sha256(plist.workbook).hexdigest()
    bank_lists = db.session.scalars(select(PaymentList).join(PaymentProvider).where(
        PaymentList.month == plist.month, PaymentProvider.kind == ProviderKind.BANK)).all()
    assert len(bank_lists) > 1 and plist.line_count == max(p.line_count for p in bank_lists)    # the busiest bank's
    lines = db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id)).all()
    assert len(lines) == plist.line_count >= 20 and not any(line.in_cash for line in lines)
    assert path.name == f"tra-ve-{provider.short_name}-{plist.month:%Y-%m}.xlsx"

    sheet = load_workbook(path).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header_at = rows.index(HEADER)
    data = rows[header_at + 1:header_at + 1 + len(lines)]
    assert rows[header_at + 1 + len(lines)][0] == "Tổng cộng"
    assert rows[header_at + 1 + len(lines)][5] == plist.total_amount == sum(r[5] for r in data)
    assert all(isinstance(r[3], str) and isinstance(r[4], str) for r in data)    # ID and account numbers as text
    assert Counter(r[7] for r in data) == {"Thành công": len(lines) - 4 - ABSENT, "Không thành công": 4 + ABSENT}
    assert {r[8] for r in data if r[7] == "Không thành công"} == set(FAILURE_REASONS) | {ABSENT_REASON}


def test_the_load_again_signs_nothing_more(demo):
    since = last_seq()
    with write_intent():
        load_demo(db.session, DEMO_CASES)
        db.session.commit()
    assert last_months_list(db.session, province_by_code(db.session, LANG_SON)).id == demo["list"].id
    assert not audit_records(since)


def test_next_months_drafts_show_the_accounts_opened_since_this_months(demo):
    plist, supervisor = demo["list"], demo["supervisor"]
    this_month = local_today().replace(day=1)
    for month in (plist.month, this_month):
        lists = db.session.scalars(select(PaymentList).where(PaymentList.month == month)).all()
        assert {(p.state, p.sent_at is not None) for p in lists} == {(PaymentListState.SIGNED, True)}
        assert len(lists) == db.session.scalar(select(func.count()).select_from(PaymentProvider).where(
            PaymentProvider.province_id == plist.province_id, PaymentProvider.active))
    signed = db.session.scalars(select(PaymentList).where(PaymentList.month == this_month)).all()
    month = add_months(this_month, 1)
    changes = {}
    with write_intent():
        for provider in (db.session.get(PaymentProvider, p.provider_id) for p in signed):
            draft = draft_list(db.session, actor_of(supervisor), supervisor, provider, month)
            assert draft.previous_id in {p.id for p in signed}
            changes[provider.short_name] = {(line.case_id, line.change, line.reason) for line in db.session.scalars(
                select(PaymentLine).where(PaymentLine.list_id == draft.id, PaymentLine.change != LineChange.SAME))}
        db.session.commit()
    bank = db.session.get(PaymentProvider, plist.provider_id).short_name
    opened = {case_id for case_id, change, reason in changes[bank]
              if (change, reason) == (LineChange.NEW, "new_account")}
    assert 0 < len(opened) <= NEW_ACCOUNTS
    for case_id in opened:
        case = db.session.get(Case, case_id)
        assert (case.status, case.provider_id) == (S.ACCOUNT_OPENING, plist.provider_id) and case.account_number
    assert {(case_id, LineChange.REMOVED, "switched_to_account") for case_id in opened} <= changes["BUUDIEN-LS"]


def test_the_demo_return_is_reconciled_then_imported_again_changing_nothing(app, demo, make_client):
    plist, supervisor = demo["list"], demo["supervisor"]
    signed_states = states_when_signed(db.session, plist)
    answers = replies(db.session, plist)
    confirmed = [a.line.case_id for a in answers
                 if a.paid and not a.keyed_wrongly and signed_states[a.line.case_id] is S.ACCOUNT_OPENING]
    failed = [a.line.case_id for a in answers if not a.paid and signed_states[a.line.case_id] is S.PAID_BY_ACCOUNT]
    unpaid = [a.line.case_id for a in answers if not a.paid and signed_states[a.line.case_id] is S.ACCOUNT_OPENING]
    absent = [a.line.case_id for a in answers if a.reason == ABSENT_REASON]
    (wrong,) = [a.line for a in answers if a.keyed_wrongly]
    assert confirmed and len(failed) == 3 and len(unpaid) == 1 + ABSENT and len(absent) == ABSENT
    data = demo["path"].read_bytes()

    job = run(app, supervisor, plist.id, data)

    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts) == {"confirmed": len(confirmed), "paid": len(answers) - len(confirmed) - 5 - ABSENT,
                                      "failed": 3, "unpaid": 1 + ABSENT, "already": 0, "unmatched": 1, "rejected": 0,
                                      "suspension_proposed": ABSENT}
    # Unpaid on the bank's two earlier lists too: three months in a row, proposed for suspension.
    proposals = db.session.scalars(select(Proposal).where(Proposal.case_id.in_(absent))).all()
    assert {(p.case_id, p.trigger, p.payload["reason_code"], p.raised_by) for p in proposals} == {
        (case_id, "suspend", "TT02.D2.K3.a", "payment_watcher") for case_id in absent}
    for case_id in confirmed:
        assert _status(case_id) == (S.PAID_BY_ACCOUNT, None, plist.month)
    assert {_status(case_id)[:2] for case_id in failed} == {
        (S.ACCOUNT_OPENING, "account_closed"), (S.ACCOUNT_OPENING, "wrong_number"),
        (S.ACCOUNT_OPENING, "name_mismatch")}
    assert {_status(case_id)[0] for case_id in unpaid} == {S.ACCOUNT_OPENING}
    (waiting,) = db.session.scalars(select(ReturnException).where(ReturnException.list_id == plist.id)).all()
    assert (waiting.full_name, waiting.amount, waiting.resolved_at) == (wrong.full_name, wrong.amount, None)
    browser = make_client()
    login(browser, supervisor, next(password for username, password, *_ in DEMO_USERS if username == "so.langson"))
    page = text_of(browser.get(f"/payments/{plist.id}/return"))
    assert wrong.full_name in page and "Không có dòng nào mang số CCCD này trong danh sách đã ký." in page

    # The file written again once imported is the same file: chosen from the list as it was signed.
    assert [(a.line.id, a.paid, a.reason, a.keyed_wrongly) for a in replies(db.session, plist)] == [
        (a.line.id, a.paid, a.reason, a.keyed_wrongly) for a in answers]
    since = last_seq()
    again = run(app, supervisor, plist.id, data)
    assert again.state is ListJobState.DONE, again.error
    assert json.loads(again.counts) == {"confirmed": 0, "paid": 0, "failed": 0, "unpaid": 0,
                                        "already": len(answers) - 1, "unmatched": 1, "rejected": 0}
    assert not [r for r in audit_records(since) if r.action == "case.transition"]
    assert db.session.scalar(select(ReturnException.id).where(ReturnException.list_id == plist.id)
                             .order_by(ReturnException.id.desc())) == waiting.id
