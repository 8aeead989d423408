"""Every form POST carries the session's CSRF token; without it nothing is done and the user
reads why (CSRFProtect checks it before any view runs; the forms themselves do not repeat it)."""
from __future__ import annotations

import pytest

from cases.models import Case
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA
from tests.helpers import case_row, last_seq, new_case_form, page_token, pending_of, text_of, transition_form
from workflow.states import CaseState as S

REFUSED = "Biểu mẫu đã hết hạn hoặc thiếu mã bảo vệ"


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER)


@pytest.fixture
def supervisor(make_user):
    return make_user(Role.SUPERVISOR)


@pytest.mark.parametrize("token", [None, "khong-phai-ma-that"], ids=["missing", "forged"])
def test_a_transition_without_the_token_changes_nothing(token, officer, make_case, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION)
    browser = make_client(officer)
    before, seq = case_row(case.id), last_seq()
    data = transition_form(case, "verify_identity") | {"version": str(case.version)}
    if token is not None:
        data["csrf_token"] = token
    response = browser.post(f"/cases/{case.id}/actions/verify_identity", data=data)
    assert response.status_code == 400
    assert REFUSED in text_of(response)
    assert case_row(case.id) == before
    assert last_seq() == seq


def test_a_new_case_or_a_decision_without_the_token_is_refused(officer, supervisor, make_case, make_client):
    browser = make_client(officer)
    commune_id = commune_by_code(db.session, BINH_GIA).id
    count = db.session.query(Case).count()
    refused = browser.post("/cases/new", data=new_case_form(commune_id))
    assert refused.status_code == 400 and REFUSED in text_of(refused)
    db.session.rollback()
    assert db.session.query(Case).count() == count

    case = make_case(state=S.PAYMENT_METHOD)
    proposed = browser.post(f"/cases/{case.id}/actions/suspend", data=transition_form(case, "suspend") | {
        "version": str(case.version), "csrf_token": page_token(browser)})
    assert proposed.status_code == 302
    proposal = pending_of(case.id)
    decided = make_client(supervisor).post(f"/proposals/{proposal.id}/approve", data={"reason": "Đồng ý"})
    assert decided.status_code == 400 and REFUSED in text_of(decided)
    assert pending_of(case.id) is not None


def test_the_forms_carry_the_token(officer, make_case, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION)
    browser = make_client(officer)
    for url in ("/cases/new", f"/cases/{case.id}/edit", f"/cases/{case.id}/actions/verify_identity", "/login"):
        page = browser.get(url).get_data(as_text=True) if url != "/login" else make_client().get(url).get_data(as_text=True)
        assert 'name="csrf_token"' in page, url
