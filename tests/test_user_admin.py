"""User administration (issue 14, item 2): an administrator creates, disables and re-enables users,
resets passwords, changes roles and scopes, within their own scope; every user changes their own
password under one policy; each change is audited and ends the user's sessions; the same from the
command line."""
from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from cases import passwords, user_admin
from cases.errors import DomainError, NotPermitted
from cases.models import AuditRecord, User
from cases.organisation import commune_by_code, province_by_code
from cases.roles import Role
from cases.passwords import check_password
from cases.user_admin import reset_password
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, PASSWORD, SYSTEM, TAN_VAN, csrf_token, login
from tests.helpers import audit_records, fresh, last_seq, text_of

NEW_PASSWORD = "cay-tre-xanh-ven-lang"
NOT_FOUND = "Không tìm thấy trang hoặc hồ sơ bạn yêu cầu."
ADMIN_ONLY = "Chỉ quản trị hệ thống được quản lý người dùng."


def row(user_id: int) -> User:
    fresh()
    return db.session.get(User, user_id)


def post_from(browser, page: str, action: str, data: dict | None = None):
    """Open `page` as a user would and post one of its forms to `action`, with the page's CSRF token."""
    opened = browser.get(page)
    assert opened.status_code == 200, opened.status_code
    return browser.post(action, data={"csrf_token": csrf_token(opened.get_data(as_text=True)), **(data or {})})


def records_since(seq: int, action: str) -> list[AuditRecord]:
    return [r for r in audit_records(seq) if r.action == action]


def detail_of(record: AuditRecord) -> dict:
    return json.loads(record.detail)


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, province=LANG_SON, username="quantri.ls", full_name="Quản trị Lạng Sơn")


@pytest.fixture
def admin_browser(admin, make_client):
    return make_client(admin)


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, communes=(BINH_GIA,), username="canbo.binhgia", full_name="Nông Văn Xã")


# --- The administrator's screens --------------------------------------------------------------

def test_the_list_shows_the_users_in_scope_with_role_scope_state_and_email(admin_browser, officer, make_user):
    make_user(Role.SUPERVISOR, communes=(TAN_VAN,), username="lanhdao.tanvan")
    make_user(Role.OFFICER, communes=(OTHER_COMMUNE,), username="canbo.badinh")
    make_user(Role.ADMIN, province=OTHER_PROVINCE, username="quantri.hn")
    page = text_of(admin_browser.get("/users"))
    assert "canbo.binhgia" in page and "Nông Văn Xã" in page and "Cán bộ xã" in page and "Xã Bình Gia" in page
    assert "lanhdao.tanvan" in page and "Lãnh đạo phê duyệt" in page
    assert "quantri.ls" in page and "Cả Tỉnh Lạng Sơn" in page and "Đang hoạt động" in page
    assert "canbo.badinh" not in page and "quantri.hn" not in page


def test_admin_creates_a_user_with_a_password_they_chose(admin_browser):
    seq = last_seq()
    tan_van = commune_by_code(db.session, TAN_VAN).id
    response = post_from(admin_browser, "/users/new", "/users/new", {
        "username": "canbo.tanvan", "full_name": "Lý Thị Tân", "email": "tan@example.vn", "role": "officer",
        "scope": "communes", "commune_ids": str(tan_van), "password": NEW_PASSWORD})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "canbo.tanvan"))
    assert (user.full_name, user.email, user.role, user.province_id) == ("Lý Thị Tân", "tan@example.vn", Role.OFFICER, None)
    assert [c.code for c in user.communes] == [TAN_VAN] and user.password_hash.startswith("$argon2id$")
    [created] = records_since(seq, "user.create")
    assert created.actor_username == "quantri.ls" and detail_of(created)["communes"] == [TAN_VAN]
    assert login(admin_browser.application.test_client(), user, NEW_PASSWORD).status_code == 302


def test_admin_creates_a_user_with_a_generated_password_shown_once(admin_browser, app):
    response = post_from(admin_browser, "/users/new", "/users/new", {
        "username": "kiemtra.ls", "full_name": "Kiểm tra", "role": "auditor", "scope": "province"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = text_of(response)
    assert "hệ thống không lưu lại để xem" in page
    password = page.split('<code class="password">')[1].split("</code>")[0]
    user = db.session.scalar(select(User).where(User.username == "kiemtra.ls"))
    assert user.province.code == LANG_SON and not user.communes
    assert login(app.test_client(), user, password).status_code == 302


def test_new_user_form_refuses_a_weak_password_a_bad_username_and_a_commune_outside_scope(admin_browser):
    hanoi = commune_by_code(db.session, OTHER_COMMUNE).id
    response = post_from(admin_browser, "/users/new", "/users/new", {
        "username": "can.bo", "full_name": "X", "role": "officer", "scope": "province", "password": "matkhau123"})
    assert response.status_code == 422 and "Mật khẩu này quá phổ biến" in text_of(response)
    response = post_from(admin_browser, "/users/new", "/users/new", {
        "username": "Cán Bộ", "full_name": "X", "role": "officer", "scope": "province"})
    assert response.status_code == 422 and "Tên đăng nhập gồm 3–64 chữ thường" in text_of(response)
    response = post_from(admin_browser, "/users/new", "/users/new", {
        "username": "can.bo", "full_name": "X", "role": "officer", "scope": "communes", "commune_ids": str(hanoi)})
    assert response.status_code == 422 and "ngoài phạm vi quản lý của bạn" in text_of(response)
    assert db.session.scalar(select(User).where(User.username == "can.bo")) is None


def test_disable_and_enable_through_the_screen(admin_browser, officer, make_client):
    officer_browser = make_client(officer)
    seq, version = last_seq(), officer.session_version
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/disable")
    assert response.status_code == 302
    assert "Đã khoá tài khoản canbo.binhgia." in text_of(admin_browser.get(f"/users/{officer.id}"))
    disabled = row(officer.id)
    assert disabled.active is False and disabled.session_version == version + 1
    [record] = records_since(seq, "user.disable")
    assert record.actor_username == "quantri.ls" and detail_of(record) == {"username": "canbo.binhgia",
                                                                          "active": [True, False]}
    assert officer_browser.get("/cases").status_code == 302          # the open session has ended
    assert login(make_client(), officer).status_code == 401           # and no new one starts

    post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/enable")
    assert row(officer.id).active is True
    [record] = records_since(seq, "user.enable")
    assert detail_of(record) == {"username": "canbo.binhgia", "active": [False, True]}
    assert login(make_client(), officer).status_code == 302


def test_reset_password_with_a_typed_password(admin_browser, officer, make_client):
    seq, version, old_hash = last_seq(), officer.session_version, officer.password_hash
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/password",
                         {"password": NEW_PASSWORD})
    assert response.status_code == 302
    after = row(officer.id)
    assert after.password_hash != old_hash and after.session_version == version + 1
    assert after.password_changed_at is not None
    [record] = records_since(seq, "user.password_reset")
    assert detail_of(record) == {"username": "canbo.binhgia", "generated": False}
    assert login(make_client(), officer, PASSWORD).status_code == 401
    assert login(make_client(), officer, NEW_PASSWORD).status_code == 302


def test_reset_password_generated_is_shown_once(admin_browser, officer, make_client):
    seq = last_seq()
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/password", {"password": ""})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = text_of(response).split('<code class="password">')[1].split("</code>")[0]
    assert len(password) == 19
    assert login(make_client(), officer, password).status_code == 302
    [record] = records_since(seq, "user.password_reset")
    assert detail_of(record) == {"username": "canbo.binhgia", "generated": True}
    assert password not in (record.detail or "")


def test_reset_password_refuses_a_weak_password_beside_the_field(admin_browser, officer):
    old_hash = officer.password_hash
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/password",
                         {"password": "canbo.binhgia-2025"})
    assert response.status_code == 422
    assert "Mật khẩu không được trùng hoặc chứa tên đăng nhập." in text_of(response)
    assert row(officer.id).password_hash == old_hash


def test_change_role_through_the_screen(admin_browser, officer):
    seq, version = last_seq(), officer.session_version
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/role", {"role": "supervisor"})
    assert response.status_code == 302
    after = row(officer.id)
    assert after.role is Role.SUPERVISOR and after.session_version == version + 1
    [record] = records_since(seq, "user.role_change")
    assert detail_of(record) == {"username": "canbo.binhgia", "role": ["officer", "supervisor"]}
    # The same role again changes nothing, writes nothing and ends no session.
    post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/role", {"role": "supervisor"})
    assert row(officer.id).session_version == version + 1 and len(records_since(seq, "user.role_change")) == 1


def test_change_scope_to_the_province_and_back_to_communes(admin_browser, officer):
    seq, version = last_seq(), officer.session_version
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/scope", {"scope": "province"})
    assert response.status_code == 302
    after = row(officer.id)
    assert after.province.code == LANG_SON and after.communes == [] and after.session_version == version + 1
    ids = [str(commune_by_code(db.session, c).id) for c in (BINH_GIA, TAN_VAN)]
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/scope",
                         {"scope": "communes", "commune_ids": ids})
    assert response.status_code == 302
    after = row(officer.id)
    assert after.province_id is None and [c.code for c in after.communes] == [BINH_GIA, TAN_VAN]
    assert after.session_version == version + 2
    first, second = records_since(seq, "user.scope_change")
    assert detail_of(first) == {"username": "canbo.binhgia", "province": [None, LANG_SON], "communes": [[BINH_GIA], []]}
    assert detail_of(second) == {"username": "canbo.binhgia", "province": [LANG_SON, None],
                                 "communes": [[], [BINH_GIA, TAN_VAN]]}


def test_scope_outside_the_admins_own_is_refused(admin_browser, officer, admin):
    hanoi = commune_by_code(db.session, OTHER_COMMUNE)
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/scope",
                         {"scope": "communes", "commune_ids": str(hanoi.id)})
    assert response.status_code == 422 and "ngoài phạm vi quản lý của bạn" in text_of(response)
    response = post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/scope",
                         {"scope": "communes"})
    assert response.status_code == 422 and "Hãy chọn ít nhất một xã/phường." in text_of(response)
    assert [c.code for c in row(officer.id).communes] == [BINH_GIA]
    # The service refuses it too, whatever the form offered.
    with write_intent(), pytest.raises(NotPermitted):
        user_admin.change_scope(db.session, SYSTEM, row(admin.id), row(officer.id),
                                province=province_by_code(db.session, OTHER_PROVINCE))
    db.session.rollback()


def test_an_admin_cannot_disable_themselves_drop_their_own_role_or_reset_their_own_password(admin_browser, admin):
    response = post_from(admin_browser, f"/users/{admin.id}", f"/users/{admin.id}/disable")
    assert "Bạn không thể tự khoá tài khoản của mình." in text_of(admin_browser.get(response.headers["Location"]))
    response = post_from(admin_browser, f"/users/{admin.id}", f"/users/{admin.id}/role", {"role": "officer"})
    assert response.status_code == 422 and "Bạn không thể tự bỏ vai trò quản trị của mình." in text_of(response)
    response = post_from(admin_browser, f"/users/{admin.id}", f"/users/{admin.id}/password", {"password": NEW_PASSWORD})
    assert response.status_code == 422 and "Hãy đổi mật khẩu của chính bạn ở trang Đổi mật khẩu." in text_of(response)
    after = row(admin.id)
    assert after.active and after.role is Role.ADMIN and after.session_version == admin.session_version


def _user_routes(user_id: int) -> list[tuple[str, str]]:
    return [("GET", "/users"), ("GET", "/users/new"), ("POST", "/users/new"), ("GET", f"/users/{user_id}"),
            *[("POST", f"/users/{user_id}/{action}") for action in ("disable", "enable", "password", "role", "scope")]]


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_a_non_admin_gets_403_on_every_users_route(role, make_user, make_client, officer):
    browser = make_client(make_user(role, province=LANG_SON))
    token = csrf_token(browser.get("/account/password").get_data(as_text=True))
    for method, path in _user_routes(officer.id):
        response = browser.open(path, method=method, data={"csrf_token": token, "role": "admin"})
        assert response.status_code == 403, (method, path)
        assert ADMIN_ONLY in text_of(response)
    after = row(officer.id)
    assert after.role is Role.OFFICER and after.active


def test_an_admin_of_another_province_gets_404_for_a_user_outside_scope(make_user, make_client, officer):
    browser = make_client(make_user(Role.ADMIN, province=OTHER_PROVINCE, username="quantri.hn"))
    token = csrf_token(browser.get("/users").get_data(as_text=True))
    for method, path in _user_routes(officer.id)[3:]:
        response = browser.open(path, method=method, data={"csrf_token": token, "role": "admin", "scope": "province"})
        assert response.status_code == 404 and NOT_FOUND in text_of(response), (method, path)
    assert "canbo.binhgia" not in text_of(browser.get("/users"))
    after = row(officer.id)
    assert after.role is Role.OFFICER and after.active and after.communes[0].code == BINH_GIA


def test_a_commune_admin_manages_only_users_of_their_communes(make_user, make_client, officer):
    tan_van = make_user(Role.OFFICER, communes=(TAN_VAN,), username="canbo.tanvan")
    both = make_user(Role.OFFICER, communes=(BINH_GIA, TAN_VAN), username="canbo.haixa")
    province_wide = make_user(Role.SUPERVISOR, province=LANG_SON, username="so.langson")
    browser = make_client(make_user(Role.ADMIN, communes=(BINH_GIA,), username="quantri.binhgia"))
    page = text_of(browser.get("/users"))
    assert "canbo.binhgia" in page and "quantri.binhgia" in page
    assert not {"canbo.tanvan", "canbo.haixa", "so.langson"} & set(page.split())
    for other in (tan_van, both, province_wide):
        assert browser.get(f"/users/{other.id}").status_code == 404
    assert "Cả Tỉnh" not in text_of(browser.get(f"/users/{officer.id}"))   # no province to grant


# --- Everyone's own password ----------------------------------------------------------------

def test_a_user_changes_their_password_and_logs_in_again(officer, make_client):
    browser = make_client(officer)
    seq, version = last_seq(), officer.session_version
    response = post_from(browser, "/account/password", "/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "Đã đổi mật khẩu. Vui lòng đăng nhập lại bằng mật khẩu mới." in text_of(browser.get("/login"))
    after = row(officer.id)
    assert after.session_version > version and after.password_changed_at is not None
    assert PasswordHasher().verify(after.password_hash, NEW_PASSWORD)
    [record] = records_since(seq, "user.password_change")
    assert record.actor_username == "canbo.binhgia" and detail_of(record) == {"username": "canbo.binhgia"}
    assert browser.get("/cases").status_code == 302
    assert login(make_client(), officer, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize("new_password, message", [
    ("ngan-qua", "Mật khẩu phải có ít nhất 10 ký tự."),
    ("x" * 129, "Mật khẩu không được dài quá 128 ký tự."),
    ("matkhau123", "Mật khẩu này quá phổ biến, dễ bị đoán ra."),
    ("Mật Khẩu 123", "Mật khẩu này quá phổ biến, dễ bị đoán ra."),
    ("1234567890", "Mật khẩu này quá phổ biến, dễ bị đoán ra."),
    ("anhyeuem2025", "Mật khẩu này quá phổ biến, dễ bị đoán ra."),
    ("canbo.binhgia", "Mật khẩu không được trùng hoặc chứa tên đăng nhập."),
    ("toi-la-CANBO.BINHGIA", "Mật khẩu không được trùng hoặc chứa tên đăng nhập."),
    (PASSWORD, "Mật khẩu mới phải khác mật khẩu hiện tại."),
])
def test_a_weak_new_password_is_refused_with_its_reason(new_password, message, officer, make_client):
    browser = make_client(officer)
    response = post_from(browser, "/account/password", "/account/password", {
        "current_password": PASSWORD, "new_password": new_password, "confirm": new_password})
    assert response.status_code == 422 and message in text_of(response)
    after = row(officer.id)
    assert after.password_hash == officer.password_hash and after.session_version == officer.session_version


def test_a_wrong_current_password_is_refused_counted_and_audited(officer, make_client):
    browser = make_client(officer)
    seq = last_seq()
    response = post_from(browser, "/account/password", "/account/password", {
        "current_password": "khong-phai-mat-khau", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422 and "Mật khẩu hiện tại không đúng." in text_of(response)
    [record] = records_since(seq, "user.password_change")
    assert record.outcome == "denied" and detail_of(record)["reason"] == "current_password_wrong"
    assert row(officer.id).password_hash == officer.password_hash


def test_the_confirmation_must_match(officer, make_client):
    response = post_from(make_client(officer), "/account/password", "/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert response.status_code == 422 and "Hai lần nhập mật khẩu mới không khớp." in text_of(response)


def test_every_user_sees_the_change_password_link_and_only_admins_the_users_link(officer, admin, make_client):
    officer_page, admin_page = (text_of(make_client(u).get("/cases")) for u in (officer, admin))
    assert "Đổi mật khẩu" in officer_page and 'href="/users"' not in officer_page
    assert "Đổi mật khẩu" in admin_page and 'href="/users"' in admin_page


# --- The policy and the audit trail ----------------------------------------------------------

def test_a_huge_password_is_refused_before_anything_is_hashed(officer, monkeypatch):
    def no_hashing():
        raise AssertionError("hashed a password the policy refuses")
    monkeypatch.setattr(user_admin, "hasher", no_hashing)
    with write_intent(), pytest.raises(DomainError, match="không được dài quá 128"):
        reset_password(db.session, SYSTEM, None, row(officer.id), "x" * 20_000_000)
    db.session.rollback()


def test_the_common_password_list_holds_the_vietnamese_favourites():
    listed = passwords.common_passwords()
    assert {"matkhau123", "123456789", "anhyeuem", "abc123456", "1234567890", "qwertyuiop"} <= listed
    assert 1000 < len(listed) < 10_000
    check_password("cay-tre-xanh-ven-lang", "an.nv")   # an ordinary passphrase passes


def test_no_audit_record_holds_a_password_or_a_hash(admin_browser, officer, make_client):
    post_from(make_client(officer), "/account/password", "/account/password", {
        "current_password": PASSWORD, "new_password": "mot-mat-khau-khac", "confirm": "mot-mat-khau-khac"})
    post_from(admin_browser, f"/users/{officer.id}", f"/users/{officer.id}/password", {"password": NEW_PASSWORD})
    texts = " ".join(r.detail or "" for r in audit_records())
    assert "user.password_change" in {r.action for r in audit_records()}
    assert not {NEW_PASSWORD, PASSWORD, "mot-mat-khau-khac", "$argon2"} & {w for w in texts.split('"')}
    assert NEW_PASSWORD not in texts and "mot-mat-khau-khac" not in texts and "$argon2" not in texts


# --- The command line -----------------------------------------------------------------------

def test_cli_disable_and_enable(app, officer):
    runner = app.test_cli_runner()
    seq, version = last_seq(), officer.session_version
    result = runner.invoke(args=["users", "disable", "canbo.binhgia"])
    assert result.exit_code == 0 and "disabled canbo.binhgia" in result.output
    after = row(officer.id)
    assert not after.active and after.session_version == version + 1
    [record] = records_since(seq, "user.disable")
    assert (record.actor_username, record.actor_role) == ("cli", "system")
    assert login(app.test_client(), officer).status_code == 401
    result = runner.invoke(args=["users", "enable", "canbo.binhgia"])
    assert result.exit_code == 0 and row(officer.id).active and records_since(seq, "user.enable")
    assert runner.invoke(args=["users", "enable", "canbo.binhgia"]).output.strip() == "canbo.binhgia was active already"
    missing = runner.invoke(args=["users", "disable", "khong.co"])
    assert missing.exit_code != 0 and "no user named khong.co" in missing.output


def test_cli_reset_password_prompted_and_generated(app, officer):
    runner = app.test_cli_runner()
    seq, version = last_seq(), officer.session_version
    result = runner.invoke(args=["users", "reset-password", "canbo.binhgia"], input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output and row(officer.id).session_version == version + 1
    assert login(app.test_client(), officer, NEW_PASSWORD).status_code == 302
    result = runner.invoke(args=["users", "reset-password", "canbo.binhgia", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.split("new password (shown once): ")[1].strip()
    assert login(app.test_client(), officer, password).status_code == 302
    assert [detail_of(r)["generated"] for r in records_since(seq, "user.password_reset")] == [False, True]
    weak = runner.invoke(args=["users", "reset-password", "canbo.binhgia"], input="matkhau123\nmatkhau123\n")
    assert weak.exit_code != 0 and "quá phổ biến" in weak.output


ODD = ["-1", "9223372036854775808", "1e30", "1" * 10_000, "\x00", "Nguyễn\x00Văn", "x" * 10_000, "ễ" * 10_000]


def test_odd_values_in_the_user_forms_never_give_a_500(admin_browser, officer, make_client):
    browser = make_client(officer)
    for name in ("current_password", "new_password", "confirm"):
        for value in ODD:
            response = post_from(browser, "/account/password", "/account/password", {name: value})
            assert response.status_code < 500, (name, value[:20])
    assert row(officer.id).password_hash == officer.password_hash
    forms = {"/users/new": ["username", "full_name", "email", "role", "scope", "commune_ids", "password"],
             f"/users/{officer.id}/role": ["role"], f"/users/{officer.id}/scope": ["scope", "commune_ids"],
             f"/users/{officer.id}/password": ["password"]}
    for action, fields in forms.items():
        for name in fields:
            for value in ODD:
                valid = {"username": "nguoi.la", "full_name": "Người Lạ", "role": "officer", "scope": "province"}
                response = post_from(admin_browser, "/users/new", action, valid | {name: value})
                assert response.status_code < 500, (action, name, value[:20])
    assert row(officer.id).role is Role.OFFICER
