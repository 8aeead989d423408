"""Watchers (issue 19, item 8): a suspension three months old reminds the commune's supervisors to
review it; a cash case past its 90 days is back in the officers' queue and digest with what it
needs; a decision that could not take effect is listed in the supervisors' digest, never an
officer's, until a new proposal is made on the case. Dates are injected, as in test_escalation."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from cases.actions import approve, start_transition
from cases.audit import Actor
from cases.digests import write_digests
from cases.escalation import escalate_stalled_cases
from cases.models import Case, OutboxMessage, Proposal, ProposalStatus, User
from cases.roles import Role
from cases.scheduled import CHANGED, apply_scheduled_decisions
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, TAN_VAN
from tests.helpers import fresh, proposals_of, reload_case, text_of
from tests.paths import payload_for
from workflow.states import CaseState as S

TODAY = date(2026, 5, 15)
NOW = datetime(2026, 5, 15, 0, 0)          # 07:00 in Hà Nội
BASE = "https://ansinh.example.vn"
REVIEW = "Cần làm: đến hạn xem xét lại (tạm dừng từ 02/2026)"
RE_ENGAGE = "đến hạn vận động chuyển sang nhận qua tài khoản (nhận tiền mặt từ 13/02/2026)"


def entered(case: Case, moment: datetime) -> None:
    with write_intent():
        db.session.execute(update(Case.__table__).where(Case.__table__.c.id == case.id)
                           .values(state_entered_at=moment))
        db.session.commit()


def run(today: date = TODAY) -> dict:
    """The daily job's work: the sweep, then the digests, in one transaction."""
    now = datetime.combine(today, datetime.min.time())
    with write_intent():
        counts = escalate_stalled_cases(db.session, today, now)
        counts |= write_digests(db.session, today, BASE, now)
        db.session.commit()
    return counts


def digests(on: date = TODAY) -> dict[int, OutboxMessage]:
    fresh()
    return {m.recipient_id: m for m in db.session.scalars(select(OutboxMessage))
            if m.message_id.startswith(f"<digest-{on.isoformat()}-")}


@pytest.fixture
def people(make_user):
    found = {
        "officer": make_user(Role.OFFICER, communes=(BINH_GIA,)),
        "supervisor": make_user(Role.SUPERVISOR, communes=(BINH_GIA,)),
        "province": make_user(Role.SUPERVISOR, province=LANG_SON),
        "province_officer": make_user(Role.OFFICER, province=LANG_SON),
        "supervisor_tan_van": make_user(Role.SUPERVISOR, communes=(TAN_VAN,)),
        "officer_ha_noi": make_user(Role.OFFICER, communes=(OTHER_COMMUNE,)),
        "supervisor_ha_noi": make_user(Role.SUPERVISOR, province=OTHER_PROVINCE),
    }
    with write_intent():
        for user in found.values():
            db.session.execute(update(User).where(User.id == user.id).values(email=f"{user.username}@example.vn"))
        db.session.commit()
    return found


def test_a_suspension_three_months_old_reminds_the_communes_supervisors_to_review_it(people, make_case):
    suspended = make_case(S.SUSPENDED, by=people["officer"], full_name="Hà Thị Dừng")
    entered(suspended, datetime(2026, 2, 14, 9))             # three months and a day
    on_time = make_case(S.SUSPENDED, by=people["officer"])
    entered(on_time, datetime(2026, 2, 15, 9))               # three months to the day
    run()
    sent = digests()
    body = sent[people["supervisor"].id].body_text
    assert f"Hồ sơ số {suspended.id} — Hà Thị Dừng" in body and REVIEW in body
    assert "Tạm dừng: 90 ngày (thời hạn 3 tháng)" in body
    assert f"/cases/{on_time.id}" not in body
    assert REVIEW in sent[people["officer"].id].body_text          # the officers prepare the review
    # tier 1 only: neither the province's supervisors nor anyone elsewhere hear of it
    assert set(sent) == {people["officer"].id, people["supervisor"].id, people["province_officer"].id}
    assert run()["digests"] == 0                                     # once a day per recipient


def test_the_review_reminder_names_the_local_month_the_suspension_began(people, make_case):
    suspended = make_case(S.SUSPENDED, by=people["officer"])
    entered(suspended, datetime(2026, 1, 31, 17, 5))       # 00:05 on 1 February in Hà Nội
    run()
    body = digests()[people["supervisor"].id].body_text
    assert f"/cases/{suspended.id}" in body and REVIEW in body and "01/2026" not in body


def test_a_cash_case_past_90_days_is_back_in_the_officers_queue_and_digest_with_the_reason(
        people, make_case, make_client):
    cash = make_case(S.PAID_IN_CASH, by=people["officer"], full_name="Lò Văn Mặt")
    entered(cash, datetime(2026, 2, 13, 9))                  # 91 days
    recent = make_case(S.PAID_IN_CASH, by=people["officer"], full_name="Vy Thị Mới")
    entered(recent, datetime(2026, 2, 14, 9))                # 90 days
    run()
    sent = digests()
    body = sent[people["officer"].id].body_text
    assert f"Hồ sơ số {cash.id} — Lò Văn Mặt" in body
    assert "Chi trả tiền mặt: 91 ngày (thời hạn 90 ngày)" in body and f"Cần làm: {RE_ENGAGE}" in body
    assert f"/cases/{recent.id}" not in body
    assert people["supervisor"].id not in sent                 # tier 1 of a cash case: the officers only
    page = text_of(make_client(people["officer"]).get("/cases?state=paid_in_cash"))
    rows = {name: row for row in page.split("<tr>") for name in ("Lò Văn Mặt", "Vy Thị Mới") if name in row}
    assert f'title="Đã cảnh báo quá hạn mức 1: {RE_ENGAGE}"' in rows["Lò Văn Mặt"]
    assert "quá hạn · mức 1" in rows["Lò Văn Mặt"] and "quá hạn" not in rows["Vy Thị Mới"]


def refused_suspension(people, case: Case) -> None:
    """A suspension from January 2027 approved in December; the case changes before the first."""
    officer, supervisor = people["officer"], people["supervisor"]
    payload = payload_for(db.session, case, "suspend") | {"effective_month": "2027-01-01"}
    with write_intent():
        proposal = start_transition(db.session, actor_of(officer), officer, reload_case(case.id), "suspend",
                                    payload, None)
        approve(db.session, actor_of(supervisor), supervisor, proposal, "Đúng quy định", today=date(2026, 12, 15))
        db.session.execute(update(Case.__table__).where(Case.__table__.c.id == case.id)
                           .values(version=Case.__table__.c.version + 1))      # changed meanwhile
        db.session.commit()
    fresh()
    with write_intent():
        assert apply_scheduled_decisions(db.session, date(2027, 1, 1), Actor.system("scheduler")) == {
            "applied": 0, "not_applied": 1}
        db.session.commit()
    assert proposals_of(case.id)[-1].status is ProposalStatus.NOT_APPLIED


def test_a_decision_that_could_not_take_effect_goes_to_the_supervisors_digest_only(people, make_case):
    day = date(2027, 1, 1)
    case = make_case(S.PAID_IN_CASH, by=people["officer"], full_name="Nông Thị Quyết")
    entered(case, datetime(2026, 12, 20, 9))
    stalled = make_case(S.PAYMENT_METHOD, by=people["officer"])
    entered(stalled, datetime(2026, 6, 1, 9))                # tiers 1 to 3 on the day
    elsewhere = make_case(S.PAID_IN_CASH, commune=OTHER_COMMUNE, by=people["officer_ha_noi"])
    entered(elsewhere, datetime(2026, 12, 20, 9))
    refused_suspension(people, case)
    run(day)
    sent = digests(day)
    for who in ("supervisor", "province"):
        message = sent[people[who].id]
        assert "Quyết định không thể áp dụng" in message.body_text
        assert (f"Hồ sơ số {case.id} — Nông Thị Quyết — «Tạm dừng trợ cấp» có hiệu lực từ 01/01/2027"
                in message.body_text)
        assert CHANGED in message.body_text and f"{BASE}/cases/{case.id}" in message.body_text
        assert f"/cases/{stalled.id}" in message.body_text       # one digest: escalations and refusals
    assert sent[people["supervisor"].id].subject == (
        "[AnSinh] 1 hồ sơ quá hạn, 1 quyết định không thể áp dụng cần xử lý — ngày 01/01/2027")
    for who in ("officer", "province_officer"):
        assert "không thể áp dụng" not in sent[people[who].id].body_text
        assert f"/cases/{case.id}" not in sent[people[who].id].body_text
    for who in ("supervisor_tan_van", "officer_ha_noi", "supervisor_ha_noi"):
        assert people[who].id not in sent

    # still flagged the next day; a new proposal on the case clears it
    run(day + timedelta(days=1))
    assert f"/cases/{case.id}" in digests(day + timedelta(days=1))[people["supervisor"].id].body_text
    with write_intent():
        officer = people["officer"]
        again = start_transition(db.session, actor_of(officer), officer, reload_case(case.id), "suspend",
                                 payload_for(db.session, case, "suspend"), None)
        db.session.execute(update(Proposal).where(Proposal.id == again.id).values(proposed_at=datetime(2027, 1, 2, 9)))
        db.session.commit()
    run(day + timedelta(days=2))
    assert people["supervisor"].id not in digests(day + timedelta(days=2))
