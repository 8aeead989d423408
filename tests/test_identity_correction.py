"""The identity check and the ID number (issue 14: findings 8 and 9, items 7 and 8): the form shows
the registered number; a different one is recorded only as an explicit correction with a reason,
shown as such in the history; a duplicate number names the other case only to those who may see it,
with the wording of its state."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from cases.changes import local_today
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, TAN_VAN, submit
from tests.helpers import (audit_records, case_row, fill_and_submit, last_seq, new_case_form, open_form, text_of,
                           transition_form)
from workflow.states import CaseState as S

REGISTERED, MISTYPED = "020050000123", "020050000132"   # a man born 1950 in Lạng Sơn, two digits swapped
DIFFERENT = ("Số CCCD đã đối chiếu khác số đang ghi trong hồ sơ. Nếu số trong hồ sơ bị ghi sai, hãy đánh dấu "
             "«Đính chính số CCCD» và ghi lý do; nếu không, hãy nhập đúng số đang ghi.")
ELSEWHERE = "Số CCCD này đã được đăng ký ở một xã/phường khác. Vui lòng liên hệ Sở để được hỗ trợ."


@pytest.fixture
def officer(make_user, make_client):
    return make_client(make_user(Role.OFFICER, full_name="Nông Thị Hoa"))


def verify_url(case) -> str:
    return f"/cases/{case.id}/actions/verify_identity"


# --- the identity form ------------------------------------------------------------------------

def test_the_identity_form_shows_the_registered_number_and_today(officer, make_case):
    case = make_case(national_id=REGISTERED)
    shown = open_form(officer, verify_url(case))
    assert shown["national_id"] == REGISTERED
    assert shown["verified_on"] == local_today().isoformat()
    assert "id_correction" not in shown                  # unticked


def test_verifying_with_the_registered_number_as_shown(officer, make_case):
    case = make_case(national_id=REGISTERED)

    response = fill_and_submit(officer, verify_url(case), {"source": "vneid"})

    assert response.status_code == 302
    row = case_row(case.id)
    assert (row["status"], row["national_id"], row["identity_verified_on"]) == (
        S.PAYMENT_METHOD, REGISTERED, local_today())
    assert "Đính chính số CCCD" not in text_of(officer.get(f"/cases/{case.id}"))


def test_finding_8_a_different_number_without_a_correction_is_refused(officer, make_case):
    case = make_case(national_id=REGISTERED)
    before = case_row(case.id)

    response = fill_and_submit(officer, verify_url(case), {"national_id": MISTYPED, "source": "vneid"})

    assert response.status_code == 422
    assert f'<p class="error">{DIFFERENT}</p>' in text_of(response)
    assert case_row(case.id) == before


def test_a_correction_needs_a_reason(officer, make_case):
    case = make_case(national_id=REGISTERED)
    before = case_row(case.id)

    response = fill_and_submit(officer, verify_url(case), {"national_id": MISTYPED, "source": "vneid",
                                                          "id_correction": "y"})

    assert response.status_code == 422
    assert '<p class="error">Cần ghi lý do đính chính số CCCD.</p>' in text_of(response)
    assert case_row(case.id) == before


def test_an_explicit_correction_changes_the_number_and_the_history_says_so(officer, make_case):
    case = make_case(national_id=REGISTERED)
    seq = last_seq()
    reason = "Thẻ CCCD gốc: hồ sơ ghi nhầm hai chữ số cuối"

    response = fill_and_submit(officer, verify_url(case), {"national_id": MISTYPED, "source": "population_db",
                                                          "id_correction": "y", "correction_reason": reason})

    assert response.status_code == 302
    row = case_row(case.id)
    assert (row["national_id"], row["status"]) == (MISTYPED, S.PAYMENT_METHOD)
    [record] = [r for r in audit_records(seq) if r.case_id == case.id and r.action != "case.reveal"]
    detail = json.loads(record.detail)
    assert detail["id_correction"] == {"reason": reason}
    assert detail["changes"]["national_id"] == [REGISTERED, MISTYPED]
    history = re.sub(r"<[^>]+>", "", text_of(officer.get(f"/cases/{case.id}")))     # as a reader sees it
    assert f"Đính chính số CCCD: {reason}" in history


def test_a_case_registered_without_a_number_takes_one_without_a_correction(officer, make_case):
    case = make_case(national_id=None)
    response = fill_and_submit(officer, verify_url(case), {"national_id": REGISTERED, "source": "police_list"})
    assert response.status_code == 302
    assert case_row(case.id)["national_id"] == REGISTERED


def test_a_verification_date_in_the_future_is_refused(officer, make_case):
    case = make_case(national_id=REGISTERED)
    before = case_row(case.id)
    tomorrow = (local_today() + timedelta(days=1)).isoformat()

    response = fill_and_submit(officer, verify_url(case), {"source": "vneid", "verified_on": tomorrow})

    assert response.status_code == 422
    assert '<p class="error">Ngày xác thực không được sau ngày hôm nay.</p>' in text_of(response)
    assert case_row(case.id) == before


# --- duplicate numbers: what a refusal tells ------------------------------------------------

def binh_gia_case(make_case, state=S.IDENTITY_VERIFICATION):
    return make_case(state=state, national_id=REGISTERED, full_name="Hoàng Văn Bình")


@pytest.mark.parametrize("who", [
    {"communes": (TAN_VAN,)},
    {"communes": (OTHER_COMMUNE,)},
    {"province": OTHER_PROVINCE},
], ids=["tan-van", "ha-noi", "ha-noi-province"])
def test_finding_9_a_duplicate_in_another_commune_names_nothing(who, make_case, make_user, make_client):
    first = binh_gia_case(make_case, S.PAID_BY_ACCOUNT)
    role = Role.SUPERVISOR if "province" in who else Role.OFFICER
    user = make_user(role, **who)
    browser = make_client(user)
    commune = commune_by_code(db.session, who.get("communes", (OTHER_COMMUNE,))[0])   # Ba Đình is in Hà Nội

    response = submit(browser, "/cases/new", new_case_form(commune.id, full_name="Lý Văn Trùng", national_id=REGISTERED))

    assert response.status_code == 422
    page = text_of(response)
    assert ELSEWHERE in page
    assert f"hồ sơ số {first.id}" not in page and f"/cases/{first.id}" not in page
    assert "Bình Gia" not in page and "đang hưởng trợ cấp" not in page


def test_a_duplicate_in_another_commune_through_the_identity_check_names_nothing(make_case, make_user, make_client):
    binh_gia_case(make_case)
    elsewhere = make_case(commune=TAN_VAN, full_name="Lý Văn Trùng")
    browser = make_client(make_user(Role.OFFICER, communes=(TAN_VAN,)))

    response = submit(browser, verify_url(elsewhere), transition_form(elsewhere, "verify_identity",
                                                                       national_id=REGISTERED))

    assert response.status_code == 422
    page = text_of(response)
    assert ELSEWHERE in page and "Bình Gia" not in page
    assert case_row(elsewhere.id)["national_id"] is None


@pytest.mark.parametrize("state, wording", [
    (S.IDENTITY_VERIFICATION, "đang chờ xác thực danh tính"),
    (S.PAYMENT_METHOD, "đang hưởng trợ cấp"),
    (S.PAID_BY_ACCOUNT, "đang hưởng trợ cấp"),
    (S.SUSPENDED, "đang tạm dừng trợ cấp"),
], ids=lambda v: getattr(v, "value", v))
def test_a_duplicate_in_scope_names_the_case_with_its_state(state, wording, make_case, officer):
    first = binh_gia_case(make_case, state)

    response = submit(officer, "/cases/new", new_case_form(first.commune_id, full_name="Lý Văn Trùng",
                                                           national_id=REGISTERED))

    assert response.status_code == 422
    page = text_of(response)
    assert f"Số CCCD {REGISTERED} đã có trong hồ sơ số {first.id} (Xã Bình Gia) {wording}." in page
    assert f'href="/cases/{first.id}">Mở hồ sơ số {first.id}</a>' in page


def test_a_province_supervisor_is_told_which_case(make_case, make_user, make_client):
    first = binh_gia_case(make_case, S.PAID_IN_CASH)
    elsewhere = make_case(commune=TAN_VAN, full_name="Lý Văn Trùng", birth_date=date(1950, 3, 2))
    browser = make_client(make_user(Role.SUPERVISOR, province=LANG_SON))

    response = fill_and_submit(browser, f"/cases/{elsewhere.id}/edit", {"national_id": REGISTERED})

    assert response.status_code == 422
    assert (f"Số CCCD {REGISTERED} đã có trong hồ sơ số {first.id} (Xã Bình Gia) đang hưởng trợ cấp."
            in text_of(response))
    assert case_row(elsewhere.id)["national_id"] is None


def test_the_binh_gia_officer_gets_no_link_to_a_case_they_cannot_open(make_case, make_user, make_client):
    make_case(commune=TAN_VAN, national_id=REGISTERED)
    browser = make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))
    response = submit(browser, "/cases/new", new_case_form(commune_by_code(db.session, BINH_GIA).id,
                                                           national_id=REGISTERED))
    page = text_of(response)
    assert ELSEWHERE in page and "Mở hồ sơ số" not in page and "Tân Văn" not in page
