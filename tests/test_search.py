"""Search: names typed without diacritics or case, "d" for "đ", across every state of the
user's scope with the other filters kept; a case number opens the case; an ID number is searched
by POST only and shown masked."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from cases.models import Case, Sex
from cases.roles import Role
from cases.search import fold_name, prefix_upper_bound
from extensions import db
from tests.conftest import BINH_GIA, OTHER_COMMUNE, TAN_VAN, national_id_for
from tests.helpers import text_of
from tests.helpers_queues import forget_counts, row_ids, token_of
from workflow.states import CaseState as S


@pytest.fixture(autouse=True)
def _fresh_counts():
    forget_counts()


@pytest.fixture
def officer(make_user, make_client):
    return make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))


def test_a_prefix_range_ends_just_past_the_prefix():
    assert prefix_upper_bound("nguyen") == "nguyeo" and "nguyen van a" < prefix_upper_bound("nguyen")


@pytest.mark.parametrize("typed, folded", [
    ("Nguyễn Văn A", "nguyen van a"), ("  NGUYỄN   văn  a ", "nguyen van a"), ("Đỗ Thị Đình", "do thi dinh"),
    ("Lương Thị Hoa", "luong thi hoa"), ("", "")])
def test_a_name_folds_to_plain_lowercase(typed, folded):
    assert fold_name(typed) == folded


def test_the_folded_name_is_kept_with_the_name(make_case):
    case = make_case(full_name="Nguyễn Văn Ấn")
    assert db.session.scalar(select(Case.name_folded).where(Case.id == case.id)) == "nguyen van an"


@pytest.mark.parametrize("typed", ["nguyen van a", "Nguyen Van A", "NGUYỄN VĂN A", "nguyen"])
def test_a_name_typed_without_diacritics_finds_the_person_in_any_state(typed, make_case, officer):
    paid = make_case(state=S.PAID_BY_ACCOUNT, full_name="Nguyễn Văn A")
    waiting = make_case(full_name="Nguyễn Văn Anh")
    make_case(full_name="Hoàng Văn Thụ")

    page = text_of(officer.get("/cases", query_string={"q": typed}))

    assert set(row_ids(page)) == {paid.id, waiting.id}
    assert "Chi trả qua tài khoản" in page and "Hoàng Văn Thụ" not in page


def test_d_finds_the_letter_dj(make_case, officer):
    case = make_case(full_name="Đỗ Thị Đình")
    assert row_ids(text_of(officer.get("/cases?q=do+thi+d"))) == [case.id]


def test_search_stays_in_scope_and_keeps_the_other_filters(make_case, officer):
    mine = make_case(full_name="Lý Văn Tân", special_very_old=True)
    make_case(full_name="Lý Văn Tâm")
    make_case(full_name="Lý Văn Tân", commune=TAN_VAN)
    make_case(full_name="Lý Văn Tân", commune=OTHER_COMMUNE)

    assert row_ids(text_of(officer.get("/cases?q=ly+van+tan"))) == [mine.id]
    assert row_ids(text_of(officer.get("/cases?q=ly+van&special=1"))) == [mine.id]


def test_a_case_number_in_scope_opens_the_case(make_case, officer):
    case = make_case()
    other = make_case(commune=TAN_VAN)

    answer = officer.get(f"/cases?q={case.id}")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/cases/{case.id}")
    page = officer.get(f"/cases?q={other.id}")
    assert page.status_code == 200
    assert f"Không có hồ sơ số {other.id} trong phạm vi của bạn." in text_of(page)


def test_the_id_number_search_is_a_post_and_shows_the_number_masked(make_case, officer):
    number = national_id_for(date(1950, 3, 2), Sex.MALE)
    case = make_case(state=S.PAID_BY_ACCOUNT, national_id=number)

    token = token_of(officer.get("/cases").get_data(as_text=True))
    found = text_of(officer.post("/cases/search-id", data={"csrf_token": token, "national_id": number}))

    assert f"/cases/{case.id}" in found and number not in found and number[-4:] in found
    assert officer.get(f"/cases/search-id?national_id={number}").status_code == 405
    refused = officer.post("/cases/search-id", data={"csrf_token": token, "national_id": "12ab"},
                           follow_redirects=True)
    assert "Số CCCD gồm 12 chữ số" in text_of(refused)


def test_a_given_name_alone_finds_the_person(make_case, officer):
    hoa = make_case(full_name="Lương Thị Hoa")
    thu = make_case(full_name="Nông Văn Thụ")
    assert row_ids(text_of(officer.get("/cases?q=hoa"))) == [hoa.id]
    assert row_ids(text_of(officer.get("/cases?q=Thụ"))) == [thu.id]
    assert row_ids(text_of(officer.get("/cases?q=nong"))) == [thu.id]
