"""Refusals in the trail (issue 14, finding 15): refused proposal decisions are audited like
refused case pages; one user's repeated refusals for one target are audited once an hour,
counted."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import denials
from cases.models import AuditRecord, DenialWindow
from cases.roles import Role
from extensions import db
from tests.conftest import TAN_VAN, csrf_token
from tests.helpers import audit_count, fresh
from workflow.states import CaseState as S


@pytest.fixture
def outsider(make_user):
    return make_user(Role.SUPERVISOR, communes=(TAN_VAN,))


def denied_records() -> list[AuditRecord]:
    fresh()
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == "access.denied")
                                   .order_by(AuditRecord.seq)))


def test_a_refused_decision_on_a_foreign_proposal_is_audited(outsider, make_user, make_case, make_client):
    from tests.helpers import pending_of
    from tests.paths import payload_for
    from cases.actions import start_transition
    from cases.audit import Actor
    from extensions import write_intent
    case = make_case(state=S.PAID_BY_ACCOUNT)
    officer = make_user(Role.OFFICER)
    with write_intent():
        start_transition(db.session, Actor.system("test"), officer, case, "suspend",
                         payload_for(db.session, case, "suspend"), case.version, reason="thử")
        db.session.commit()
    proposal = pending_of(case.id)
    browser = make_client(outsider)
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    for decision in ("approve", "reject", "approve"):
        response = browser.post(f"/proposals/{proposal.id}/{decision}", data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 404
    records = denied_records()
    assert len(records) == 2  # approve twice within the hour: once, counted
    assert '"proposal_id":%d' % proposal.id in records[0].detail
    assert records[0].actor_username == outsider.username
    assert pending_of(case.id) is not None


def test_repeated_refusals_for_one_target_are_audited_once_an_hour_and_counted(outsider, make_case, make_client,
                                                                              monkeypatch):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(outsider)
    for _ in range(25):
        assert browser.get(f"/cases/{case.id}").status_code == 404
    assert len(denied_records()) == 1
    fresh()
    assert db.session.get(DenialWindow, (outsider.id, f"GET /cases/{case.id}")).count == 25

    later = denials.utcnow() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(denials, "utcnow", lambda: later)
    assert browser.get(f"/cases/{case.id}").status_code == 404
    records = denied_records()
    assert len(records) == 2
    assert '"repeats_in_previous_hour":24' in records[1].detail


def test_refusals_for_different_targets_are_each_audited(outsider, make_case, make_client):
    cases = [make_case(state=S.PAYMENT_METHOD) for _ in range(3)]
    browser = make_client(outsider)
    for case in cases:
        browser.get(f"/cases/{case.id}")
    assert {r.case_id for r in denied_records()} == {c.id for c in cases}
    assert audit_count("access.denied") == 3
