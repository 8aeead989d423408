"""Finding 10: ID and account numbers are masked on every page, for every role, and shown in full
only by an explicit POST of one who needs it, which the trail records (who, which number, which
case, never the number)."""
from __future__ import annotations

import json
import re

import pytest

from cases.changes import utcnow
from cases.masking import mask_detail, mask_number
from cases.models import Proposal, ProposalStatus
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import LANG_SON, TAN_VAN, csrf_token, submit
from tests.helpers import audit_records, last_seq, text_of, transition_form
from workflow.states import CaseState as S

NATIONAL_ID = "020050123456"       # the beneficiary: a man born 1950 in Lạng Sơn
GUARDIAN_ID = "020185654321"
HOLDER_ID = "020190778899"         # the guardian's account holder (a proxy)
ACCOUNT = "3100205987654"
NUMBERS = {"national_id": NATIONAL_ID, "guardian_national_id": GUARDIAN_ID,
           "account_holder_national_id": HOLDER_ID, "account_number": ACCOUNT}
REVEAL_FORM = re.compile(r'<form method="post" action="([^"]+)" class="inline reveal">.*?name="field" value="([a-z_]+)"')

ROLES = {
    "officer": dict(role=Role.OFFICER),
    "commune supervisor": dict(role=Role.SUPERVISOR),
    "province supervisor": dict(role=Role.SUPERVISOR, province=LANG_SON),
    "auditor": dict(role=Role.AUDITOR, province=LANG_SON),
    "admin": dict(role=Role.ADMIN, province=LANG_SON),
}


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER)


@pytest.fixture
def case(make_case, make_client, officer):
    """A case with all four numbers, its account chosen through the form (so the history holds
    them in `fields`, `data` and `changes`), and a pending proposal whose data carries two."""
    case = make_case(state=S.PAYMENT_METHOD, national_id=NATIONAL_ID, guardian_name="Hoàng Thị Giám",
                     guardian_relation="con", guardian_national_id=GUARDIAN_ID)
    response = submit(make_client(officer), f"/cases/{case.id}/actions/choose_account", transition_form(
        case, "choose_account", holder="proxy", holder_name="Lý Văn Nhận", holder_national_id=HOLDER_ID,
        account_number=ACCOUNT))
    assert response.status_code == 302, text_of(response)
    # No approval in today's table carries a number; one that did must still show it masked.
    with write_intent():
        db.session.add(Proposal(
            case_id=case.id, commune_id=case.commune_id, trigger="switch_to_cash",
            payload={"reason": "Đổi sang tiền mặt", "account_number": ACCOUNT, "holder_national_id": HOLDER_ID},
            reason="Đối tượng đề nghị", case_version=case.version, status=ProposalStatus.PENDING,
            proposed_by_id=officer.id, proposed_at=utcnow()))
        db.session.commit()
    return case


def assert_masked(page: str) -> None:
    for name, number in NUMBERS.items():
        assert number not in page, name


def reveal_token(browser, case_id: int) -> str:
    return csrf_token(browser.get(f"/cases/{case_id}").get_data(as_text=True))


@pytest.mark.parametrize("who", ROLES)
def test_no_page_shows_a_full_number(case, make_user, make_client, who):
    browser = make_client(make_user(**ROLES[who]))
    page = text_of(browser.get(f"/cases/{case.id}"))
    assert "Lý Văn Nhận" in page and "Đối tượng đề nghị" in page      # the page, its proposal box
    assert "Đăng ký nhận qua tài khoản" in page                        # and its history
    assert_masked(page)
    for number in NUMBERS.values():
        assert mask_number(number) in page
    proposals = text_of(browser.get("/proposals"))
    assert "Đổi sang tiền mặt" in proposals                             # the payload is listed
    assert_masked(proposals)
    assert mask_number(ACCOUNT) in proposals
    assert_masked(text_of(browser.get(f"/cases?state={S.ACCOUNT_OPENING.value}")))


def test_history_masks_before_and_after_of_every_number(case, make_user, make_client):
    page = text_of(make_client(make_user(Role.AUDITOR, province=LANG_SON)).get(f"/cases/{case.id}"))
    assert f"Số tài khoản: — → {mask_number(ACCOUNT)}" in page
    assert f"Số CCCD chủ tài khoản: — → {mask_number(HOLDER_ID)}" in page


def test_mask_detail_reaches_every_key_at_any_depth():
    detail = {"changes": {"account_number": [None, ACCOUNT], "phone": ["0912345678", "0987654321"]},
              "data": {"holder_national_id": HOLDER_ID, "holder_name": "Lý Văn Nhận"},
              "fields": {"national_id": NATIONAL_ID, "guardian_national_id": None}, "trigger": "choose_account"}
    masked = mask_detail(detail)
    assert not any(number in json.dumps(masked) for number in NUMBERS.values())
    assert masked["changes"]["phone"] == ["0912345678", "0987654321"]
    assert masked["data"]["holder_name"] == "Lý Văn Nhận" and masked["fields"]["guardian_national_id"] is None
    assert mask_number("12345") == "••••••••"  # too short to keep four digits of


@pytest.mark.parametrize("field", NUMBERS)
def test_reveal_shows_that_one_number_and_records_who_saw_it(case, officer, make_client, field):
    browser = make_client(officer)
    page = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    forms = REVEAL_FORM.findall(page)
    assert {f for _, f in forms} == set(NUMBERS)
    assert {action for action, _ in forms} == {f"/cases/{case.id}/reveal"}  # no number in any URL
    since = last_seq()

    response = browser.post(f"/cases/{case.id}/reveal", data={"field": field, "csrf_token": csrf_token(page)})

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    shown = text_of(response)
    assert NUMBERS[field] in shown
    others = {name: n for name, n in NUMBERS.items() if n != NUMBERS[field]}
    assert not any(n in shown for n in others.values())
    [record] = audit_records(since)
    assert (record.action, record.case_id, record.actor_id, record.actor_username) == \
        ("case.reveal", case.id, officer.id, officer.username)
    assert json.loads(record.detail) == {"field": field}
    assert not any(NUMBERS[field] in str(value or "") for value in (record.detail, record.reason, record.actor_unit))


@pytest.mark.parametrize("who", ["commune supervisor", "province supervisor", "auditor"])
def test_supervisors_and_auditors_reveal_too(case, make_user, make_client, who):
    user = make_user(**ROLES[who])
    browser = make_client(user)
    since = last_seq()
    response = browser.post(f"/cases/{case.id}/reveal",
                            data={"field": "national_id", "csrf_token": reveal_token(browser, case.id)})
    assert response.status_code == 200 and NATIONAL_ID in text_of(response)
    assert [(r.action, r.actor_username) for r in audit_records(since)] == [("case.reveal", user.username)]


def test_admin_does_not_reveal(case, make_user, make_client):
    browser = make_client(make_user(Role.ADMIN, province=LANG_SON))
    page = browser.get(f"/cases/{case.id}").get_data(as_text=True)
    assert not REVEAL_FORM.search(page)
    since = last_seq()
    response = browser.post(f"/cases/{case.id}/reveal", data={"field": "national_id", "csrf_token": csrf_token(page)})
    assert response.status_code == 403 and NATIONAL_ID not in text_of(response)
    assert [r.action for r in audit_records(since)] == ["access.denied"]


def test_reveal_by_get_is_not_allowed(case, officer, make_client):
    browser = make_client(officer)
    since = last_seq()
    response = browser.get(f"/cases/{case.id}/reveal", query_string={"field": "national_id"})
    assert response.status_code == 405 and NATIONAL_ID not in text_of(response)
    assert audit_records(since) == []


def test_reveal_outside_scope_is_404_and_reveals_nothing(case, make_user, make_client):
    outsider = make_user(Role.OFFICER, communes=(TAN_VAN,))
    browser = make_client(outsider)
    since = last_seq()
    response = browser.post(f"/cases/{case.id}/reveal", data={"field": "national_id", "csrf_token": csrf_token(
        browser.get("/cases").get_data(as_text=True))})
    assert response.status_code == 404
    assert_masked(text_of(response))
    records = audit_records(since)
    assert [(r.action, r.case_id, r.actor_username) for r in records] == [("access.denied", case.id, outsider.username)]


@pytest.mark.parametrize("data", [{"field": "phone"}, {"field": ""}, {}])
def test_reveal_of_no_such_number_is_404(case, officer, make_client, data):
    browser = make_client(officer)
    token = reveal_token(browser, case.id)
    since = last_seq()
    response = browser.post(f"/cases/{case.id}/reveal", data={**data, "csrf_token": token})
    assert response.status_code == 404
    assert audit_records(since) == []


def test_reveal_without_csrf_token_is_refused(case, officer, make_client):
    browser = make_client(officer)
    since = last_seq()
    response = browser.post(f"/cases/{case.id}/reveal", data={"field": "national_id"})
    assert response.status_code == 400 and NATIONAL_ID not in text_of(response)
    assert audit_records(since) == []


@pytest.mark.parametrize("url, purpose, fields", [
    ("/cases/{id}/edit", "edit", ["guardian_national_id", "national_id"]),
])
def test_a_form_prefilled_with_full_numbers_is_audited_as_a_reveal(url, purpose, fields, case, officer, make_client):
    browser = make_client(officer)
    seq = last_seq()
    page = browser.get(url.format(id=case.id))
    assert page.status_code == 200 and NATIONAL_ID in page.get_data(as_text=True)
    reveals = [r for r in audit_records(seq) if r.action == "case.reveal"]
    assert len(reveals) == 1 and reveals[0].case_id == case.id and reveals[0].actor_username == officer.username
    assert json.loads(reveals[0].detail) == {"fields": fields, "form": purpose}
    assert NATIONAL_ID not in reveals[0].detail


def test_the_identity_form_showing_the_registered_number_is_audited(make_case, officer, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION, national_id=NATIONAL_ID)
    browser = make_client(officer)
    seq = last_seq()
    page = browser.get(f"/cases/{case.id}/actions/verify_identity")
    assert NATIONAL_ID in page.get_data(as_text=True)
    reveals = [r for r in audit_records(seq) if r.action == "case.reveal"]
    assert [json.loads(r.detail) for r in reveals] == [{"fields": ["national_id"], "form": "verify_identity"}]
