"""Three consecutive unpaid months (issue 18, item 4): the watcher proposes a suspension with reason
TT02.D2.K3.a once per run of unpaid months — never twice, not after a rejection while the run goes
on, again for a new run after a paid month — and a supervisor approves it with the decision number
the system could not know. Lists signed and returns reconciled through the real importer."""
from __future__ import annotations

import json
from datetime import date
from io import BytesIO

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from cases.actions import start_transition, withdraw
from cases.changes import local_today
from cases.models import PaymentLine, PaymentList, Proposal, ProposalStatus, UnpaidRun
from cases.payments.lists import draft_list, sign_list
from cases.payments.watch import propose_suspensions_for_unpaid_months
from cases.reports.periods import add_months
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from scheduler.jobs import JOBS
from tests.conftest import LANG_SON, csrf_token
from tests.helpers import audit_records, case_row, reload_case, text_of
from tests.test_payment_returns import HEADER, fire, provider, run
from workflow.states import CaseState as S

# Eight months ago: the runs below end by this month, as returns arrive (the watcher reads the
# returns' months up to today's).
JULY = add_months(local_today().replace(day=1), -8)
PAID, UNPAID = ("Đã chi trả", None), ("Chưa chi trả", "Chưa đến nhận")


@pytest.fixture
def people(make_user):
    return {"officer": make_user(Role.OFFICER, province=LANG_SON),
            "supervisor": make_user(Role.SUPERVISOR, province=LANG_SON),
            "other_supervisor": make_user(Role.SUPERVISOR, province=LANG_SON)}


@pytest.fixture
def cases(people, make_case):
    """Three accounts at Agribank opened and waiting for their first payment."""
    found = {}
    for name in ("absent", "collects_once", "collects"):
        case_id = make_case(state=S.PAYMENT_METHOD, by=people["officer"], full_name=f"Lò Văn {name}").id
        fire(case_id, "choose_account", account_number=None, provider_id=provider("AGRIBANK-LS").id)
        fire(case_id, "record_account_opened", provider_id=provider("AGRIBANK-LS").id, account_number=f"88{case_id:08d}")
        found[name] = case_id
    return found


def month_paid(app, people, month: date, replies: dict[int, tuple]) -> int:
    """Agribank's list for `month` drafted and signed, and its return reconciled: a row for every
    line, as `replies` says ({case id: (outcome, reason)}) or paid; the suspensions its import
    proposed."""
    officer, supervisor = people["officer"], people["supervisor"]
    with write_intent():
        plist = draft_list(db.session, actor_of(officer), officer, provider("AGRIBANK-LS"), month)
        db.session.commit()
        sign_list(db.session, actor_of(supervisor), supervisor, plist.id, b"xlsx")
        db.session.commit()
    lines = {line.case_id: line for line in db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id))}
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    amounts = []
    for n, (case_id, line) in enumerate(sorted(lines.items()), 1):
        outcome, reason = replies.get(case_id, PAID)
        sheet.append((n, case_id, line.full_name, line.national_id, line.account_number, line.amount, outcome, reason,
                      f"GD-{month:%Y%m}-{n}" if reason is None else None))
        amounts.append(line.amount)
    sheet.append(("Tổng cộng", None, None, None, None, sum(amounts)))
    out = BytesIO()
    book.save(out)
    job = run(app, officer, plist.id, out.getvalue())
    assert job.error is None, job.error
    return json.loads(job.counts).get("suspension_proposed", 0)


def months(first: date, n: int) -> str:
    """`07/2026, 08/2026, 09/2026`, as the proposal's reason lists them."""
    return ", ".join(f"{add_months(first, k):%m/%Y}" for k in range(n))


def watch(month: date) -> dict:
    """The watcher's pass on the 21st of `month` (its returns are in by the 20th)."""
    with write_intent():
        counts = propose_suspensions_for_unpaid_months(db.session, month.replace(day=21))
        db.session.commit()
    return counts


def suspensions(case_id: int) -> list[Proposal]:
    db.session.rollback()
    return list(db.session.scalars(select(Proposal).where(Proposal.case_id == case_id, Proposal.trigger == "suspend")
                                   .order_by(Proposal.id)))


def test_three_unpaid_months_raise_exactly_one_proposal(app, people, cases, make_client):
    absent, once, collects = cases["absent"], cases["collects_once"], cases["collects"]
    plan = {JULY: {absent: UNPAID, once: UNPAID, collects: PAID},
            add_months(JULY, 1): {absent: UNPAID, once: PAID, collects: PAID},
            add_months(JULY, 2): {absent: UNPAID, once: UNPAID, collects: PAID}}
    for month, replies in plan.items():
        # Proposed as the third unpaid month's return is reconciled; the daily pass then finds it proposed.
        assert month_paid(app, people, month, replies) == (1 if month == add_months(JULY, 2) else 0), month
        assert watch(month)["proposed"] == 0

    third = db.session.scalar(select(PaymentList.id).where(PaymentList.month == add_months(JULY, 2)))
    returns_page = text_of(make_client(people["officer"]).get(f"/payments/{third}/return"))
    assert "Đề xuất tạm dừng: không nhận trợ cấp 3 tháng liên tục: 1" in returns_page
    [proposal] = suspensions(absent)
    assert (proposal.status, proposal.proposed_by_id, proposal.raised_by) == (
        ProposalStatus.PENDING, None, "payment_watcher")
    assert proposal.payload == {"reason_code": "TT02.D2.K3.a", "effective_month": add_months(JULY, 3).isoformat(),
                                "decision_number": ""}
    assert proposal.reason == (f"Không nhận trợ cấp 3 tháng liên tục ({months(JULY, 3)}): "
                               "tổ chức chi trả báo chưa chi trả được.")
    assert suspensions(once) == [] and suspensions(collects) == []
    assert db.session.scalar(select(func.count()).select_from(UnpaidRun)) == 1
    [record] = [r for r in audit_records() if r.action == "proposal.create" and r.case_id == absent]
    assert (record.actor_role, record.actor_username) == ("system", "payment_watcher")

    # The next day's pass, and the next: nothing more.
    assert watch(add_months(JULY, 2))["already_proposed"] == 1
    assert len(suspensions(absent)) == 1


@pytest.fixture
def proposed(app, people, cases) -> Proposal:
    """Three months unpaid for the absent one, and the proposal its third return raised."""
    for n in range(3):
        month_paid(app, people, add_months(JULY, n), {cases["absent"]: UNPAID})
    watch(add_months(JULY, 2))
    [proposal] = suspensions(cases["absent"])
    return proposal


def test_a_rejected_run_is_not_raised_again_until_a_new_run(app, people, cases, proposed, make_client):
    absent, proposal = cases["absent"], proposed
    supervisor = make_client(people["supervisor"])
    page = supervisor.get(f"/cases/{absent}")
    supervisor.post(f"/proposals/{proposal.id}/reject",
                    data={"csrf_token": csrf_token(page.text), "reason": "Đã liên hệ, tháng sau sẽ nhận"})
    assert suspensions(absent)[0].status is ProposalStatus.REJECTED

    assert month_paid(app, people, add_months(JULY, 3), {absent: UNPAID}) == 0   # a fourth month of the same run
    assert watch(add_months(JULY, 3))["proposed"] == 0
    month_paid(app, people, add_months(JULY, 4), {absent: PAID})                # the run ends
    for n in (5, 6, 7):                                                          # a new run
        assert month_paid(app, people, add_months(JULY, n), {absent: UNPAID}) == (1 if n == 7 else 0)
    assert [p.status for p in suspensions(absent)] == [ProposalStatus.REJECTED, ProposalStatus.PENDING]
    assert suspensions(absent)[1].reason.startswith(f"Không nhận trợ cấp 3 tháng liên tục ({months(add_months(JULY, 5), 3)})")


def test_the_supervisor_approves_with_the_decision_number(app, people, cases, proposed, make_client):
    absent, proposal = cases["absent"], proposed
    supervisor = make_client(people["supervisor"])

    page = supervisor.get(f"/cases/{absent}")
    assert "Hệ thống (theo dõi chi trả)" in text_of(page)
    assert 'name="decision_number"' in page.text
    assert "Rút đề xuất" not in text_of(page)                     # nobody may withdraw the system's proposal
    refused = supervisor.post(f"/proposals/{proposal.id}/approve", follow_redirects=True,
                              data={"csrf_token": csrf_token(page.text), "reason": "Đồng ý"})
    assert "chưa có số quyết định" in text_of(refused)
    assert case_row(absent)["status"] is S.ACCOUNT_OPENING

    # It waits on every supervisor: the home page counts it among those to decide.
    assert 'Đề xuất tôi cần quyết định</a> <span class="n">1</span>' in text_of(supervisor.get("/"))
    inbox = text_of(supervisor.get("/proposals"))
    assert "Hệ thống (theo dõi chi trả)" in inbox and "Lò Văn absent" in inbox

    page = supervisor.get(f"/cases/{absent}")
    supervisor.post(f"/proposals/{proposal.id}/approve",
                    data={"csrf_token": csrf_token(page.text), "reason": "Đồng ý", "decision_number": "12/QĐ-UBND"})
    row = case_row(absent)
    assert (row["status"], row["status_reason_code"], row["status_decision_number"]) == (
        S.SUSPENDED, "TT02.D2.K3.a", "12/QĐ-UBND")
    assert suspensions(absent)[0].payload["decision_number"] == "12/QĐ-UBND"


def test_the_daily_watch_job_raises_what_an_open_proposal_held_back(app, people, cases, make_client):
    """The third return came while an officer's proposal was open on the case: nothing could be
    proposed then. Once it is withdrawn, the next morning's watch proposes the suspension."""
    absent, this_month = cases["absent"], local_today().replace(day=1)
    for n in (-2, -1):
        month_paid(app, people, add_months(this_month, n), {absent: UNPAID})
    with write_intent():
        case = reload_case(absent)
        held = start_transition(db.session, actor_of(people["officer"]), people["officer"], case, "switch_to_cash",
                                {"reason": "Đối tượng muốn nhận tại nhà"}, case.version)
        db.session.commit()
        held_id = held.id
    assert month_paid(app, people, this_month, {absent: UNPAID}) == 0
    with write_intent():
        withdraw(db.session, actor_of(people["officer"]), people["officer"], db.session.get(Proposal, held_id))
        db.session.commit()
    with write_intent():
        counts = JOBS["escalate_stalled_cases"].run(app)
        db.session.commit()
    assert (counts["unpaid_runs"], counts["unpaid_proposed"]) == (1, 1)
    assert [p.raised_by for p in suspensions(absent)] == ["payment_watcher"]
