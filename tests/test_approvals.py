"""Four eyes: a transition that needs approval waits as a proposal until a supervisor other than
the proposer, in scope, approves it; an approval re-checks the case; a rejection needs a reason."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from cases.actions import approve, reject, start_transition
from cases.audit import verify_chain
from cases.errors import DomainError
from cases.models import AuditRecord, Proposal, ProposalStatus, User
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, TAN_VAN, submit
from tests.helpers import (action_links, audit_count, audit_records, case_row, fill_and_submit, last_seq, page_token,
                           pending_of, proposals_of, text_of, transition_form)
from tests.paths import payload_for
from views.filters import vn_datetime
from workflow.states import CaseState as S

SUSPEND = "Tạm dừng trợ cấp"
PENDING_ELSEWHERE = "Hồ sơ đang có một đề xuất chờ phê duyệt; chưa thể lập đề xuất khác."
OWN_PROPOSAL = "Không được tự phê duyệt hoặc từ chối đề xuất do chính mình lập."
CASE_CHANGED = ("Hồ sơ đã thay đổi sau khi đề xuất được lập, nên không thể phê duyệt. "
                "Hãy từ chối đề xuất này; cán bộ lập đề xuất mới nếu vẫn cần.")


@pytest.fixture
def people(make_user):
    """The officer and two supervisors of Xã Bình Gia, Lạng Sơn's province supervisor, and two
    supervisors the case is out of scope for (Xã Tân Văn; Phường Ba Đình, Hà Nội)."""
    return {
        "officer": make_user(Role.OFFICER, full_name="Hoàng Thị Lan"),
        "supervisor": make_user(Role.SUPERVISOR, full_name="Vi Văn Đức"),
        "other_supervisor": make_user(Role.SUPERVISOR, full_name="Chu Thị Mến"),
        "province": make_user(Role.SUPERVISOR, province=LANG_SON, full_name="Lương Văn Tỉnh"),
        "tan_van": make_user(Role.SUPERVISOR, communes=(TAN_VAN,), full_name="Mã Văn Tân"),
        "ha_noi": make_user(Role.SUPERVISOR, communes=(OTHER_COMMUNE,), full_name="Đỗ Thị Hà"),
    }


def propose_suspension(browser, case):
    return submit(browser, f"/cases/{case.id}/actions/suspend", transition_form(case, "suspend", note="Đi khỏi địa phương"))


def decide(browser, proposal_id: int, decision: str, reason: str):
    return browser.post(f"/proposals/{proposal_id}/{decision}", data={"csrf_token": page_token(browser), "reason": reason})


def test_a_proposal_keeps_the_case_where_it_is(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    before = case_row(case.id)
    officer = make_client(people["officer"])

    response = propose_suspension(officer, case)

    assert response.status_code == 302
    page = text_of(officer.get(response.headers["Location"]))
    assert f"Đã gửi đề xuất «{SUSPEND}» chờ lãnh đạo phê duyệt." in page
    assert "Đang chờ phê duyệt" in page
    assert f"Đề xuất «{SUSPEND}»</strong> do Hoàng Thị Lan (Cán bộ xã) lập lúc" in page
    assert 'data-state="payment_method">Chờ đăng ký phương thức chi trả<' in page
    assert case_row(case.id) == before
    proposal = pending_of(case.id)
    assert (proposal.trigger, proposal.proposed_by_id, proposal.case_version, proposal.reason) == (
        "suspend", people["officer"].id, before["version"], "Đi khỏi địa phương")
    listed = text_of(make_client(people["supervisor"]).get("/proposals"))
    assert f"{case.id} — {case.full_name}" in listed and SUSPEND in listed


def test_a_second_proposal_is_refused(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    officer = make_client(people["officer"])
    propose_suspension(officer, case)
    records = audit_count()

    page = text_of(officer.get(f"/cases/{case.id}"))
    assert action_links(page, case.id) == {"choose_account"}     # no approval action is offered now
    response = submit(officer, f"/cases/{case.id}/actions/terminate", transition_form(case, "terminate"))

    assert response.status_code == 422
    assert PENDING_ELSEWHERE in text_of(response)
    assert [p.trigger for p in proposals_of(case.id)] == ["suspend"]
    assert audit_count() == records


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_supervisor_cannot_decide_their_own_proposal(decision, people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    proposer = make_client(people["supervisor"])
    propose_suspension(proposer, case)
    before, proposal = case_row(case.id), pending_of(case.id)

    page = text_of(proposer.get(f"/cases/{case.id}"))
    assert "Đang chờ phê duyệt" in page and "Phê duyệt</button>" not in page
    response = decide(proposer, proposal.id, decision, "Tôi tự duyệt")

    assert response.status_code == 403
    assert OWN_PROPOSAL in text_of(response)
    assert case_row(case.id) == before
    assert pending_of(case.id).id == proposal.id
    denied = audit_records(last_seq() - 1)[0]
    assert (denied.action, denied.actor_username, denied.outcome) == ("access.denied", people["supervisor"].username, "denied")


def test_an_officer_cannot_decide(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    propose_suspension(make_client(people["supervisor"]), case)
    proposal = pending_of(case.id)

    response = decide(make_client(people["officer"]), proposal.id, "approve", "Đồng ý")

    assert response.status_code == 403
    assert "Chỉ lãnh đạo phê duyệt mới được duyệt hoặc từ chối đề xuất." in text_of(response)
    assert pending_of(case.id).id == proposal.id


@pytest.mark.parametrize("approver", ["supervisor", "province"])
def test_another_supervisor_in_scope_approves(approver, people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    propose_suspension(make_client(people["officer"]), case)
    before, proposal = case_row(case.id), pending_of(case.id)
    browser = make_client(people[approver])
    assert "Phê duyệt</button>" in text_of(browser.get(f"/cases/{case.id}"))

    response = decide(browser, proposal.id, "approve", "Đúng quy định")

    assert response.status_code == 302
    page = text_of(browser.get(response.headers["Location"]))
    assert f"Đã phê duyệt «{SUSPEND}»." in page
    after = case_row(case.id)
    assert (after["status"], after["suspended_from"], after["version"]) == (
        S.SUSPENDED, S.PAYMENT_METHOD, before["version"] + 1)
    assert after["status_decision_number"] == "5/QĐ"
    decided = proposals_of(case.id)[0]
    assert (decided.status, decided.decided_by_id, decided.decision_reason) == (
        ProposalStatus.APPROVED, people[approver].id, "Đúng quy định")
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "proposal.approve"))
    assert (record.case_id, record.proposal_id, record.actor_username) == (case.id, proposal.id, people[approver].username)
    # the history on the case page: what, who, when, why
    assert f"Phê duyệt: {SUSPEND}" in page
    assert f"{people[approver].full_name} (Lãnh đạo phê duyệt)" in page
    assert vn_datetime(record.occurred_at) in page
    assert "Chờ đăng ký phương thức chi trả → Tạm dừng" in page
    assert "Lý do: Đúng quy định" in page
    assert "Đang chờ phê duyệt" not in page


@pytest.mark.parametrize("outsider", ["tan_van", "ha_noi"])
def test_a_supervisor_out_of_scope_gets_404(outsider, people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD, full_name="Hoàng Văn Ngoài")
    propose_suspension(make_client(people["officer"]), case)
    before, proposal = case_row(case.id), pending_of(case.id)
    browser = make_client(people[outsider])

    for decision in ("approve", "reject"):
        response = decide(browser, proposal.id, decision, "Đồng ý")
        assert response.status_code == 404
        assert "Không tìm thấy trang hoặc hồ sơ bạn yêu cầu." in text_of(response)
    assert browser.get(f"/cases/{case.id}").status_code == 404
    assert "Hoàng Văn Ngoài" not in text_of(browser.get("/proposals"))
    assert case_row(case.id) == before
    assert pending_of(case.id).id == proposal.id


def test_approval_after_the_case_changed_is_refused(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD, phone="0912345678")
    officer = make_client(people["officer"])
    propose_suspension(officer, case)
    proposal = pending_of(case.id)
    assert fill_and_submit(officer, f"/cases/{case.id}/edit", {"phone": "0987654321"}).status_code == 302
    supervisor = make_client(people["supervisor"])
    edited, records = case_row(case.id), audit_count()

    response = decide(supervisor, proposal.id, "approve", "Đồng ý")

    assert response.status_code == 302
    assert CASE_CHANGED in text_of(supervisor.get(response.headers["Location"]))
    assert case_row(case.id) == edited
    assert pending_of(case.id).id == proposal.id
    assert audit_count() == records
    # the way out the message gives: reject, and the officer proposes afresh
    assert decide(supervisor, proposal.id, "reject", "Hồ sơ đã sửa, lập lại đề xuất").status_code == 302
    assert propose_suspension(officer, case).status_code == 302
    assert [p.status for p in proposals_of(case.id)] == [ProposalStatus.REJECTED, ProposalStatus.PENDING]


def test_reject_needs_a_reason_and_leaves_the_case(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    propose_suspension(make_client(people["officer"]), case)
    supervisor = make_client(people["supervisor"])
    before, proposal, records = case_row(case.id), pending_of(case.id), audit_count()

    response = decide(supervisor, proposal.id, "reject", "   ")
    assert "Cần ghi lý do / ý kiến khi phê duyệt hoặc từ chối." in text_of(supervisor.get(response.headers["Location"]))
    assert pending_of(case.id).id == proposal.id
    assert audit_count() == records

    response = decide(supervisor, proposal.id, "reject", "Chưa có quyết định tạm dừng")
    page = text_of(supervisor.get(response.headers["Location"]))
    assert f"Đã từ chối đề xuất «{SUSPEND}»." in page
    assert case_row(case.id) == before
    rejected = proposals_of(case.id)[0]
    assert (rejected.status, rejected.decided_by_id, rejected.decision_reason) == (
        ProposalStatus.REJECTED, people["supervisor"].id, "Chưa có quyết định tạm dừng")
    assert [(r.action, r.reason) for r in audit_records(last_seq() - 1)] == [
        ("proposal.reject", "Chưa có quyết định tạm dừng")]
    assert "suspend" in action_links(page, case.id)      # the case can be proposed again


def test_an_approval_needs_a_reason_too(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    propose_suspension(make_client(people["officer"]), case)
    supervisor = make_client(people["supervisor"])
    before, proposal, records = case_row(case.id), pending_of(case.id), audit_count()

    response = decide(supervisor, proposal.id, "approve", "")

    assert "Cần ghi lý do / ý kiến khi phê duyệt hoặc từ chối." in text_of(supervisor.get(response.headers["Location"]))
    assert case_row(case.id) == before
    assert pending_of(case.id).id == proposal.id
    assert audit_count() == records


def test_the_service_refuses_a_rejection_without_reason(people, make_case):
    case = make_case(state=S.PAYMENT_METHOD)
    officer, supervisor = people["officer"], people["supervisor"]
    with write_intent():
        proposal = start_transition(db.session, actor_of(officer), officer, case, "suspend",
                                    payload_for(db.session, case, "suspend"), case.version)
        db.session.commit()
        with pytest.raises(DomainError, match="Cần ghi lý do từ chối."):
            reject(db.session, actor_of(supervisor), supervisor, proposal, " ")
        db.session.rollback()
    assert pending_of(case.id).id == proposal.id


def test_a_decided_proposal_cannot_be_decided_again(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    propose_suspension(make_client(people["officer"]), case)
    proposal = pending_of(case.id)
    decide(make_client(people["supervisor"]), proposal.id, "approve", "Đồng ý")
    late = make_client(people["other_supervisor"])
    after, records = case_row(case.id), audit_count()

    response = decide(late, proposal.id, "reject", "Không đồng ý")

    assert "Đề xuất này đã được xử lý." in text_of(late.get(response.headers["Location"]))
    assert case_row(case.id) == after
    assert proposals_of(case.id)[0].status is ProposalStatus.APPROVED
    assert audit_count() == records


# --- PostgreSQL: twenty supervisors press "Phê duyệt" at the same moment ----------------------

@pytest.mark.postgresql
def test_twenty_concurrent_approvals_make_one_transition(app, make_user, make_case):
    officer = make_user(Role.OFFICER)
    case = make_case(state=S.PAYMENT_METHOD)
    with write_intent():
        proposal = start_transition(db.session, actor_of(officer), officer, case, "suspend",
                                    payload_for(db.session, case, "suspend"), case.version)
        db.session.commit()
    supervisors = [make_user(Role.SUPERVISOR, communes=(BINH_GIA,)).id for _ in range(10)]
    supervisors += [make_user(Role.SUPERVISOR, province=LANG_SON).id for _ in range(10)]
    before, proposal_id, seq = case_row(case.id), proposal.id, last_seq()
    barrier = threading.Barrier(len(supervisors))

    def approve_as(user_id: int) -> str:
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                actor, mine = actor_of(user), db.session.get(Proposal, proposal_id)
                db.session.commit()          # give the connection back: 20 threads share a pool of 15
                barrier.wait(timeout=60)
                approve(db.session, actor, user, mine, f"Đồng ý ({user.username})")
                db.session.commit()
                return "approved"
            except (DomainError, StaleDataError):
                db.session.rollback()
                return "refused"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(supervisors)) as pool:
        outcomes = list(pool.map(approve_as, supervisors))

    assert sorted(outcomes) == ["approved"] + ["refused"] * 19
    after = case_row(case.id)
    assert (after["status"], after["version"]) == (S.SUSPENDED, before["version"] + 1)
    decided = proposals_of(case.id)
    assert len(decided) == 1 and decided[0].status is ProposalStatus.APPROVED
    assert decided[0].decided_by_id in supervisors
    records = audit_records(seq)
    assert [r.action for r in records] == ["proposal.approve"]
    assert records[0].actor_id == decided[0].decided_by_id
    report = verify_chain(db.session)
    assert report.ok and report.checked == seq + 1
