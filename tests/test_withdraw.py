"""Withdraw: the proposer, and only they, takes back a proposal while it waits for a decision; the
case does not move, the withdrawal is audited, and a new proposal can then be made. A withdrawal
racing a decision: exactly one of them wins."""
from __future__ import annotations

import threading
from html import unescape
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from flask import render_template
from sqlalchemy.orm.exc import StaleDataError

from cases.actions import approve, may_withdraw, start_transition, withdraw
from cases.audit import verify_chain
from cases.errors import DomainError, NotPermitted
from cases.models import Proposal, ProposalStatus, User
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import LANG_SON, OTHER_COMMUNE, csrf_token
from tests.helpers import audit_records, case_row, last_seq, pending_of, proposals_of, text_of
from tests.paths import payload_for
from workflow.states import CaseState as S

WITHDRAWN = "Đã rút đề xuất «Tạm dừng trợ cấp». Có thể lập đề xuất mới cho hồ sơ này."


@pytest.fixture
def people(make_user):
    return {
        "officer": make_user(Role.OFFICER, full_name="Hoàng Thị Lan"),
        "colleague": make_user(Role.OFFICER, full_name="Lý Văn Bạn"),
        "supervisor": make_user(Role.SUPERVISOR, full_name="Vi Văn Đức"),
        "province": make_user(Role.SUPERVISOR, province=LANG_SON, full_name="Lương Văn Tỉnh"),
        "ha_noi": make_user(Role.OFFICER, communes=(OTHER_COMMUNE,), full_name="Đỗ Thị Hà"),
    }


def propose(case, by: User, trigger: str = "suspend", **payload) -> int:
    with write_intent():
        case = db.session.merge(case)
        proposal = start_transition(db.session, actor_of(by), by, case, trigger,
                                    payload_for(db.session, case, trigger) | payload, case.version,
                                    reason="Đi khỏi địa phương")
        proposal_id = proposal.id     # read before the commit: reading it after would begin a transaction
        db.session.commit()
    return proposal_id


def post_withdraw(browser, proposal_id: int):
    token = csrf_token(browser.get("/proposals").get_data(as_text=True))
    return browser.post(f"/proposals/{proposal_id}/withdraw", data={"csrf_token": token})


def test_the_proposer_withdraws(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    officer = make_client(people["officer"])
    before, seq = case_row(case.id), last_seq()

    response = post_withdraw(officer, proposal_id)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    withdrawn = proposals_of(case.id)[0]
    assert withdrawn.status is ProposalStatus.WITHDRAWN
    assert (withdrawn.decided_by_id, withdrawn.decision_reason) == (people["officer"].id, None)
    assert withdrawn.decided_at is not None
    assert case_row(case.id) == before                     # no transition, no new version
    [record] = audit_records(seq)
    assert (record.action, record.proposal_id, record.case_id, record.actor_id) == (
        "proposal.withdraw", proposal_id, case.id, people["officer"].id)
    assert verify_chain(db.session).ok
    # nothing waits any more, and a new proposal can be made (uq_proposals_open_case)
    assert pending_of(case.id) is None
    assert proposal_id not in [int(x) for x in
                               text_of(make_client(people["supervisor"]).get("/proposals")).split('data-proposal="')[1:]
                               if x[:1].isdigit()]
    again = propose(case, people["officer"])
    assert pending_of(case.id).id == again


def test_the_flash_on_the_case_page(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    officer = make_client(people["officer"])
    response = post_withdraw(officer, proposal_id)
    page = text_of(officer.get(response.headers["Location"]))
    assert WITHDRAWN in page
    assert f'/proposals/{proposal_id}/withdraw' not in page


@pytest.mark.parametrize("who", ["colleague", "supervisor", "province"])
def test_only_the_proposer_may_withdraw(who, people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    browser = make_client(people[who])
    before, seq = case_row(case.id), last_seq()

    response = post_withdraw(browser, proposal_id)

    assert response.status_code == 403
    assert "Chỉ người lập đề xuất mới được rút đề xuất." in text_of(response)
    assert pending_of(case.id).id == proposal_id and case_row(case.id) == before
    assert [r.action for r in audit_records(seq)] == ["access.denied"]


def test_out_of_scope_is_404(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    assert post_withdraw(make_client(people["ha_noi"]), proposal_id).status_code == 404
    assert post_withdraw(make_client(people["officer"]), 987654321).status_code == 404
    assert pending_of(case.id).id == proposal_id


def test_a_decided_proposal_cannot_be_withdrawn(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    supervisor = people["supervisor"]
    with write_intent():
        approve(db.session, actor_of(supervisor), supervisor, db.session.get(Proposal, proposal_id), "Đồng ý")
        db.session.commit()
    officer = make_client(people["officer"])
    after, seq = case_row(case.id), last_seq()

    response = post_withdraw(officer, proposal_id)

    assert response.status_code == 302
    assert "Đề xuất này đã được xử lý nên không thể rút." in text_of(officer.get(response.headers["Location"]))
    assert proposals_of(case.id)[0].status is ProposalStatus.APPROVED
    assert case_row(case.id) == after and last_seq() == seq


def test_a_scheduled_decision_cannot_be_withdrawn(people, make_case):
    case = make_case(state=S.PAYMENT_METHOD)
    later = (date.today().replace(day=1) + timedelta(days=62)).replace(day=1)
    proposal_id = propose(case, people["officer"], effective_month=later.isoformat())
    supervisor, officer = people["supervisor"], people["officer"]
    with write_intent():
        approve(db.session, actor_of(supervisor), supervisor, db.session.get(Proposal, proposal_id), "Đồng ý")
        db.session.commit()
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal.status is ProposalStatus.SCHEDULED and not may_withdraw(officer, proposal)
        with pytest.raises(DomainError, match="đã được xử lý"):
            withdraw(db.session, actor_of(officer), officer, proposal)
        db.session.rollback()


def test_may_withdraw(people, make_case):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal = db.session.get(Proposal, propose(case, people["officer"]))
    assert may_withdraw(people["officer"], proposal)
    assert not may_withdraw(people["colleague"], proposal)
    assert not may_withdraw(people["supervisor"], proposal)
    assert not may_withdraw(people["officer"], None)


def test_a_decision_that_came_first_wins(people, make_case):
    """The withdrawal read the proposal as pending, but a supervisor approved it meanwhile: the
    guarded UPDATE finds nothing to claim, and the withdrawal is refused."""
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    officer, supervisor = people["officer"], people["supervisor"]
    with write_intent():
        seen = db.session.get(Proposal, proposal_id)
        assert seen.status is ProposalStatus.PENDING
        db.session.execute(Proposal.__table__.update().where(Proposal.id == proposal_id)
                           .values(status=ProposalStatus.APPROVED, decided_by_id=supervisor.id))
        with pytest.raises(DomainError, match="vừa được người khác xử lý"):
            withdraw(db.session, actor_of(officer), officer, seen)
        db.session.rollback()
    assert proposals_of(case.id)[0].status is ProposalStatus.PENDING


def test_a_withdrawn_proposal_cannot_be_approved(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    post_withdraw(make_client(people["officer"]), proposal_id)
    before = case_row(case.id)
    supervisor = make_client(people["supervisor"])
    response = supervisor.post(f"/proposals/{proposal_id}/approve", data={
        "csrf_token": csrf_token(supervisor.get("/proposals").get_data(as_text=True)), "reason": "Đồng ý"})
    assert "Đề xuất này đã được xử lý." in text_of(supervisor.get(response.headers["Location"]))
    assert case_row(case.id) == before
    assert proposals_of(case.id)[0].status is ProposalStatus.WITHDRAWN


# --- The proposal box -------------------------------------------------------------------------

def render_box(proposal_id: int, *, decide: bool, withdraw: bool | None) -> str:
    from flask import current_app
    proposal = db.session.get(Proposal, proposal_id)
    values = {"p": proposal, "decide": decide}
    if withdraw is not None:
        values["withdraw"] = withdraw
    with current_app.test_request_context("/"):
        return render_template("cases/_proposal.html", **values)


def test_the_box_speaks_plainly(people, make_case):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    html = render_box(proposal_id, decide=True, withdraw=True)
    text = unescape(html)
    assert "Đề xuất «Tạm dừng trợ cấp»</strong> do Hoàng Thị Lan (Cán bộ xã) lập lúc" in text
    assert "Lý do đề xuất: Đi khỏi địa phương" in text
    assert "Căn cứ pháp lý" in text and "TT02.D2.K3.a" in text
    assert f"Áp dụng từ tháng</dt><dd class=\"effective-month\">{date.today().strftime('%m/%Y')}" in text
    assert "Số quyết định" in text and "5/QĐ" in text
    for raw in ("reason_code", "effective_month", "decision_number", date.today().replace(day=1).isoformat()):
        assert raw not in text, raw
    assert "Phê duyệt</button>" in text and "Rút đề xuất</button>" in text
    assert html.count('name="csrf_token"') == 2            # one per form
    quiet = render_box(proposal_id, decide=False, withdraw=False)
    assert "Phê duyệt</button>" not in quiet and "Rút đề xuất" not in quiet


def test_the_case_page_offers_withdraw_to_the_proposer_only(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    button = f'action="/proposals/{proposal_id}/withdraw"'
    assert button in make_client(people["officer"]).get(f"/cases/{case.id}").get_data(as_text=True)
    for who in ("colleague", "supervisor"):
        assert button not in make_client(people[who]).get(f"/cases/{case.id}").get_data(as_text=True)


# --- PostgreSQL: a withdrawal and approvals at the same moment ---------------------------------

@pytest.mark.postgresql
def test_a_withdrawal_racing_approvals_one_wins(app, people, make_user, make_case):
    case = make_case(state=S.PAYMENT_METHOD)
    proposal_id = propose(case, people["officer"])
    deciders = [make_user(Role.SUPERVISOR).id for _ in range(5)]
    actors = [("withdraw", people["officer"].id)] + [("approve", d) for d in deciders]
    barrier, seq, before = threading.Barrier(len(actors)), last_seq(), case_row(case.id)

    def act(task) -> str:
        kind, user_id = task
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                actor, mine = actor_of(user), db.session.get(Proposal, proposal_id)
                db.session.commit()
                barrier.wait(timeout=60)
                with write_intent():
                    if kind == "withdraw":
                        withdraw(db.session, actor, user, mine)
                    else:
                        approve(db.session, actor, user, mine, "Đồng ý")
                    db.session.commit()
                return kind
            except (DomainError, NotPermitted, StaleDataError):
                db.session.rollback()
                return "refused"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(actors)) as pool:
        outcomes = list(pool.map(act, actors))

    assert outcomes.count("refused") == len(actors) - 1
    winner = next(o for o in outcomes if o != "refused")
    decided = proposals_of(case.id)[0]
    records = audit_records(seq)
    if winner == "withdraw":
        assert decided.status is ProposalStatus.WITHDRAWN and case_row(case.id) == before
        assert [r.action for r in records] == ["proposal.withdraw"]
    else:
        assert decided.status is ProposalStatus.APPROVED and case_row(case.id)["status"] == S.SUSPENDED
        assert [r.action for r in records] == ["proposal.approve"]
    assert verify_chain(db.session).ok
