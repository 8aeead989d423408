"""The workflow as a table: every (state, trigger) pair either moves the case where BRIEF
section 3 says, or is refused in Vietnamese and changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases.actions import approve, fire_transition, start_transition
from cases.errors import DomainError, NotPermitted
from cases.models import Proposal, ProposalStatus
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests import paths
from tests.brief import (BRIEF_FROM_EDIT_FORM, BRIEF_MOVES, BRIEF_NEEDS_APPROVAL, BRIEF_STATE_LABELS, RECEIVING,
                         RETURNS)
from tests.conftest import BINH_GIA, submit
from tests.helpers import (action_links, change_record_count, audit_count, audit_records, case_row, fill_and_submit, last_seq, proposals_of,
                           page_token, reload_case, text_of, transition_form)
from tests.paths import payload_for
from workflow import engine
from workflow.states import CaseState as S
from workflow.table import RETURN, STATES, TRANSITIONS

ALL_PAIRS = [(state, trigger) for state in S for trigger in TRANSITIONS]
ALLOWED = [pair for pair in ALL_PAIRS if pair in BRIEF_MOVES]
REFUSED = [pair for pair in ALL_PAIRS if pair not in BRIEF_MOVES]


def pair_id(pair) -> str:
    return f"{pair[0].value}-{pair[1]}"


@pytest.fixture
def office(make_user):
    """An officer and a supervisor of Xã Bình Gia."""
    return (make_user(Role.OFFICER, full_name="Hoàng Thị Lan"),
            make_user(Role.SUPERVISOR, full_name="Vi Văn Đức"))


def fire_as_office(case, trigger: str, officer, supervisor, version: int | None = None):
    """Start `trigger` as the officer; when it waits for approval, the supervisor approves it."""
    with write_intent():
        proposal = start_transition(db.session, actor_of(officer), officer, case, trigger,
                                    payload_for(db.session, case, trigger), case.version if version is None else version)
        db.session.commit()
    if proposal is not None:
        with write_intent():
            approve(db.session, actor_of(supervisor), supervisor, proposal, "Đồng ý theo đề xuất")
            db.session.commit()
    return proposal


def test_the_table_is_the_brief():
    assert {(s, t) for t, spec in TRANSITIONS.items() for s in spec.sources} == set(BRIEF_MOVES)
    assert {t for t, spec in TRANSITIONS.items() if spec.needs_approval} == BRIEF_NEEDS_APPROVAL
    assert {s: spec.label for s, spec in STATES.items()} == BRIEF_STATE_LABELS
    assert len(ALLOWED) + len(REFUSED) == len(S) * len(TRANSITIONS) == 105
    assert {t for t, spec in TRANSITIONS.items() if spec.form is None} == BRIEF_FROM_EDIT_FORM
    for (state, trigger), dest in BRIEF_MOVES.items():
        table_dest = TRANSITIONS[trigger].dest
        expected = RETURN if dest == RETURNS else (None if dest is state else dest)
        assert table_dest == expected, (state, trigger)


@pytest.mark.parametrize("pair", ALLOWED, ids=pair_id)
def test_allowed_move_ends_where_the_brief_says(pair, office, make_case):
    state, trigger = pair
    officer, supervisor = office
    case = make_case(state=state)
    before, seq = case_row(case.id), last_seq()
    expected = before["suspended_from"] if BRIEF_MOVES[pair] == RETURNS else BRIEF_MOVES[pair]

    proposal = fire_as_office(case, trigger, officer, supervisor)

    after = case_row(case.id)
    assert after["status"] is expected
    assert after["version"] == before["version"] + 1
    actions = [r.action for r in audit_records(seq)]
    if trigger in BRIEF_NEEDS_APPROVAL:
        assert proposal is not None
        assert actions == ["proposal.create", "proposal.approve"]
        decided = proposals_of(case.id)[-1]
        assert decided.status is ProposalStatus.APPROVED
        assert (decided.proposed_by_id, decided.decided_by_id) == (officer.id, supervisor.id)
    else:
        assert proposal is None
        assert actions == ["case.transition"]
        assert proposals_of(case.id) == []
    assert f'"to":"{expected.value}"' in audit_records(seq)[-1].detail


@pytest.mark.parametrize("origin", RECEIVING, ids=lambda s: s.value)
def test_resume_returns_to_the_state_suspended_from(origin, office, make_case):
    officer, supervisor = office
    case = make_case(state=origin)
    with write_intent():
        fire_transition(db.session, paths.SYSTEM, None, case, TRANSITIONS["suspend"],
                        payload_for(db.session, case, "suspend"))
        db.session.commit()
    assert case_row(case.id)["suspended_from"] is origin

    fire_as_office(reload_case(case.id), "resume", officer, supervisor)

    after = case_row(case.id)
    assert (after["status"], after["suspended_from"]) == (origin, None)


@pytest.mark.parametrize("pair", REFUSED, ids=pair_id)
def test_refused_move_says_why_and_changes_nothing(pair, office, make_case):
    state, trigger = pair
    officer, _ = office
    case = make_case(state=state)
    before, records = case_row(case.id), audit_count()

    with write_intent(), pytest.raises(DomainError) as refused:
        start_transition(db.session, actor_of(officer), officer, case, trigger,
                         payload_for(db.session, case, trigger), case.version)
    db.session.rollback()

    assert refused.value.message == (f"Không thể «{TRANSITIONS[trigger].label}» khi hồ sơ đang ở trạng thái "
                                     f"«{BRIEF_STATE_LABELS[state]}».")
    assert case_row(case.id) == before
    assert audit_count() == records
    assert proposals_of(case.id) == []


def test_the_engine_refuses_a_move_not_in_the_table(make_case):
    case = make_case(state=S.PAID_IN_CASH)
    with pytest.raises(engine.TransitionNotAllowed):
        engine.fire(case, "confirm_account_payment")
    assert case.status is S.PAID_IN_CASH


# --- through the forms ------------------------------------------------------------------------

HTTP_REFUSED = [
    (S.IDENTITY_VERIFICATION, "confirm_account_payment"),
    (S.PAYMENT_METHOD, "switch_to_account"),
    (S.PAID_IN_CASH, "verify_identity"),
    (S.SUSPENDED, "suspend"),
    (S.TERMINATED, "resume"),
    (S.TERMINATED, "terminate"),
    (S.IDENTITY_VERIFICATION, "reopen_identity"),
]


@pytest.mark.parametrize("pair", HTTP_REFUSED, ids=pair_id)
def test_refused_move_through_the_form_is_a_422_with_the_message(pair, office, make_case, make_client):
    state, trigger = pair
    officer, _ = office
    case = make_case(state=state)
    browser = make_client(officer)
    before, records = case_row(case.id), change_record_count()

    response = submit(browser, f"/cases/{case.id}/actions/{trigger}", transition_form(case, trigger))

    assert response.status_code == 422
    assert (f"Không thể «{TRANSITIONS[trigger].label}» khi hồ sơ đang ở trạng thái "
            f"«{BRIEF_STATE_LABELS[state]}»." in text_of(response))
    assert case_row(case.id) == before
    assert change_record_count() == records
    assert proposals_of(case.id) == []


@pytest.mark.parametrize("pair, flash", [
    ((S.IDENTITY_VERIFICATION, "verify_identity"), "Đã thực hiện «Xác thực danh tính»."),
    ((S.ACCOUNT_OPENING, "record_account_opened"), "Đã thực hiện «Ghi nhận đã mở tài khoản»."),
    ((S.PAYMENT_METHOD, "choose_cash"), "Đã gửi đề xuất «Đăng ký nhận tiền mặt» chờ lãnh đạo phê duyệt."),
], ids=["verify_identity", "record_account_opened", "choose_cash"])
def test_allowed_move_through_the_form(pair, flash, office, make_case, make_client):
    state, trigger = pair
    officer, _ = office
    case = make_case(state=state)
    browser = make_client(officer)

    response = submit(browser, f"/cases/{case.id}/actions/{trigger}", transition_form(case, trigger))

    assert response.status_code == 302
    page = text_of(browser.get(response.headers["Location"]))
    assert flash in page
    now = state if trigger in BRIEF_NEEDS_APPROVAL else BRIEF_MOVES[pair]
    assert case_row(case.id)["status"] is now
    assert f'data-state="{now.value}">{BRIEF_STATE_LABELS[now]}<' in page


def expected_buttons(state: S, pending: bool = False) -> set[str]:
    return {t for (s, t) in BRIEF_MOVES if s is state and t not in BRIEF_FROM_EDIT_FORM
            and not (pending and t in BRIEF_NEEDS_APPROVAL)}


@pytest.mark.parametrize("state", list(S), ids=lambda s: s.value)
@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR])
def test_case_page_offers_exactly_the_allowed_actions(state, role, make_case, make_user, make_client):
    case = make_case(state=state)
    browser = make_client(make_user(role))
    page = text_of(browser.get(f"/cases/{case.id}"))
    assert action_links(page, case.id) == expected_buttons(state)
    assert ("Sửa thông tin" in page) is (state is not S.TERMINATED)


def test_case_page_hides_approval_actions_while_a_proposal_waits(office, make_case, make_client):
    officer, supervisor = office
    case = make_case(state=S.PAYMENT_METHOD)
    with write_intent():
        start_transition(db.session, actor_of(officer), officer, case, "suspend",
                         payload_for(db.session, case, "suspend"), case.version)
        db.session.commit()
    page = text_of(make_client(supervisor).get(f"/cases/{case.id}"))
    assert action_links(page, case.id) == expected_buttons(S.PAYMENT_METHOD, pending=True) == {"choose_account"}
    assert "Đang chờ phê duyệt" in page


# --- who may fire -------------------------------------------------------------------------------

@pytest.mark.parametrize("role, scope", [
    (Role.AUDITOR, {"communes": (BINH_GIA,)}),
    (Role.ADMIN, {"province": "20"}),
], ids=["auditor", "admin"])
def test_auditor_and_admin_may_not_fire_anything(role, scope, make_user, make_case, make_client):
    user = make_user(role, **scope)
    case = make_case(state=S.IDENTITY_VERIFICATION)
    browser = make_client(user)
    before = case_row(case.id)

    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 200                  # they may read the case...
    page = text_of(response)
    assert action_links(page, case.id) == set() and "Sửa thông tin" not in page    # ...and are offered nothing
    for trigger in TRANSITIONS:
        response = browser.get(f"/cases/{case.id}/actions/{trigger}")
        assert response.status_code == 403, trigger
        assert f"Vai trò {role.label} không được thực hiện «{TRANSITIONS[trigger].label}»." in text_of(response)
    token = page_token(browser)
    response = browser.post(f"/cases/{case.id}/actions/verify_identity",
                            data={**transition_form(case, "verify_identity"), "csrf_token": token,
                                  "version": str(case.version)})
    assert response.status_code == 403
    with write_intent(), pytest.raises(NotPermitted):
        start_transition(db.session, actor_of(user), user, reload_case(case.id), "verify_identity",
                         payload_for(db.session, case, "verify_identity"), None)
    db.session.rollback()
    assert case_row(case.id) == before
    assert db.session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_only_the_engine_sets_a_status(make_case, make_user, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION)
    with pytest.raises(RuntimeError, match="workflow.engine only"):
        case.status = S.PAID_BY_ACCOUNT
    db.session.rollback()
    assert case_row(case.id)["status"] is S.IDENTITY_VERIFICATION


def test_the_edit_form_cannot_set_a_status(make_case, make_user, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION, full_name="Lục Văn Pao")
    browser = make_client(make_user(Role.OFFICER))
    page = browser.get(f"/cases/{case.id}/edit").get_data(as_text=True)
    assert 'name="status"' not in page

    response = fill_and_submit(browser, f"/cases/{case.id}/edit", {"status": "paid_by_account"})

    assert response.status_code == 302
    assert case_row(case.id)["status"] is S.IDENTITY_VERIFICATION

