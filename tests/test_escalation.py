"""Escalation (issue 19, items 6 and 7): stalled cases and pending proposals escalate by tier,
once per case, tier and stay, set-based; one digest per recipient per run, in the outbox, in the
escalations' transaction. Dates are injected: today is Friday 15 May 2026, two weeks after the
holidays of 30 April and 1 May."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from cases.actions import fire_transition, propose
from cases.changes import local_today
from cases.digests import MAX_LINES, Line, render_digest, write_digests
from cases.escalation import escalate_stalled_cases, escalations_of, months_back
from cases.models import AuditRecord, Case, Escalation, OutboxMessage, Proposal, User
from cases.models.scheduling import JobRun, RunOutcome
from cases.roles import Role
from extensions import db, write_intent
from scheduler.jobs import JOBS, jobs_for
from scheduler.process import Runner
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, SYSTEM, TAN_VAN
from tests.helpers import fresh, text_of
from tests.paths import payload_for
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

TODAY = date(2026, 5, 15)
NOW = datetime(2026, 5, 15, 0, 0)          # 07:00 in Hà Nội
BASE = "https://ansinh.example.vn"


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day) + timedelta(hours=hour)


def entered(case: Case, moment: datetime) -> None:
    """Put the case's current stay's start at `moment` (UTC)."""
    with write_intent():
        db.session.execute(update(Case.__table__).where(Case.__table__.c.id == case.id)
                           .values(state_entered_at=moment))
        db.session.commit()


def sweep(today: date = TODAY) -> dict:
    with write_intent():
        counts = escalate_stalled_cases(db.session, today, NOW)
        db.session.commit()
    return counts


def tiers() -> dict[int, list[int]]:
    """{case id: tiers escalated}, case rows only."""
    fresh()
    found: dict[int, list[int]] = {}
    for case_id, tier in db.session.execute(select(Escalation.case_id, Escalation.tier)
                                            .where(Escalation.proposal_id.is_(None))
                                            .order_by(Escalation.case_id, Escalation.tier)):
        found.setdefault(case_id, []).append(tier)
    return found


def set_email(user: User, email: str | None) -> None:
    with write_intent():
        db.session.execute(update(User).where(User.id == user.id).values(email=email))
        db.session.commit()


# payment_method: 10 working days. Counted on the date the stay began, as the queue counts them;
# 30 April and 1 May are holidays, 27 April the day off for Hùng Kings (26 April, a Sunday).
@pytest.mark.parametrize(("since", "expected"), [
    (at("2026-04-29", 16), []),               # 10 working days (12 without the holidays)
    (at("2026-04-28"), [1]),                  # 11
    (at("2026-04-14"), [1]),                  # 20: twice the SLA, not past it
    (at("2026-04-13"), [1, 2]),               # 21
    (at("2026-03-31"), [1, 2]),               # 30
    (at("2026-03-30"), [1, 2, 3]),            # 31
])
def test_a_case_escalates_by_working_days_in_its_state(make_case, since, expected):
    case = make_case(S.PAYMENT_METHOD)
    entered(case, since)
    sweep()
    assert tiers().get(case.id, []) == expected


@pytest.mark.parametrize(("state", "since", "expected"), [
    (S.PAID_IN_CASH, at("2026-02-14"), []),           # 90 days: re-engage after 90
    (S.PAID_IN_CASH, at("2026-02-13"), [1]),          # 91
    (S.PAID_IN_CASH, at("2025-11-15"), [1, 2]),       # 181
    (S.SUSPENDED, at("2026-02-15"), []),              # three months to the day
    (S.SUSPENDED, at("2026-02-14"), [1]),
    (S.SUSPENDED, at("2025-05-14"), [1, 2, 3]),       # past nine months
    (S.PAID_BY_ACCOUNT, at("2020-01-01"), []),        # no SLA
])
def test_days_and_months_slas(make_case, state, since, expected):
    case = make_case(state)
    entered(case, since)
    sweep()
    assert tiers().get(case.id, []) == expected


def test_months_back_keeps_the_day_or_takes_the_months_last():
    assert months_back(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_back(date(2026, 1, 15), 1) == date(2025, 12, 15)
    assert months_back(date(2024, 5, 29), 3) == date(2024, 2, 29)


def test_an_escalation_is_recorded_once_per_case_tier_and_stay(make_case):
    case = make_case(S.PAYMENT_METHOD)
    entered(case, at("2026-04-13"))
    first = sweep()
    assert first["cases_tier_1"] == 1 and first["cases_tier_2"] == 1
    again = sweep()
    assert again == {key: 0 for key in first}
    later = sweep(TODAY + timedelta(days=3))                  # the next Monday: still tiers 1 and 2
    assert later == {key: 0 for key in first}
    assert tiers() == {case.id: [1, 2]}
    fresh()
    assert db.session.scalar(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "escalation.sweep")) == 3   # one per run, not per case


def test_a_case_that_moves_on_stops_and_escalates_again_for_its_new_stay(make_case):
    case = make_case(S.PAYMENT_METHOD)
    entered(case, at("2026-04-28"))
    sweep()
    with write_intent():
        case = db.session.get(Case, case.id)
        fire_transition(db.session, SYSTEM, None, case, TRANSITIONS["choose_account"],
                        payload_for(db.session, case, "choose_account"))
        db.session.commit()
    entered(case, at("2026-05-04"))                  # account_opening: 20 working days
    assert sweep() == {key: 0 for key in sweep()}
    assert tiers() == {case.id: [1]}
    sweep(date(2026, 6, 2))                          # 21 working days in account opening
    fresh()
    stays = db.session.execute(select(Escalation.state, Escalation.tier, Escalation.escalated_on)
                               .where(Escalation.case_id == case.id).order_by(Escalation.id)).all()
    assert stays == [(S.PAYMENT_METHOD, 1, TODAY), (S.ACCOUNT_OPENING, 1, date(2026, 6, 2))]
    assert [e.state for e in escalations_of(db.session, case.id)] == [S.ACCOUNT_OPENING, S.PAYMENT_METHOD]


@pytest.mark.parametrize(("proposed", "expected"), [
    (at("2026-05-08"), []),           # 5 working days
    (at("2026-05-07"), [1]),          # 6
    (at("2026-04-28"), [1, 2]),       # 11
])
def test_a_pending_proposal_escalates_on_its_own_sla(make_case, make_user, proposed, expected):
    officer = make_user(Role.OFFICER)
    case = make_case(S.PAYMENT_METHOD, by=officer)
    entered(case, at("2026-05-14"))              # the case itself is within its SLA
    with write_intent():
        case = db.session.get(Case, case.id)
        proposal = propose(db.session, SYSTEM, officer, case, "choose_cash",
                           payload_for(db.session, case, "choose_cash"))
        db.session.commit()
        db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(proposed_at=proposed))
        db.session.commit()
    counts = sweep()
    fresh()
    rows = db.session.execute(select(Escalation.case_id, Escalation.proposal_id, Escalation.tier)
                              .order_by(Escalation.tier)).all()
    assert rows == [(case.id, proposal.id, tier) for tier in expected]
    assert [counts[f"proposals_tier_{t}"] for t in (1, 2, 3)] == [int(t in expected) for t in (1, 2, 3)]
    assert sweep()["proposals_tier_1"] == 0


@pytest.fixture
def scene(make_user, make_case):
    """Two communes of Lạng Sơn and one of Hà Nội, their people, and four stalled cases."""
    people = {
        "officer": make_user(Role.OFFICER, communes=(BINH_GIA,)),
        "officer_tan_van": make_user(Role.OFFICER, communes=(TAN_VAN,)),
        "officer_no_email": make_user(Role.OFFICER, communes=(BINH_GIA,), username="khongthu.binhgia"),
        "supervisor": make_user(Role.SUPERVISOR, communes=(BINH_GIA,)),
        "province": make_user(Role.SUPERVISOR, province=LANG_SON),
        "province_officer": make_user(Role.OFFICER, province=LANG_SON),
        "officer_ha_noi": make_user(Role.OFFICER, communes=(OTHER_COMMUNE,)),
        "supervisor_ha_noi": make_user(Role.SUPERVISOR, province=OTHER_PROVINCE),
        "auditor": make_user(Role.AUDITOR, province=LANG_SON),
    }
    for name, user in people.items():
        if name != "officer_no_email":
            set_email(user, f"{user.username}@example.vn")
    cases = {
        "a": make_case(S.PAYMENT_METHOD, by=people["officer"], full_name="Lý Thị Ảnh"),        # tier 1
        "b": make_case(S.PAYMENT_METHOD, by=people["officer"], full_name="Hoàng Văn Bằng"),    # tiers 1-3
        "c": make_case(S.PAYMENT_METHOD, commune=TAN_VAN, by=people["officer_tan_van"]),    # tiers 1-2
        "d": make_case(S.PAYMENT_METHOD, commune=OTHER_COMMUNE, by=people["officer_ha_noi"]),  # tier 1
        "fresh": make_case(S.PAYMENT_METHOD, by=people["officer"]),                        # not stalled
    }
    for key, since in {"a": "2026-04-28", "b": "2026-03-30", "c": "2026-04-13", "d": "2026-04-28",
                       "fresh": "2026-05-14"}.items():
        entered(cases[key], at(since))
    return people, {key: db.session.get(Case, case.id) for key, case in cases.items()}


def run_and_write() -> dict:
    with write_intent():
        counts = escalate_stalled_cases(db.session, TODAY, NOW)
        counts |= write_digests(db.session, TODAY, BASE, NOW)
        db.session.commit()
    return counts


def expected_listings(cases: dict) -> dict[str, set[int]]:
    """Who among the scene's people gets a digest, and the cases it lists (scope and tier)."""
    ids = {key: case.id for key, case in cases.items()}
    return {
        "officer": {ids["a"], ids["b"]},
        "officer_tan_van": {ids["c"]},
        "province_officer": {ids["a"], ids["b"], ids["c"]},
        "supervisor": {ids["b"]},
        "province": {ids["b"]},
        "officer_ha_noi": {ids["d"]},
    }


def digests() -> dict[int, OutboxMessage]:
    fresh()
    return {m.recipient_id: m for m in db.session.scalars(select(OutboxMessage))}


def listed(message: OutboxMessage) -> set[int]:
    return {int(line.rsplit("/", 1)[1]) for line in message.body_text.splitlines() if f"{BASE}/cases/" in line}


def test_one_digest_per_recipient_with_the_cases_of_their_scope_and_tier(scene):
    people, cases = scene
    counts = run_and_write()
    sent = digests()
    assert {who: listed(sent[user.id]) for who, user in people.items() if user.id in sent} == expected_listings(cases)
    assert counts["digests"] == 6
    assert counts["without_email"] == 1 and counts["without_email_usernames"] == ["khongthu.binhgia"]
    message = sent[people["officer"].id]
    assert message.kind == "escalation_digest" and message.status.value == "pending" and message.attempts == 0
    assert message.to_address == f"{people['officer'].username}@example.vn"
    assert message.message_id == f"<digest-2026-05-15-{people['officer'].id}@ansinh.example.vn>"
    assert message.subject == "[AnSinh] 2 hồ sơ quá hạn cần xử lý — ngày 15/05/2026"
    body = message.body_text
    assert "Kính gửi " + people["officer"].full_name in body
    for key in ("a", "b"):
        case = cases[key]
        assert f"Hồ sơ số {case.id} — {case.full_name} — CCCD ••••••••{case.national_id[-4:]}" in body
        assert case.national_id not in body
        assert f"{BASE}/cases/{case.id}" in body
    assert "Chờ đăng ký phương thức chi trả: 11 ngày làm việc (thời hạn 10 ngày làm việc)" in body
    assert "Chờ đăng ký phương thức chi trả: 31 ngày làm việc" in body
    assert "Mức 3" in sent[people["province"].id].body_text


def test_a_rerun_of_the_day_writes_no_second_digest(scene):
    run_and_write()
    before = {m.message_id for m in digests().values()}
    counts = run_and_write()
    assert counts["digests"] == 0 and counts["already_written"] == 6
    fresh()
    assert {m for m in db.session.scalars(select(OutboxMessage.message_id))} == before


def test_a_long_digest_lists_the_first_cases_and_counts_the_rest():
    lines = [Line(1, n, 1, 1, "Người thứ " + str(n), "020150001234", "Đang mở tài khoản", "20 ngày làm việc", 25,
                  "25 ngày làm việc")
             for n in range(MAX_LINES + 7)]
    subject, body = render_digest("Cán bộ\r\nBcc: x@y", lines, TODAY, BASE)
    assert "\n" not in subject and "\r" not in subject
    assert "Kính gửi Cán bộ  Bcc: x@y," in body
    assert body.count(f"{BASE}/cases/") == MAX_LINES
    assert "… và 7 hồ sơ khác" in body and "020150001234" not in body


def test_the_daily_job_commits_escalations_and_digests_together(app, make_user, make_case):
    officer = make_user(Role.OFFICER)
    set_email(officer, "canbo@example.vn")
    case = make_case(S.PAYMENT_METHOD, by=officer)
    entered(case, datetime.combine(local_today() - timedelta(days=400), datetime.min.time()))
    job = next(j for j in jobs_for(app) if j.id == "escalate_stalled_cases")
    assert job.cron == {"hour": 7, "minute": 0} and job == JOBS["escalate_stalled_cases"]
    assert Runner(app, "a").run_now("escalate_stalled_cases", local_today().isoformat()) is RunOutcome.OK
    assert tiers() == {case.id: [1, 2, 3]}
    [message] = digests().values()
    assert message.recipient_id == officer.id and f"/cases/{case.id}" in message.body_text
    run = db.session.scalar(select(JobRun).where(JobRun.job == "escalate_stalled_cases"))
    assert run.outcome is RunOutcome.OK
    # The same slot again: refused by the slot; a manual run the same day adds nothing.
    assert Runner(app, "b").run_now("escalate_stalled_cases", local_today().isoformat()) is None
    assert Runner(app, "b").run_now("escalate_stalled_cases") is RunOutcome.OK
    assert len(digests()) == 1 and tiers() == {case.id: [1, 2, 3]}


def test_the_escalation_hour_comes_from_the_config(app):
    app.config["ESCALATION_HOUR"] = 9
    try:
        job = next(j for j in jobs_for(app) if j.id == "escalate_stalled_cases")
    finally:
        app.config["ESCALATION_HOUR"] = 7
    assert job.cron == {"hour": 9, "minute": 0} and job.schedule == "hằng ngày lúc 09:00"


def test_the_queue_marks_the_cases_escalated_in_their_current_stay(make_user, make_case, make_client):
    officer = make_user(Role.OFFICER)
    stalled = make_case(S.PAYMENT_METHOD, by=officer, full_name="Nông Văn Chậm")
    on_time = make_case(S.PAYMENT_METHOD, by=officer, full_name="Lương Thị Kịp")
    entered(stalled, at("2026-03-30"))
    entered(on_time, at("2026-03-30"))
    sweep()
    entered(on_time, at("2026-05-14"))        # a new stay (as after a reopening): its flags do not carry over
    page = text_of(make_client(officer).get("/cases?state=payment_method"))
    rows = {name: row for row in page.split("<tr>") for name in ("Nông Văn Chậm", "Lương Thị Kịp") if name in row}
    assert "quá hạn · mức 3" in rows["Nông Văn Chậm"]
    assert "quá hạn" not in rows["Lương Thị Kịp"]


def test_a_digest_counts_days_as_the_sla_does_and_names_a_waiting_proposal(make_user, make_case):
    officer = make_user(Role.OFFICER)
    set_email(officer, "canbo@example.vn")
    cash = make_case(S.PAID_IN_CASH, by=officer)
    entered(cash, at("2026-02-13"))
    waiting = make_case(S.PAYMENT_METHOD, by=officer)
    entered(waiting, at("2026-05-14"))
    with write_intent():
        waiting = db.session.get(Case, waiting.id)
        proposal = propose(db.session, SYSTEM, officer, waiting, "choose_cash",
                           payload_for(db.session, waiting, "choose_cash"))
        db.session.commit()
        db.session.execute(update(Proposal).where(Proposal.id == proposal.id).values(proposed_at=at("2026-05-07")))
        db.session.commit()
    run_and_write()
    [message] = digests().values()
    assert "Chi trả tiền mặt: 91 ngày (thời hạn 90 ngày)" in message.body_text
    assert ("Đề xuất «Đăng ký nhận tiền mặt» chờ phê duyệt: 6 ngày làm việc (thời hạn 5 ngày làm việc)"
            in message.body_text)


def test_the_case_page_lists_its_escalations(make_user, make_case, make_client):
    officer = make_user(Role.OFFICER)
    case = make_case(S.PAYMENT_METHOD, by=officer)
    entered(case, at("2026-03-30"))
    sweep()
    page = text_of(make_client(officer).get(f"/cases/{case.id}"))
    assert "Cảnh báo quá hạn" in page
    for tier in (1, 2, 3):
        assert f"15/05/2026: mức {tier} — quá hạn ở trạng thái «Chờ đăng ký phương thức chi trả»" in page
