"""Vietnamese by default; English per user, chosen from the frame, kept on the user and so across
requests and browsers; the switch only ever returns to a page of this site."""
from __future__ import annotations

from datetime import date

import pytest
from flask_babel import format_date, format_decimal, refresh
from flask_login import login_user

from cases.roles import Role
from extensions import db
from tests.conftest import csrf_token


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER)


def choose(browser, locale: str, next_: str = "/workflow"):
    """Press a language button as the frame's form sends it (`next` in its action)."""
    token = csrf_token(browser.get("/workflow").get_data(as_text=True))
    return browser.post("/preferences/language", query_string={"next": next_},
                        data={"csrf_token": token, "locale": locale})


def lang_of(browser, url: str = "/workflow") -> str:
    html = browser.get(url).get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_vietnamese_is_the_default_and_the_switch_is_in_the_frame(officer, make_client):
    browser = make_client(officer)
    html = browser.get("/workflow").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert 'action="/preferences/language?next=/workflow"' in html
    assert 'value="en" lang="en" aria-pressed="false">English</button>' in html
    assert 'value="vi" lang="vi" aria-pressed="true">Tiếng Việt</button>' in html


def test_a_user_who_chooses_english_keeps_it_and_others_do_not_get_it(officer, make_user, make_client):
    browser = make_client(officer)
    response = choose(browser, "en", "/workflow?x=1")
    assert response.status_code == 302 and response.headers["Location"] == "/workflow?x=1"
    db.session.refresh(officer)
    assert officer.locale == "en"
    assert lang_of(browser) == "en" and lang_of(browser, "/khong-co") == "en"
    assert lang_of(make_client(officer)) == "en"                 # another browser, the same user
    assert lang_of(make_client(make_user(Role.SUPERVISOR))) == "vi"
    assert lang_of(make_client(), "/login") == "vi"                # before login: Vietnamese
    choose(browser, "vi")
    assert lang_of(browser) == "vi"


def test_a_language_the_app_does_not_have_is_refused_on_screen(officer, make_client):
    browser = make_client(officer)
    response = choose(browser, "fr")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ngôn ngữ đã chọn không có trong danh sách." in page and '<html lang="vi">' in page
    db.session.refresh(officer)
    assert officer.locale != "fr"


@pytest.mark.parametrize("target", ["https://elsewhere.example/x", "//elsewhere.example", "/\\elsewhere.example",
                                    "javascript:alert(1)", "workflow", "", "/\x00x", "/cases\r\nX-A: b"])
def test_the_switch_never_returns_to_another_site(target, officer, make_client):
    response = choose(make_client(officer), "en", target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_switch_needs_a_login(client):
    response = client.post("/preferences/language", data={"locale": "en"})
    assert response.status_code in (302, 400)      # to the login page, or refused for want of a token
    assert "/preferences" not in response.headers.get("Location", "/login")


def test_numbers_and_dates_follow_the_users_language(app, officer):
    with app.test_request_context("/"):
        login_user(officer)
        assert format_decimal(1234567) == "1.234.567"
        assert format_date(date(2026, 12, 1), "short") == "1/12/26"        # day first
        officer.locale = "en"
        refresh()
        assert format_decimal(1234567) == "1,234,567"
        assert format_date(date(2026, 12, 1), "short") == "12/1/26"
