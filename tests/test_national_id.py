"""Entry checks (BRIEF section 4): the CCCD number against the record, the mobile number, the
birth date; and what the new-case form shows and keeps when they fail."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from cases.checks import CheckFailed, check_birth_date, check_mobile, check_national_id
from cases.models import Case, Sex
from cases.organisation import commune_by_code
from cases.reference import id_province_prefixes
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA, submit
from tests.helpers import audit_count, case_row, fill_and_submit, new_case_form, text_of, transition_form
from workflow.states import CaseState as S

M, F = Sex.MALE, Sex.FEMALE
B1950, B2003, B1960 = date(1950, 3, 2), date(2003, 11, 20), date(1960, 5, 15)

LENGTH = "Số CCCD phải gồm đúng 12 chữ số."

VALID_IDS = [
    # number, birth date, sex, normalised
    ("020050000123", B1950, M, "020050000123"),            # Lạng Sơn, man born 1950
    ("020150000123", B1950, F, "020150000123"),            # woman: digit 4 is 1 in the 1900s
    ("001203001234", B2003, M, "001203001234"),            # Hà Nội, man born 2003: digit 4 is 2
    ("001303001234", B2003, F, "001303001234"),            # woman born 2003: 3
    ("094160123456", B1960, F, "094160123456"),            # born in Sóc Trăng: the ID keeps 094 for life
    ("096060123456", B1960, M, "096060123456"),            # Cà Mau, the last code on the list
    (" 020 050 000123 ", B1950, M, "020050000123"),        # spaces typed or pasted
    ("020050000123", None, None, "020050000123"),          # a guardian's ID: no record to compare with
]

INVALID_IDS = [
    ("003050000123", B1950, M, "Mã tỉnh 003 ở 3 số đầu của CCCD không tồn tại."),    # a gap in the list
    ("000050000123", B1950, M, "Mã tỉnh 000 ở 3 số đầu của CCCD không tồn tại."),
    ("050050000123", B1950, M, "Mã tỉnh 050 ở 3 số đầu của CCCD không tồn tại."),
    ("097050000123", B1950, M, "Mã tỉnh 097 ở 3 số đầu của CCCD không tồn tại."),    # past the last code
    ("020250000123", B1950, M, "Chữ số thứ 4 của CCCD (2) không khớp với thế kỷ của năm sinh 1950."),
    ("020003001234", B2003, M, "Chữ số thứ 4 của CCCD (0) không khớp với thế kỷ của năm sinh 2003."),
    ("020103001234", B2003, F, "Chữ số thứ 4 của CCCD (1) không khớp với thế kỷ của năm sinh 2003."),
    ("020150000123", B1950, M, "Chữ số thứ 4 của CCCD (1) không khớp với giới tính trong hồ sơ."),
    ("020050000123", B1950, F, "Chữ số thứ 4 của CCCD (0) không khớp với giới tính trong hồ sơ."),
    ("001203001234", B2003, F, "Chữ số thứ 4 của CCCD (2) không khớp với giới tính trong hồ sơ."),
    ("020051000123", B1950, M, "Chữ số thứ 5–6 của CCCD (51) không khớp với năm sinh 1950."),
    ("001213001234", B2003, M, "Chữ số thứ 5–6 của CCCD (13) không khớp với năm sinh 2003."),
    ("02005000012", B1950, M, LENGTH),                     # 11 digits
    ("0200500001234", B1950, M, LENGTH),                   # 13 digits
    ("02005000012A", B1950, M, LENGTH),                    # a letter
    ("O20050000123", B1950, M, LENGTH),                    # letter O for zero
    ("020-050-000123", B1950, M, LENGTH),
    ("123456789", B1950, M, LENGTH),                       # an old 9-digit CMND
    ("", B1950, M, LENGTH),
    ("003050000123", None, None, "Mã tỉnh 003 ở 3 số đầu của CCCD không tồn tại."),
]


@pytest.mark.parametrize("number, born, sex, normalised", VALID_IDS)
def test_valid_id(number, born, sex, normalised):
    assert check_national_id(number, born, sex) == normalised


@pytest.mark.parametrize("number, born, sex, message", INVALID_IDS)
def test_invalid_id(number, born, sex, message):
    with pytest.raises(CheckFailed) as failed:
        check_national_id(number, born, sex)
    assert str(failed.value) == message


def test_the_province_codes_are_the_pre_2025_list():
    prefixes = id_province_prefixes()
    assert len(prefixes) == 63
    assert prefixes["094"] == "Tỉnh Sóc Trăng" and prefixes["020"] == "Tỉnh Lạng Sơn"
    assert "003" not in prefixes


@pytest.mark.parametrize("typed, normalised", [
    ("0912345678", "0912345678"),
    ("091 234 5678", "0912345678"),
    ("091.234.5678", "0912345678"),
    ("0912-345-678", "0912345678"),
    ("+84912345678", "0912345678"),
    ("0862345678", "0862345678"),     # Viettel 086
    ("0592345678", "0592345678"),     # Gmobile 059
])
def test_valid_mobile(typed, normalised):
    assert check_mobile(typed) == normalised


@pytest.mark.parametrize("typed, message", [
    ("091234567", "Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0."),
    ("09123456789", "Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0."),
    ("09123abcde", "Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0."),
    ("", "Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 0."),
    ("0212345678", "Đầu số 021 không phải đầu số di động đang dùng."),     # a landline
    ("0123456789", "Đầu số 012 không phải đầu số di động đang dùng."),     # retired in 2018
    ("0202345678", "Đầu số 020 không phải đầu số di động đang dùng."),
])
def test_invalid_mobile(typed, message):
    with pytest.raises(CheckFailed) as failed:
        check_mobile(typed)
    assert str(failed.value) == message


@pytest.mark.parametrize("born, today, message", [
    (date(2025, 7, 2), date(2025, 7, 1), "Ngày sinh không được ở tương lai."),
    (date(2026, 1, 1), date(2025, 12, 31), "Ngày sinh không được ở tương lai."),
    (date(1899, 12, 31), date(2025, 7, 1), "Năm sinh phải từ 1900 trở đi."),
    (date(2025, 7, 1), date(2025, 7, 1), None),           # born today
    (date(1900, 1, 1), date(2025, 7, 1), None),
])
def test_birth_date(born, today, message):
    if message is None:
        assert check_birth_date(born, today) == born
    else:
        with pytest.raises(CheckFailed, match=message):
            check_birth_date(born, today)


# --- the new-case form ---------------------------------------------------------------------

@pytest.fixture
def officer_browser(make_user, make_client):
    return make_client(make_user(Role.OFFICER, full_name="Nông Thị Hoa"))


def binh_gia() -> int:
    return commune_by_code(db.session, BINH_GIA).id


def case_count(national_id: str | None = None) -> int:
    db.session.rollback()
    statement = select(func.count()).select_from(Case)
    if national_id is not None:
        statement = statement.where(Case.national_id == national_id)
    return db.session.scalar(statement)


@pytest.mark.parametrize("overrides, message", [
    ({"national_id": "003050000123"}, "Mã tỉnh 003 ở 3 số đầu của CCCD không tồn tại."),
    ({"national_id": "020150000123"}, "Chữ số thứ 4 của CCCD (1) không khớp với giới tính trong hồ sơ."),
    ({"national_id": "02005000012"}, "Số CCCD phải gồm đúng 12 chữ số."),
    ({"phone": "0212345678"}, "Đầu số 021 không phải đầu số di động đang dùng."),
    ({"birth_date": "2100-01-01"}, "Ngày sinh không được ở tương lai."),
    ({"guardian_national_id": "003050000123"}, "Mã tỉnh 003 ở 3 số đầu của CCCD không tồn tại."),
], ids=["province", "sex", "eleven-digits", "landline", "future-birth", "guardian-id"])
def test_new_case_form_refuses_bad_data_and_creates_nothing(overrides, message, officer_browser):
    records = audit_count()
    typed = new_case_form(binh_gia(), full_name="Lý Thị Sáu", **overrides)

    response = submit(officer_browser, "/cases/new", typed)

    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert 'value="Lý Thị Sáu"' in page          # what the officer typed is still there
    assert case_count() == 0
    assert audit_count() == records


def test_new_case_form_accepts_a_soc_trang_born_person(officer_browser):
    response = submit(officer_browser, "/cases/new", new_case_form(
        binh_gia(), full_name="Thạch Thị Sa Rươne", birth_date="1960-05-15", sex="female",
        national_id="094160123456"))
    assert response.status_code == 302
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    row = case_row(case_id)
    assert (row["national_id"], row["status"]) == ("094160123456", S.IDENTITY_VERIFICATION)
    assert f"Đã thêm hồ sơ số {case_id}." in text_of(officer_browser.get(response.headers["Location"]))


def test_a_live_case_id_cannot_be_used_twice(officer_browser, make_case):
    first = make_case(national_id="020050000777", full_name="Hoàng Văn Một")
    records = audit_count()

    response = submit(officer_browser, "/cases/new", new_case_form(binh_gia(), national_id="020050000777"))

    assert response.status_code == 422
    # In the officer's own commune: the case is named, with its state (it awaits verification).
    assert (f"Số CCCD 020050000777 đã có trong hồ sơ số {first.id} (Xã Bình Gia) đang chờ xác thực danh tính."
            in text_of(response))
    assert case_count("020050000777") == 1
    assert audit_count() == records


def test_a_terminated_case_frees_its_id(officer_browser, make_case):
    make_case(state=S.TERMINATED, national_id="020050000888")

    response = submit(officer_browser, "/cases/new", new_case_form(binh_gia(), national_id="020050000888"))

    assert response.status_code == 302
    assert case_count("020050000888") == 2


def test_edit_cannot_take_another_live_case_id(officer_browser, make_case):
    first = make_case(national_id="020050000999")
    second = make_case(full_name="Hoàng Văn Hai")
    before = case_row(second.id)

    response = fill_and_submit(officer_browser, f"/cases/{second.id}/edit", {"national_id": "020050000999"})

    assert response.status_code == 422
    assert f"Số CCCD 020050000999 đã có trong hồ sơ số {first.id}" in text_of(response)
    assert case_row(second.id) == before


def test_verifying_identity_with_another_live_case_id_is_refused(officer_browser, make_case):
    """The check runs inside the transition; before the fix it hit the unique index instead (a 500)."""
    first = make_case(national_id="020050000555")
    second = make_case(full_name="Hoàng Văn Ba")
    before = case_row(second.id)

    response = submit(officer_browser, f"/cases/{second.id}/actions/verify_identity",
                      transition_form(second, "verify_identity", national_id="020050000555"))

    assert response.status_code == 422
    assert (f"Số CCCD 020050000555 đã có trong hồ sơ số {first.id} (Xã Bình Gia) đang chờ xác thực danh tính."
            in text_of(response))
    assert case_row(second.id) == before


def test_an_id_taken_between_the_check_and_the_write_is_refused_in_vietnamese(officer_browser, make_case,
                                                                              monkeypatch):
    """Another officer saves the same number a moment after this request's check: the unique index
    refuses the UPDATE, and the officer reads why; nothing is written, no 500."""
    import cases.effects

    first = make_case(national_id="020050000666")
    second = make_case(full_name="Hoàng Văn Tư")
    before, records = case_row(second.id), audit_count()
    monkeypatch.setattr(cases.effects, "ensure_unique_national_id", lambda *args: None)

    response = submit(officer_browser, f"/cases/{second.id}/actions/verify_identity",
                      transition_form(second, "verify_identity", national_id="020050000666"))

    assert response.status_code == 422
    # The unique index knows nothing of the other case, and the message names nothing of it.
    assert "Số CCCD này vừa được ghi cho một hồ sơ khác; hãy kiểm tra lại số CCCD." in text_of(response)
    assert case_row(second.id) == before and audit_count() == records
    assert case_row(first.id)["national_id"] == "020050000666"


def test_verifying_identity_checks_the_id_against_the_record(officer_browser, make_case):
    case = make_case(birth_date=B1950, sex=M)
    before = case_row(case.id)

    response = submit(officer_browser, f"/cases/{case.id}/actions/verify_identity",
                      transition_form(case, "verify_identity", national_id="020051000123"))

    assert response.status_code == 422
    assert "Chữ số thứ 5–6 của CCCD (51) không khớp với năm sinh 1950." in text_of(response)
    assert case_row(case.id) == before


def test_several_cases_may_wait_without_an_id_number(officer_browser):
    """An empty ID field means no ID yet (NULL), not "" — which the unique index would count as a number."""
    for name in ("Hoàng Văn Một", "Hoàng Văn Hai"):
        response = submit(officer_browser, "/cases/new", new_case_form(binh_gia(), full_name=name, national_id=""))
        assert response.status_code == 302, name
    db.session.rollback()
    assert db.session.execute(select(Case.full_name, Case.national_id).order_by(Case.id)).all() == [
        ("Hoàng Văn Một", None), ("Hoàng Văn Hai", None)]
