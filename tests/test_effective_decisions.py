"""Decisions take effect in their month (issue 19, item 5): a suspension, resumption or
termination approved for a later month waits, shown on the case page and in the queue of
scheduled decisions, and the scheduler fires it through the engine on the first day of that month;
a month already begun fires at approval; a case that changed meanwhile gets the decision refused
and flagged, never applied. Time is injected: the approval's day and the scheduler's clock."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

import cases.actions
import cases.changes
from cases.actions import approve, start_transition
from cases.audit import Actor
from cases.changes import to_local
from cases.errors import DomainError
from cases.models import ProposalStatus
from cases.models.scheduling import RunOutcome
from cases.roles import Role
from cases.scheduled import apply_scheduled_decisions
from cases.users import actor_of
from extensions import db, write_intent
from scheduler.process import Runner
from tests.conftest import TAN_VAN, submit
from tests.helpers import (action_links, audit_records, case_row, fill_and_submit, last_seq, page_token, proposals_of,
                           reload_case, text_of, transition_form)
from tests.paths import payload_for
from workflow.states import CaseState as S

JOB = "apply_scheduled_decisions"
SUSPEND = "Tạm dừng trợ cấp"
WAITS_FROM = "Đã phê duyệt, có hiệu lực từ {}"
CHANGED = ("Hồ sơ đã thay đổi sau khi quyết định được phê duyệt (sửa thông tin hoặc chuyển trạng thái), "
           "nên quyết định không được tự động áp dụng.")


@pytest.fixture
def people(make_user):
    return {"officer": make_user(Role.OFFICER, full_name="Hoàng Thị Lan"),
            "supervisor": make_user(Role.SUPERVISOR, full_name="Vi Văn Đức")}


@pytest.fixture
def today(monkeypatch):
    """The local day approvals see; set it with today.set(date)."""
    class Today:
        def set(self, day: date) -> None:
            monkeypatch.setattr(cases.actions, "local_today", lambda: day)
    return Today()


class Clock:
    """The scheduler's clock, UTC naive; the job's local day follows it."""

    def __init__(self, monkeypatch, local: str):
        self.now = datetime.fromisoformat(local) - timedelta(hours=7)
        monkeypatch.setattr(cases.changes, "local_today", lambda: to_local(self.now).date())

    def __call__(self) -> datetime:
        return self.now

    def at(self, local: str) -> None:
        self.now = datetime.fromisoformat(local) - timedelta(hours=7)


def decide(browser, proposal_id: int, reason: str = "Đúng quy định"):
    return browser.post(f"/proposals/{proposal_id}/approve", data={"csrf_token": page_token(browser), "reason": reason})


def scheduled_suspension(people, make_case, make_client, today, effective="2027-01", approved_on=date(2026, 12, 15)):
    """A case paid by account, its suspension from `effective` proposed and approved on `approved_on`
    through the forms; returns the case and the supervisor's browser."""
    case = make_case(state=S.PAID_BY_ACCOUNT)
    officer = make_client(people["officer"])
    form = transition_form(case, "suspend", effective_month=effective, note="Đi khỏi địa phương")
    assert submit(officer, f"/cases/{case.id}/actions/suspend", form).status_code == 302
    today.set(approved_on)
    supervisor = make_client(people["supervisor"])
    response = decide(supervisor, proposals_of(case.id)[0].id)
    assert response.status_code == 302
    return case, supervisor, text_of(supervisor.get(response.headers["Location"]))


def run_job(app, clock) -> None:
    assert Runner(app, "a", clock).fire(JOB) is RunOutcome.OK


def test_a_decision_for_next_month_waits_and_fires_on_the_first_and_not_before(
        app, people, make_case, make_client, today, monkeypatch):
    case, supervisor, page = scheduled_suspension(people, make_case, make_client, today)
    before = case_row(case.id)
    assert before["status"] is S.PAID_BY_ACCOUNT
    assert f"Đã phê duyệt «{SUSPEND}», có hiệu lực từ 01/01/2027." in page
    assert "Quyết định chờ hiệu lực" in page and WAITS_FROM.format("01/01/2027") in page
    assert 'data-state="paid_by_account"' in page
    assert "suspend" not in action_links(page, case.id)
    (proposal,) = proposals_of(case.id)
    assert (proposal.status, proposal.takes_effect_on, proposal.decided_by_id) == (
        ProposalStatus.SCHEDULED, date(2027, 1, 1), people["supervisor"].id)
    approval = [r for r in audit_records() if r.action == "proposal.approve"]
    assert len(approval) == 1 and '"scheduled":true' in approval[0].detail
    assert '"takes_effect_on":"2027-01-01"' in approval[0].detail
    queue = text_of(make_client(people["officer"]).get("/proposals/scheduled"))
    assert f"{case.id} — {case.full_name}" in queue and "01/01/2027" in queue

    clock = Clock(monkeypatch, "2026-12-31T00:05:00")
    seq = last_seq()
    run_job(app, clock)
    assert case_row(case.id) == before and not audit_records(seq)

    clock.at("2027-01-01T00:05:00")
    run_job(app, clock)
    after = case_row(case.id)
    assert after["status"] is S.SUSPENDED and after["status_effective_month"] == date(2027, 1, 1)
    assert after["version"] == before["version"] + 1
    (fired,) = audit_records(seq)
    assert (fired.action, fired.actor_username, fired.proposal_id) == ("decision.take_effect", "scheduler", proposal.id)
    assert '"from":"paid_by_account"' in fired.detail and '"to":"suspended"' in fired.detail
    assert proposals_of(case.id)[0].status is ProposalStatus.APPROVED
    page = text_of(supervisor.get(f"/cases/{case.id}"))
    assert 'data-state="suspended"' in page and WAITS_FROM.format("01/01/2027") not in page

    # only once: a manual run the same day, and the next day's slot, find nothing to do
    seq = last_seq()
    assert Runner(app, "a", clock).run_now(JOB) is RunOutcome.OK
    clock.at("2027-01-02T00:05:00")
    run_job(app, clock)
    assert case_row(case.id) == after and not [r for r in audit_records(seq) if r.case_id == case.id]


@pytest.mark.parametrize("effective, approved_on, takes_effect_on", [
    ("2026-12-01", date(2026, 12, 15), None),                  # this month: at once, as before
    ("2026-11-01", date(2026, 12, 15), None),                  # a month already past: at once
    ("2027-01-01", date(2026, 12, 31), date(2027, 1, 1)),
    ("2027-03-01", date(2026, 12, 15), date(2027, 3, 1)),
    ("2027-01-01", date(2027, 1, 1), None),                    # approved on the first of the month
])
def test_a_suspension_fires_at_approval_only_when_its_month_has_begun(
        people, make_case, effective, approved_on, takes_effect_on):
    case = make_case(state=S.PAID_IN_CASH)
    payload = payload_for(db.session, case, "suspend") | {"effective_month": effective}
    proposal = _approved(people, case, "suspend", payload, approved_on)
    row = case_row(case.id)
    assert proposal.takes_effect_on == takes_effect_on
    if takes_effect_on is None:
        assert proposal.status is ProposalStatus.APPROVED and row["status"] is S.SUSPENDED
    else:
        assert proposal.status is ProposalStatus.SCHEDULED and row["status"] is S.PAID_IN_CASH


@pytest.mark.parametrize("event_date, approved_on, takes_effect_on", [
    ("2026-12-20", date(2026, 12, 21), date(2027, 1, 1)),      # the month after the event
    ("2026-11-30", date(2026, 12, 1), None),                   # that month has begun
])
def test_a_termination_takes_effect_the_month_after_the_event(
        people, make_case, monkeypatch, event_date, approved_on, takes_effect_on):
    case = make_case(state=S.PAID_BY_ACCOUNT)
    payload = payload_for(db.session, case, "terminate") | {"event_date": event_date}
    proposal = _approved(people, case, "terminate", payload, approved_on)
    assert proposal.takes_effect_on == takes_effect_on
    if takes_effect_on is None:
        assert case_row(case.id)["status"] is S.TERMINATED
        return
    assert case_row(case.id)["status"] is S.PAID_BY_ACCOUNT
    assert _apply(date(2026, 12, 31)) == {"applied": 0, "not_applied": 0}
    assert _apply(date(2027, 1, 1)) == {"applied": 1, "not_applied": 0}
    row = case_row(case.id)
    assert (row["status"], row["status_effective_month"]) == (S.TERMINATED, date(2027, 1, 1))


def test_a_resumption_for_next_month_waits_too(people, make_case):
    case = make_case(state=S.SUSPENDED)
    payload = payload_for(db.session, case, "resume") | {"effective_month": "2027-02-01"}
    proposal = _approved(people, case, "resume", payload, date(2026, 12, 15))
    assert proposal.status is ProposalStatus.SCHEDULED and case_row(case.id)["status"] is S.SUSPENDED
    assert _apply(date(2027, 1, 31)) == {"applied": 0, "not_applied": 0}
    assert _apply(date(2027, 2, 1)) == {"applied": 1, "not_applied": 0}
    row = case_row(case.id)
    assert (row["status"], row["status_effective_month"]) == (S.PAYMENT_METHOD, date(2027, 2, 1))


def edit_phone(browser, case):
    assert fill_and_submit(browser, f"/cases/{case.id}/edit", {"phone": "0987654321"}).status_code == 302


def report_failure(browser, case):
    form = transition_form(case, "report_payment_failure")
    assert submit(browser, f"/cases/{case.id}/actions/report_payment_failure", form).status_code == 302


@pytest.mark.parametrize("change", [edit_phone, report_failure])
def test_a_case_changed_meanwhile_gets_the_decision_refused_and_flagged(
        app, people, make_case, make_client, today, monkeypatch, change):
    case, supervisor, _ = scheduled_suspension(people, make_case, make_client, today)
    officer = make_client(people["officer"])
    change(officer, case)
    before = case_row(case.id)
    seq = last_seq()

    run_job(app, Clock(monkeypatch, "2027-01-01T00:05:00"))

    assert case_row(case.id) == before                      # not applied: the case stays as it is now
    (proposal,) = proposals_of(case.id)
    assert proposal.status is ProposalStatus.NOT_APPLIED and proposal.not_applied_reason.startswith(CHANGED)
    (refused,) = audit_records(seq)
    assert (refused.action, refused.actor_username, refused.outcome, refused.proposal_id) == (
        "decision.refused", "scheduler", "refused", proposal.id)
    assert refused.reason.startswith(CHANGED) and f'"case_version_now":{before["version"]}' in refused.detail
    page = text_of(supervisor.get(f"/cases/{case.id}"))
    assert 'id="refused-decision"' in page and "Quyết định không được áp dụng" in page and CHANGED in page
    assert 'data-state="suspended"' not in page
    queue = text_of(supervisor.get("/proposals/scheduled"))
    assert "Không được áp dụng — cần lãnh đạo xem lại" in queue and f"{case.id} — {case.full_name}" in queue
    assert CHANGED in queue

    # a new proposal on the case clears the flag
    form = transition_form(reload_case(case.id), "suspend", note="Lập lại")
    assert submit(officer, f"/cases/{case.id}/actions/suspend", form).status_code == 302
    assert 'id="refused-decision"' not in text_of(supervisor.get(f"/cases/{case.id}"))
    assert f"{case.id} — {case.full_name}" not in text_of(supervisor.get("/proposals/scheduled"))


def test_no_other_proposal_while_a_decision_waits_for_its_month(people, make_case, make_client, today):
    case, _, _ = scheduled_suspension(people, make_case, make_client, today)
    with write_intent(), pytest.raises(DomainError, match="chờ đến tháng có hiệu lực"):
        start_transition(db.session, actor_of(people["officer"]), people["officer"], reload_case(case.id),
                         "terminate", payload_for(db.session, case, "terminate"), None)
    db.session.rollback()
    assert len(proposals_of(case.id)) == 1


def test_the_queue_lists_the_earliest_first_and_only_in_scope(people, make_case, make_user, make_client):
    later, sooner = make_case(state=S.PAID_IN_CASH), make_case(state=S.PAID_IN_CASH)
    for case, month in ((later, "2027-03-01"), (sooner, "2027-01-01")):
        _approved(people, case, "suspend", payload_for(db.session, case, "suspend") | {"effective_month": month},
                  date(2026, 12, 15))
    queue = text_of(make_client(people["supervisor"]).get("/proposals/scheduled"))
    assert queue.index(f"{sooner.id} — ") < queue.index(f"{later.id} — ")
    stranger = make_user(Role.SUPERVISOR, communes=(TAN_VAN,), full_name="Mã Văn Tân")
    elsewhere = text_of(make_client(stranger).get("/proposals/scheduled"))
    assert f"{sooner.id} — " not in elsewhere and f"{later.id} — " not in elsewhere


def _approved(people, case, trigger, payload, approved_on):
    officer, supervisor = people["officer"], people["supervisor"]
    with write_intent():
        proposal = start_transition(db.session, actor_of(officer), officer, reload_case(case.id), trigger, payload, None)
        approve(db.session, actor_of(supervisor), supervisor, proposal, "Đúng quy định", today=approved_on)
        db.session.commit()
    return proposals_of(case.id)[-1]


def _apply(day: date) -> dict:
    with write_intent():
        counts = apply_scheduled_decisions(db.session, day, Actor.system("scheduler"))
        db.session.commit()
    return counts
