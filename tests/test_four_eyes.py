"""Four eyes on money and identity (issue 14: finding 7, item 7): past registration, a change of
the monthly amount, the ID number or the account waits for a supervisor other than the proposer;
the other changes of the same edit are saved at once; an amount has a sane maximum."""
from __future__ import annotations

import json
from datetime import date

import pytest

from cases.actions import approve, start_transition
from cases.errors import DomainError, NotPermitted
from cases.models import PolicyGroup, ProposalStatus
from cases.registration import edit_case
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, national_id_for, submit
from tests.helpers import (audit_records, case_row, fill_and_submit, last_seq, new_case_form, page_token, pending_of,
                           proposals_of, text_of, transition_form)
from workflow import four_eyes
from workflow.states import CaseState as S

NCC = dict(policy_group=PolicyGroup.NCC, category_code="PL02.D3.c", monthly_amount=1_731_000)
AMOUNT_WAITS = ("Thay đổi mức trợ cấp hàng tháng cần lãnh đạo khác phê duyệt: đã gửi đề xuất, "
                "hồ sơ giữ nguyên các thông tin này cho đến khi được duyệt.")
TOO_MUCH = "Mức trợ cấp hàng tháng không được vượt quá 20.000.000 đ; hãy kiểm tra lại số đã nhập."
OWN_PROPOSAL = "Không được tự phê duyệt hoặc từ chối đề xuất do chính mình lập."
PENDING_ELSEWHERE = "Hồ sơ đang có một đề xuất chờ phê duyệt; chưa thể lập đề xuất khác."


@pytest.fixture
def office(make_user):
    return {"officer": make_user(Role.OFFICER, full_name="Hoàng Thị Lan"),
            "supervisor": make_user(Role.SUPERVISOR, full_name="Vi Văn Đức"),
            "other_supervisor": make_user(Role.SUPERVISOR, full_name="Chu Thị Mến")}


def edit(browser, case, typed: dict):
    return fill_and_submit(browser, f"/cases/{case.id}/edit", typed)


def decide(browser, proposal_id: int, decision: str = "approve", reason: str = "Đã đối chiếu quyết định"):
    return browser.post(f"/proposals/{proposal_id}/{decision}", data={"csrf_token": page_token(browser), "reason": reason})


# --- the monthly amount -----------------------------------------------------------------------

@pytest.mark.parametrize("state", [S.PAYMENT_METHOD, S.PAID_BY_ACCOUNT, S.PAID_IN_CASH, S.SUSPENDED],
                         ids=lambda s: s.value)
def test_an_officers_amount_change_waits_for_approval(state, office, make_case, make_client):
    case = make_case(state=state, **NCC)
    before = case_row(case.id)
    officer = make_client(office["officer"])

    response = edit(officer, case, {"monthly_amount": "2.055.000", "change_reason": "Quyết định điều chỉnh 15/QĐ"})

    assert response.status_code == 302
    page = text_of(officer.get(response.headers["Location"]))
    assert AMOUNT_WAITS in page and "Đang chờ phê duyệt" in page
    assert case_row(case.id) == before                        # nothing of the case changed yet
    [proposal] = proposals_of(case.id)
    assert (proposal.trigger, proposal.status, proposal.payload) == (
        "amend_protected_fields", ProposalStatus.PENDING, {"monthly_amount": 2_055_000})
    assert (proposal.proposed_by_id, proposal.reason, proposal.case_version) == (
        office["officer"].id, "Quyết định điều chỉnh 15/QĐ", before["version"])


def test_a_supervisor_approves_the_amount_and_the_history_shows_before_and_after(office, make_case, make_client):
    case = make_case(state=S.PAID_BY_ACCOUNT, **NCC)
    edit(make_client(office["officer"]), case, {"monthly_amount": "2055000"})
    proposal, seq = pending_of(case.id), last_seq()
    supervisor = make_client(office["supervisor"])

    response = decide(supervisor, proposal.id)

    assert response.status_code == 302
    page = text_of(supervisor.get(f"/cases/{case.id}"))
    assert "Đã phê duyệt «Sửa mức trợ cấp hoặc số CCCD»." in page
    assert "Mức trợ cấp hàng tháng: 1.731.000 đ → 2.055.000 đ" in page
    row = case_row(case.id)
    assert (row["monthly_amount"], row["status"]) == (2_055_000, S.PAID_BY_ACCOUNT)
    [record] = [r for r in audit_records(seq) if r.case_id == case.id]
    detail = json.loads(record.detail)
    assert (record.action, record.actor_username) == ("proposal.approve", office["supervisor"].username)
    assert detail["changes"] == {"monthly_amount": [1_731_000, 2_055_000]}
    assert detail["proposed_by"] == office["officer"].username
    assert pending_of(case.id) is None


def test_the_proposer_cannot_approve_their_own_amount_change(office, make_case, make_client):
    case = make_case(state=S.PAID_IN_CASH, **NCC)
    supervisor = make_client(office["supervisor"])
    edit(supervisor, case, {"monthly_amount": "2055000"})
    proposal = pending_of(case.id)
    assert proposal.proposed_by_id == office["supervisor"].id

    response = decide(supervisor, proposal.id)

    assert response.status_code == 403
    assert OWN_PROPOSAL in text_of(response)
    assert case_row(case.id)["monthly_amount"] == 1_731_000
    assert pending_of(case.id).id == proposal.id
    with write_intent(), pytest.raises(NotPermitted, match=OWN_PROPOSAL):
        approve(db.session, actor_of(office["supervisor"]), office["supervisor"], pending_of(case.id), "Đồng ý")
    db.session.rollback()
    decide(make_client(office["other_supervisor"]), proposal.id)
    assert case_row(case.id)["monthly_amount"] == 2_055_000


def test_the_unprotected_changes_of_the_same_edit_are_saved_at_once(office, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD, **NCC)
    officer = make_client(office["officer"])
    before, seq = case_row(case.id), last_seq()

    response = edit(officer, case, {"monthly_amount": "2055000", "phone": "0987654321", "notes": "Đã gọi điện"})

    page = text_of(officer.get(response.headers["Location"]))
    assert "Đã lưu các thay đổi khác. " + AMOUNT_WAITS in page
    row = case_row(case.id)
    assert (row["phone"], row["notes"], row["monthly_amount"]) == ("0987654321", "Đã gọi điện", 1_731_000)
    assert row["version"] == before["version"] + 1
    records = [r for r in audit_records(seq) if r.case_id == case.id and r.action != "case.reveal"]
    assert [r.action for r in records] == ["case.edit", "proposal.create"]
    edit_detail = json.loads(records[0].detail)
    assert set(edit_detail["changes"]) == {"phone", "notes"}
    proposal = pending_of(case.id)
    assert proposal.case_version == row["version"]          # the case as it stands after the save
    decide(make_client(office["supervisor"]), proposal.id)
    assert case_row(case.id)["monthly_amount"] == 2_055_000


def test_finding_7_an_amount_above_the_maximum_is_refused_beside_the_field(office, make_case, make_client):
    case = make_case(state=S.PAID_BY_ACCOUNT, **NCC)
    officer = make_client(office["officer"])
    before = case_row(case.id)

    response = edit(officer, case, {"monthly_amount": "99.999.999", "notes": "Sửa kèm"})

    assert response.status_code == 422
    page = text_of(response)
    assert f'<p class="error">{TOO_MUCH}</p>' in page
    assert case_row(case.id) == before                        # nothing saved, not even the note
    assert proposals_of(case.id) == []


def test_the_maximum_holds_at_registration_and_comes_from_the_rules_data(office, make_client):
    from cases import reference
    from cases.organisation import commune_by_code

    assert reference.monthly_amount_maximum() == 20_000_000
    officer = make_client(office["officer"])
    form = new_case_form(commune_by_code(db.session, BINH_GIA).id, policy_group="ncc", category_code="PL02.D3.c")
    assert submit(officer, "/cases/new", form | {"monthly_amount": "20.000.001"}).status_code == 422
    assert submit(officer, "/cases/new", form | {"monthly_amount": "20.000.000"}).status_code == 302


def test_a_btxh_category_change_that_changes_the_amount_travels_with_it(office, make_case, make_client):
    case = make_case(state=S.PAID_IN_CASH)                       # D5.K5a.1, coefficient 1.5
    before = case_row(case.id)

    edit(make_client(office["officer"]), case, {"category_code": "D5.K5b"})

    proposal = pending_of(case.id)
    assert set(proposal.payload) == {"category_code", "monthly_amount"}
    assert case_row(case.id) == before
    decide(make_client(office["supervisor"]), proposal.id)
    row = case_row(case.id)
    assert row["category_code"] == "D5.K5b" and row["monthly_amount"] == proposal.payload["monthly_amount"]
    assert row["monthly_amount"] != before["monthly_amount"]


def test_a_second_held_change_is_refused_while_one_waits(office, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD, **NCC)
    officer = make_client(office["officer"])
    edit(officer, case, {"monthly_amount": "2055000"})
    before = case_row(case.id)

    response = edit(officer, case, {"monthly_amount": "2100000", "phone": "0987654321"})

    assert response.status_code == 422
    assert PENDING_ELSEWHERE in text_of(response)
    assert case_row(case.id) == before
    assert len(proposals_of(case.id)) == 1


def test_the_held_change_is_no_button_of_its_own(office, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD, **NCC)
    officer = make_client(office["officer"])
    assert "amend_protected_fields" not in officer.get(f"/cases/{case.id}").get_data(as_text=True)
    assert officer.get(f"/cases/{case.id}/actions/amend_protected_fields").status_code == 404


# --- the ID number through the edit form ------------------------------------------------------

def test_a_case_still_in_registration_has_its_id_fixed_directly(office, make_case, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION, national_id="020050000123")

    response = edit(make_client(office["officer"]), case, {"national_id": "020050000124"})

    assert response.status_code == 302
    assert case_row(case.id)["national_id"] == "020050000124"
    assert proposals_of(case.id) == []


def test_an_id_change_past_registration_waits_and_the_approval_rechecks_it(office, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    registered, wanted = case.national_id, national_id_for(case.birth_date, case.sex)
    officer = make_client(office["officer"])

    edit(officer, case, {"national_id": wanted})

    assert case_row(case.id)["national_id"] == registered
    proposal = pending_of(case.id)
    assert proposal.payload == {"national_id": wanted}
    # Meanwhile someone registers another person with that number (still free: nobody has it yet).
    other = submit(officer, "/cases/new", new_case_form(case.commune_id, full_name="Lò Văn Khác", national_id=wanted))
    assert other.status_code == 302
    supervisor = make_client(office["supervisor"])

    decide(supervisor, proposal.id)

    page = text_of(supervisor.get(f"/cases/{case.id}"))
    other_id = int(other.headers["Location"].rsplit("/", 1)[1])
    assert f"Số CCCD {wanted} đã có trong hồ sơ số {other_id} (Xã Bình Gia) đang chờ xác thực danh tính." in page
    assert case_row(case.id)["national_id"] == registered
    assert pending_of(case.id).id == proposal.id


def test_a_sex_corrected_with_its_id_number_waits_with_it(office, make_case, make_client):
    """Digit 4 of the ID encodes the sex: saving one without the other would leave them disagreeing."""
    case = make_case(state=S.PAID_IN_CASH, national_id="020050000321")           # a man born 1950
    officer = make_client(office["officer"])

    edit(officer, case, {"sex": "female", "national_id": "020150000321", "phone": "0987654321"})

    row = case_row(case.id)
    assert (row["sex"].value, row["national_id"], row["phone"]) == ("male", "020050000321", "0987654321")
    proposal = pending_of(case.id)
    assert proposal.payload == {"sex": "female", "national_id": "020150000321"}
    decide(make_client(office["supervisor"]), proposal.id)
    row = case_row(case.id)
    assert (row["sex"].value, row["national_id"]) == ("female", "020150000321")


# --- the account ------------------------------------------------------------------------------

@pytest.mark.parametrize("state", [S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT], ids=lambda s: s.value)
def test_an_account_number_change_waits_for_a_supervisor(state, office, make_case, make_client):
    case = make_case(state=state)
    before = case_row(case.id)
    officer = make_client(office["officer"])

    response = submit(officer, f"/cases/{case.id}/actions/change_account",
                      transition_form(case, "change_account", account_number="5555666677"))

    assert response.status_code == 302
    assert "Đã gửi đề xuất «Thay đổi tài khoản nhận trợ cấp» chờ lãnh đạo phê duyệt." in text_of(
        officer.get(response.headers["Location"]))
    assert case_row(case.id) == before
    decide(make_client(office["supervisor"]), pending_of(case.id).id)
    row = case_row(case.id)
    assert (row["account_number"], row["status"]) == ("5555666677", state)


def test_the_same_account_is_no_change(office, make_case, make_client):
    case = make_case(state=S.PAID_BY_ACCOUNT)
    response = submit(make_client(office["officer"]), f"/cases/{case.id}/actions/change_account",
                      transition_form(case, "change_account", account_number=case.account_number))
    assert response.status_code == 422
    assert "Tài khoản nhập vào giống tài khoản đang ghi trong hồ sơ; không có gì để thay đổi." in text_of(response)
    assert proposals_of(case.id) == []


def test_recording_the_opened_account_cannot_replace_a_recorded_number(office, make_case, make_client):
    case = make_case(state=S.ACCOUNT_OPENING)                   # chose account 1234567890
    before = case_row(case.id)
    officer = make_client(office["officer"])

    response = submit(officer, f"/cases/{case.id}/actions/record_account_opened",
                      transition_form(case, "record_account_opened", account_number="9999888877"))

    assert response.status_code == 422
    assert ("«Ghi nhận đã mở tài khoản» không được thay số tài khoản đã ghi trong hồ sơ. Thay đổi tài khoản "
            "cần lãnh đạo khác phê duyệt: hãy dùng «Thay đổi tài khoản nhận trợ cấp»." in text_of(response))
    assert case_row(case.id) == before
    same = submit(officer, f"/cases/{case.id}/actions/record_account_opened",
                  transition_form(case, "record_account_opened"))
    assert same.status_code == 302
    assert case_row(case.id)["account_opened_on"] == date.today()


def test_a_first_account_number_is_an_officers_work(office, make_case):
    """Choosing an account without a number, then recording the opened one: nothing is replaced."""
    officer = office["officer"]
    case = make_case(state=S.PAYMENT_METHOD)
    with write_intent():
        from tests.paths import payload_for
        start_transition(db.session, actor_of(officer), officer, case, "choose_account",
                         payload_for(db.session, case, "choose_account") | {"account_number": None}, case.version)
        start_transition(db.session, actor_of(officer), officer, case, "record_account_opened",
                         payload_for(db.session, case, "record_account_opened"), case.version)
        db.session.commit()
    assert case_row(case.id)["account_number"] == "9876543210"


# --- the rule as data -------------------------------------------------------------------------

def test_which_fields_need_four_eyes_is_data_beside_the_table():
    assert set(four_eyes.PROTECTED_FIELDS) == {"monthly_amount", "national_id", "account_holder",
                                               "account_holder_name", "account_holder_national_id",
                                               "account_number", "provider_id"}
    assert S.IDENTITY_VERIFICATION not in four_eyes.PROTECTED_FROM and S.TERMINATED not in four_eyes.PROTECTED_FROM
    changes = {"monthly_amount": 2, "category_code": "X", "phone": "0987654321"}
    assert four_eyes.held_for_approval(S.PAID_IN_CASH, changes) == {"monthly_amount": 2, "category_code": "X"}
    assert four_eyes.held_for_approval(S.IDENTITY_VERIFICATION, changes) == {}
    assert four_eyes.held_for_approval(S.PAID_IN_CASH, {"category_code": "X"}) == {}
    identity = {"national_id": "020150000123", "sex": "female", "phone": "0987654321"}
    assert four_eyes.held_for_approval(S.SUSPENDED, identity) == {"national_id": "020150000123", "sex": "female"}


def test_the_service_holds_back_whoever_calls_it(office, make_case):
    """Not only the form: `edit_case` itself proposes, so no other caller can skip the approval."""
    officer = office["officer"]
    case = make_case(state=S.PAID_BY_ACCOUNT, **NCC)
    with write_intent():
        edited = edit_case(db.session, actor_of(officer), officer, case, {"monthly_amount": 99_999_999 // 10},
                           case.version, date.today())
        db.session.commit()
    assert edited.saved == {} and edited.proposal is not None
    assert case_row(case.id)["monthly_amount"] == 1_731_000
    with write_intent(), pytest.raises(DomainError, match="không được vượt quá"):
        edit_case(db.session, actor_of(officer), officer, case, {"monthly_amount": 99_999_999},
                  case.version, date.today())
    db.session.rollback()
