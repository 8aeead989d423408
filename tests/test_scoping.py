"""Every user is scoped to units (BRIEF section 2): an officer of Xã Bình Gia never sees, counts
or opens a case of Xã Tân Văn or of Hà Nội; Lạng Sơn's province supervisor sees both communes of
Lạng Sơn but not Hà Nội. And the door itself: login, logout, failed login, ?next=."""
from __future__ import annotations

import re

from datetime import date
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import func, select

from cases.access import scoped_cases
from cases.errors import DomainError
from cases.models import Case
from cases.organisation import commune_by_code
from cases.registration import register_case
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, PASSWORD, TAN_VAN, csrf_token, login, person, submit
from tests.helpers import (audit_records, case_row, last_seq, new_case_form, page_token, pending_of, text_of,
                           transition_form)
from workflow.states import CaseState as S

NOT_FOUND = "Không tìm thấy trang hoặc hồ sơ bạn yêu cầu."
# (commune, state, full name): two cases in each of three communes, one waiting for a decision each.
WORLD = [
    (BINH_GIA, S.IDENTITY_VERIFICATION, "Hoàng Văn Bình"),
    (BINH_GIA, S.PAYMENT_METHOD, "Hoàng Thị Gia"),
    (TAN_VAN, S.IDENTITY_VERIFICATION, "Lý Văn Tân"),
    (TAN_VAN, S.PAYMENT_METHOD, "Lý Thị Văn"),
    (OTHER_COMMUNE, S.IDENTITY_VERIFICATION, "Đỗ Văn Ba"),
    (OTHER_COMMUNE, S.PAYMENT_METHOD, "Đỗ Thị Đình"),
]
NAMES = {commune: [name for c, _, name in WORLD if c == commune] for commune in (BINH_GIA, TAN_VAN, OTHER_COMMUNE)}


@pytest.fixture
def world(make_user, make_case, make_client):
    """The six cases, and in each commune a suspension proposal on its payment_method case."""
    cases = {name: make_case(state=state, commune=commune, full_name=name) for commune, state, name in WORLD}
    for commune in NAMES:
        officer = make_user(Role.OFFICER, communes=(commune,))
        case = cases[NAMES[commune][1]]
        response = submit(make_client(officer), f"/cases/{case.id}/actions/suspend", transition_form(case, "suspend"))
        assert response.status_code == 302
    return cases


@pytest.fixture
def binh_gia_officer(make_user, make_client):
    return make_client(make_user(Role.OFFICER, communes=(BINH_GIA,), full_name="Nông Văn Xã"))


@pytest.fixture
def province_supervisor(make_user, make_client):
    return make_client(make_user(Role.SUPERVISOR, province=LANG_SON, full_name="Lương Văn Tỉnh"))


def queue_names(browser, state: S, **params) -> set[str]:
    page = text_of(browser.get("/cases", query_string={"state": state.value, **params}))
    return {name for _, _, name in WORLD if name in page}


def test_officer_queue_holds_only_their_commune(world, binh_gia_officer):
    assert queue_names(binh_gia_officer, S.IDENTITY_VERIFICATION) == {"Hoàng Văn Bình"}
    assert queue_names(binh_gia_officer, S.PAYMENT_METHOD) == {"Hoàng Thị Gia"}
    tan_van = commune_by_code(db.session, TAN_VAN).id
    page = text_of(binh_gia_officer.get("/cases", query_string={"state": "identity_verification", "commune": tan_van}))
    assert "Không có hồ sơ nào ở trạng thái này." in page and "Lý Văn Tân" not in page
    assert "Xã Tân Văn" not in page


def test_province_supervisor_sees_both_communes_but_not_ha_noi(world, province_supervisor):
    assert queue_names(province_supervisor, S.IDENTITY_VERIFICATION) == {"Hoàng Văn Bình", "Lý Văn Tân"}
    assert queue_names(province_supervisor, S.PAYMENT_METHOD) == {"Hoàng Thị Gia", "Lý Thị Văn"}
    tan_van = commune_by_code(db.session, TAN_VAN).id
    assert queue_names(province_supervisor, S.PAYMENT_METHOD, commune=tan_van) == {"Lý Thị Văn"}
    page = text_of(province_supervisor.get("/cases"))
    assert "Xã Tân Văn" in page and "Xã Bình Gia" in page and "Phường Ba Đình" not in page
    ha_noi = commune_by_code(db.session, OTHER_COMMUNE).id
    assert queue_names(province_supervisor, S.PAYMENT_METHOD, commune=ha_noi) == set()


@pytest.mark.parametrize("role, scope, visible", [
    (Role.OFFICER, {"communes": (BINH_GIA,)}, {BINH_GIA}),
    (Role.SUPERVISOR, {"communes": (TAN_VAN,)}, {TAN_VAN}),
    (Role.SUPERVISOR, {"province": LANG_SON}, {BINH_GIA, TAN_VAN}),
    (Role.AUDITOR, {"province": LANG_SON}, {BINH_GIA, TAN_VAN}),
    (Role.OFFICER, {"communes": (BINH_GIA, TAN_VAN)}, {BINH_GIA, TAN_VAN}),
    (Role.OFFICER, {"communes": (OTHER_COMMUNE,)}, {OTHER_COMMUNE}),
], ids=["binh-gia-officer", "tan-van-supervisor", "province-supervisor", "province-auditor", "two-communes-officer",
        "ha-noi-officer"])
def test_what_a_user_may_count(role, scope, visible, world, make_user):
    user = make_user(role, **scope)
    counted = db.session.scalar(select(func.count()).select_from(scoped_cases(user).subquery()))
    names = set(db.session.scalars(select(scoped_cases(user).subquery().c.full_name)))
    assert counted == 2 * len(visible)
    assert names == {name for commune in visible for name in NAMES[commune]}


@pytest.mark.parametrize("name", ["Lý Văn Tân", "Đỗ Văn Ba"], ids=["tan-van", "ha-noi"])
def test_officer_cannot_open_a_case_elsewhere(name, world, binh_gia_officer):
    case = world[name]
    before, seq = case_row(case.id), last_seq()
    token = page_token(binh_gia_officer)
    requests = [
        ("GET", f"/cases/{case.id}", None),
        ("GET", f"/cases/{case.id}/edit", None),
        ("POST", f"/cases/{case.id}/edit", {"csrf_token": token, "full_name": "Đã bị sửa", "version": "1"}),
        ("GET", f"/cases/{case.id}/actions/verify_identity", None),
        ("POST", f"/cases/{case.id}/actions/verify_identity",
         {"csrf_token": token, "version": str(before["version"]), **transition_form(case, "verify_identity")}),
        ("GET", f"/cases/{case.id}/actions/terminate", None),
    ]
    for method, url, data in requests:
        response = binh_gia_officer.open(url, method=method, data=data)
        assert response.status_code == 404, (method, url)
        page = text_of(response)
        assert NOT_FOUND in page and name not in page
    assert case_row(case.id) == before
    denials = audit_records(seq)
    assert [(r.action, r.case_id, r.outcome) for r in denials] == [("access.denied", case.id, "denied")] * len(requests)


TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')


def test_an_unknown_case_looks_the_same_as_a_case_elsewhere(world, binh_gia_officer):
    elsewhere = binh_gia_officer.get(f"/cases/{world['Lý Văn Tân'].id}")
    missing = binh_gia_officer.get("/cases/999999")
    assert elsewhere.status_code == missing.status_code == 404
    # The pages' CSRF tokens carry the second they were signed in; nothing else may differ.
    assert TOKEN.sub("", text_of(elsewhere)) == TOKEN.sub("", text_of(missing))


def test_province_supervisor_opens_both_communes_but_not_ha_noi(world, province_supervisor):
    for name in ("Hoàng Văn Bình", "Lý Văn Tân"):
        assert province_supervisor.get(f"/cases/{world[name].id}").status_code == 200, name
    assert province_supervisor.get(f"/cases/{world['Đỗ Văn Ba'].id}").status_code == 404
    assert province_supervisor.get(f"/cases/{world['Đỗ Thị Đình'].id}/actions/resume").status_code == 404


def test_proposals_list_holds_only_cases_in_scope(world, binh_gia_officer, province_supervisor, make_user, make_client):
    def listed(browser) -> set[str]:
        page = text_of(browser.get("/proposals"))
        return {name for _, _, name in WORLD if name in page}

    assert listed(binh_gia_officer) == {"Hoàng Thị Gia"}
    assert listed(province_supervisor) == {"Hoàng Thị Gia", "Lý Thị Văn"}
    assert listed(make_client(make_user(Role.SUPERVISOR, communes=(OTHER_COMMUNE,)))) == {"Đỗ Thị Đình"}


def test_a_decision_on_a_proposal_elsewhere_is_a_404(world, make_user, make_client):
    proposal = pending_of(world["Lý Thị Văn"].id)
    supervisor = make_client(make_user(Role.SUPERVISOR, communes=(BINH_GIA,)))
    response = supervisor.post(f"/proposals/{proposal.id}/approve",
                               data={"csrf_token": page_token(supervisor), "reason": "Đồng ý"})
    assert response.status_code == 404
    assert pending_of(world["Lý Thị Văn"].id).id == proposal.id


def test_an_officer_cannot_register_a_case_elsewhere(world, binh_gia_officer):
    page = text_of(binh_gia_officer.get("/cases/new"))
    assert "Xã Bình Gia" in page and "Xã Tân Văn" not in page
    response = submit(binh_gia_officer, "/cases/new", new_case_form(commune_by_code(db.session, TAN_VAN).id,
                                                                     full_name="Người Ngoài Xã"))
    assert response.status_code == 422
    assert "Lựa chọn không hợp lệ." in text_of(response)      # the commune is not among the choices
    assert db.session.scalar(select(func.count()).select_from(Case).where(Case.full_name == "Người Ngoài Xã")) == 0


def test_the_service_refuses_a_commune_out_of_scope(make_user):
    officer = make_user(Role.OFFICER, communes=(BINH_GIA,))
    data = person(full_name="Người Ngoài Xã", commune_id=commune_by_code(db.session, TAN_VAN).id)
    with write_intent(), pytest.raises(DomainError, match="Xã/phường không thuộc phạm vi bạn quản lý."):
        register_case(db.session, actor_of(officer), officer, data, date.today())
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


# --- the door ------------------------------------------------------------------------------------

def test_login_and_logout(make_user, make_client):
    user = make_user(Role.OFFICER, full_name="Nông Văn Xã")
    browser = make_client()
    assert browser.get("/cases").status_code == 302

    response = login(browser, user)

    assert response.status_code == 302 and response.headers["Location"] == "/cases"
    assert "Nông Văn Xã · Cán bộ xã" in text_of(browser.get("/cases"))
    response = browser.post("/logout", data={"csrf_token": page_token(browser)})
    assert response.headers["Location"] == "/login"
    assert "Bạn đã đăng xuất." in text_of(browser.get("/login"))
    response = browser.get("/cases")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Vui lòng đăng nhập để tiếp tục." in text_of(browser.get(response.headers["Location"]))


@pytest.mark.parametrize("username, password", [("officer1", "sai-mat-khau"), ("khong-co-ai", PASSWORD)],
                         ids=["wrong-password", "unknown-user"])
def test_failed_login_says_so_in_vietnamese(username, password, make_user, make_client):
    make_user(Role.OFFICER, username="officer1")
    browser = make_client()
    page = browser.get("/login").get_data(as_text=True)

    response = browser.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)})

    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in text_of(response)
    assert browser.get("/cases").status_code == 302


@pytest.mark.parametrize("target", [
    "https://evil.example/steal", "//evil.example/steal", "http:evil.example", "javascript:alert(1)",
    "/\\evil.example", "\\\\evil.example", "https:/evil.example",
])
def test_login_does_not_follow_an_outside_next(target, make_user, make_client):
    user = make_user(Role.OFFICER)
    browser = make_client()
    page = browser.get("/login").get_data(as_text=True)
    response = browser.post("/login", query_string={"next": target},
                            data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert lands_on(response.headers["Location"]) == "localhost"


def lands_on(location: str) -> str:
    """The host a browser goes to for this Location (browsers read a backslash as a slash)."""
    return urlsplit(urljoin("http://localhost/login", location.replace("\\", "/"))).netloc


def test_login_follows_a_next_within_the_site(make_user, make_client, make_case):
    user = make_user(Role.OFFICER)
    case = make_case()
    browser = make_client()
    page = browser.get("/login").get_data(as_text=True)
    response = browser.post("/login", query_string={"next": f"/cases/{case.id}"},
                            data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert response.headers["Location"] == f"/cases/{case.id}"
