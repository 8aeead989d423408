"""Bulk actions from a queue page: each ticked case through the engine with its own audit record,
a refusal of one case leaving the others done, and a summary of both."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from cases.models import AuditRecord, Case, Proposal, ProposalStatus, Sex
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA, TAN_VAN, national_id_for
from tests.helpers import text_of
from tests.helpers_queues import forget_counts, row_ids, token_of
from workflow.states import CaseState as S


@pytest.fixture(autouse=True)
def _fresh_counts():
    forget_counts()


@pytest.fixture
def officer_user(make_user):
    return make_user(Role.OFFICER, communes=(BINH_GIA,), full_name="Nông Văn Xã")


@pytest.fixture
def officer(officer_user, make_client):
    return make_client(officer_user)


def post_bulk(browser, ids, **fields):
    token = token_of(browser.get("/cases").get_data(as_text=True))
    return browser.post("/cases/bulk", data={"csrf_token": token, "case": [str(i) for i in ids], **fields})


def status_of(case_id: int) -> S:
    db.session.expire_all()
    return db.session.scalar(select(Case.status).where(Case.id == case_id))


def test_identity_verified_in_bulk_uses_each_registered_number_and_refuses_a_case_without_one(make_case, officer):
    first = make_case(national_id=national_id_for(date(1950, 3, 2), Sex.MALE))
    second = make_case(national_id=national_id_for(date(1950, 3, 2), Sex.MALE))
    without = make_case(full_name="Lò Thị Không Số")

    answer = post_bulk(officer, [first.id, without.id, second.id], action="verify", source="police_list",
                       verified_on=date.today().isoformat())

    page = text_of(answer)
    assert answer.status_code == 200
    assert "2 hồ sơ đã xử lý, 1 hồ sơ không xử lý được." in page
    assert "Hồ sơ chưa có số CCCD" in page and "Lò Thị Không Số" in page
    assert [status_of(c.id) for c in (first, second, without)] == [S.PAYMENT_METHOD, S.PAYMENT_METHOD,
                                                                   S.IDENTITY_VERIFICATION]
    transitions = db.session.scalars(select(AuditRecord.case_id).where(AuditRecord.action == "case.transition",
                                                                       AuditRecord.case_id.in_([first.id, second.id, without.id])))
    assert sorted(transitions) == sorted([first.id, second.id])


def test_a_verification_date_in_the_future_is_refused_before_any_case(make_case, officer):
    case = make_case(national_id=national_id_for(date(1950, 3, 2), Sex.MALE))
    answer = post_bulk(officer, [case.id], action="verify", source="police_list", verified_on="2999-01-01")
    assert answer.status_code == 302
    assert "Ngày xác thực không được sau ngày hôm nay." in text_of(officer.get(answer.headers["Location"]))
    assert status_of(case.id) is S.IDENTITY_VERIFICATION


def test_assignment_goes_to_an_officer_of_the_commune_with_an_audit_record(make_case, make_user, officer,
                                                                            officer_user, make_client):
    mine, theirs = make_case(), make_case(commune=TAN_VAN)
    supervisor = make_client(make_user(Role.SUPERVISOR, province="20"))

    page = text_of(post_bulk(supervisor, [mine.id, theirs.id], action="assign", officer=str(officer_user.id)))

    assert "Đã giao cho Nông Văn Xã." in page and "Cán bộ được chọn không phụ trách xã của hồ sơ này." in page
    assert db.session.scalar(select(Case.assigned_to_id).where(Case.id == mine.id)) == officer_user.id
    assert db.session.scalar(select(Case.assigned_to_id).where(Case.id == theirs.id)) is None
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "case.assign", AuditRecord.case_id == mine.id)) == 1
    assert row_ids(text_of(officer.get("/cases?mine=1"))) == [mine.id]


def test_suspension_proposed_in_bulk_once_for_all(make_case, officer):
    paid = [make_case(state=S.PAID_BY_ACCOUNT) for _ in range(2)]
    waiting = make_case(state=S.SUSPENDED)   # already suspended: refused

    page = text_of(post_bulk(officer, [c.id for c in paid] + [waiting.id], action="suspend",
                             reason_code="TT02.D2.K3.a", effective_month=date.today().strftime("%Y-%m"),
                             decision_number="15/QĐ-UBND", note="Chuyển đi nơi khác"))

    assert "2 hồ sơ đã xử lý, 1 hồ sơ không xử lý được." in page
    proposals = db.session.scalars(select(Proposal).where(Proposal.status == ProposalStatus.PENDING)).all()
    assert sorted(p.case_id for p in proposals) == sorted(c.id for c in paid)
    assert all(p.payload["reason_code"] == "TT02.D2.K3.a" for p in proposals)
    assert "Không thể «Tạm dừng trợ cấp»" in page and status_of(waiting.id) is S.SUSPENDED


def test_a_case_out_of_scope_is_refused_as_not_found(make_case, officer):
    other = make_case(commune=TAN_VAN, national_id=national_id_for(date(1950, 3, 2), Sex.MALE))
    page = text_of(post_bulk(officer, [other.id], action="verify", source="police_list",
                             verified_on=date.today().isoformat()))
    assert "Không tìm thấy hồ sơ trong phạm vi của bạn." in page and status_of(other.id) is S.IDENTITY_VERIFICATION


@pytest.mark.parametrize("ids, fields, message", [
    ([], {"action": "verify"}, "Chưa chọn hồ sơ nào."),
    (list(range(1, 202)), {"action": "verify"}, "Mỗi lần chỉ xử lý được tối đa 200 hồ sơ; đã chọn 201."),
    ([1], {"action": "fly"}, "Hãy chọn một thao tác."),
    ([1], {"action": "suspend", "effective_month": "13/2026"}, "Tháng có hiệu lực không hợp lệ"),
])
def test_bad_bulk_requests_say_why_and_change_nothing(ids, fields, message, make_case, officer):
    answer = post_bulk(officer, ids, **fields)
    assert answer.status_code == 302
    assert message in text_of(officer.get(answer.headers["Location"]))


def test_an_auditor_may_not_act_in_bulk(make_case, make_user, make_client):
    case = make_case()
    auditor = make_client(make_user(Role.AUDITOR, province="20"))
    assert 'name="case"' not in text_of(auditor.get("/cases"))
    assert post_bulk(auditor, [case.id], action="assign", officer="").status_code == 403
