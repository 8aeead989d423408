"""Every error a person can meet is a page of the app: in their language, in the app's frame, with
what happened and what to do, never Werkzeug's English page and never a traceback."""
from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import select

from cases.models import AuditRecord
from cases.roles import Role
from extensions import db
from tests.conftest import LANG_SON, csrf_token

WERKZEUG = ("Method Not Allowed", "Not Found", "Bad Request", "Internal Server Error", "Forbidden",
            "Request Entity Too Large", "Service Unavailable", "The method is not allowed", "Traceback")


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, full_name="Hoàng Thị Cán Bộ")


@pytest.fixture
def browser(officer, make_client):
    return make_client(officer)


def assert_app_page(response, code: int, *phrases: str, lang: str = "vi") -> str:
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert f'<html lang="{lang}">' in html
    assert 'class="skip-link"' in html                      # the app's frame
    for phrase in phrases:
        assert phrase in html, phrase
    for english in WERKZEUG:
        assert english not in html, english
    return html


def test_opening_a_decision_by_its_address_is_the_apps_405_in_vietnamese(browser, officer):
    response = browser.get("/proposals/1/approve")
    html = assert_app_page(response, 405, "Thao tác không được hỗ trợ",
                           "Trang này không mở trực tiếp được; hãy dùng nút trên trang hồ sơ.")
    assert "POST" in response.headers["Allow"]
    assert officer.full_name in html and "Đăng xuất" in html    # the user's own frame


def test_a_page_that_does_not_exist_is_a_vietnamese_404(browser):
    assert_app_page(browser.get("/khong-co-trang-nay"), 404, "Không tìm thấy", "Về trang chủ")


def test_a_404_before_login_offers_the_login_page(client):
    html = assert_app_page(client.get("/khong-co-trang-nay"), 404, "Không tìm thấy")
    assert 'href="/login"' in html and "Đăng xuất" not in html


def test_a_screen_of_another_role_is_a_vietnamese_403(browser):
    assert_app_page(browser.get("/users"), 403, "Không có quyền")


def test_a_form_without_its_token_is_a_vietnamese_400_and_changes_nothing(browser, officer):
    response = browser.post("/preferences/language", data={"locale": "en", "next": "/workflow"})
    assert_app_page(response, 400, "Biểu mẫu đã hết hạn", "dữ liệu chưa được lưu")
    db.session.refresh(officer)
    assert officer.locale != "en"


def test_a_request_werkzeug_refuses_as_bad_is_a_vietnamese_400(browser, app, monkeypatch):
    monkeypatch.setitem(app.view_functions, "workflow.index", lambda: abort(400))
    assert_app_page(browser.get("/workflow"), 400, "Yêu cầu không hợp lệ", "chưa được xử lý")


def test_a_service_unavailable_is_the_apps_page_too(browser, app, monkeypatch):
    monkeypatch.setitem(app.view_functions, "workflow.index", lambda: abort(503))
    assert_app_page(browser.get("/workflow"), 503, "Có lỗi xảy ra", "thao tác chưa được lưu")


def test_a_body_over_the_limit_is_a_vietnamese_413(browser):
    token = csrf_token(browser.get("/workflow").get_data(as_text=True))
    response = browser.post("/preferences/language", data={"csrf_token": token, "next": "x" * (3 * 1024 * 1024)})
    assert_app_page(response, 413, "Dữ liệu gửi lên quá lớn", "Hãy rút ngắn nội dung")


@pytest.fixture
def failing_workflow_page(app, monkeypatch):
    """The workflow page fails with an error no one handled, as in production (no propagation)."""
    def fail():
        raise RuntimeError("secret-detail-of-the-failure")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "workflow.index", fail)


def test_an_unhandled_error_is_the_apps_500_without_a_traceback(failing_workflow_page, browser):
    html = assert_app_page(browser.get("/workflow"), 500, "Có lỗi xảy ra", "thao tác chưa được lưu")
    assert "secret-detail-of-the-failure" not in html and "RuntimeError" not in html


def test_the_500_page_still_answers_when_its_template_and_the_database_fail(failing_workflow_page, browser,
                                                                          monkeypatch):
    import views.errors

    def broken(*args, **kwargs):
        raise RuntimeError("the database is down")

    class DatabaseDown:
        session = type("Session", (), {"rollback": staticmethod(broken)})
    monkeypatch.setattr(views.errors, "render_template", broken)
    monkeypatch.setattr(views.errors, "db", DatabaseDown)
    response = browser.get("/workflow")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert '<html lang="vi">' in html and "Có lỗi xảy ra" in html and "thao tác chưa được lưu" in html
    assert "the database is down" not in html and "Traceback" not in html


def test_an_error_page_is_in_the_users_language(browser, officer):
    officer.locale = "en"
    db.session.commit()
    assert_app_page(browser.get("/proposals/1/approve"), 405, lang="en")
    assert_app_page(browser.get("/khong-co-trang-nay"), 404, lang="en")


def test_a_refusal_is_still_written_to_the_trail(make_user, make_client):
    auditor = make_user(Role.AUDITOR, province=LANG_SON)
    make_client(auditor).get("/users")
    denials = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "access.denied")).all()
    assert [d.actor_id for d in denials] == [auditor.id]


def test_the_language_switch_on_an_error_page_leads_home_and_echoes_nothing(browser):
    html = browser.get("/cases/999999").get_data(as_text=True)
    assert 'action="/preferences/language?next=/"' in html and "999999" not in html
