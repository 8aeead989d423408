"""Sessions end when they should (issue 14, finding 1, high): a cookie captured before logout,
a password change, a role change or disabling is refused when replayed; idle and absolute
timeouts; a fresh session and CSRF token at login; a foreign Origin refused."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from cases import sessions
from cases.models import User
from cases.roles import Role
from cases.sessions import end_sessions
from extensions import db, write_intent
from tests.conftest import BINH_GIA, SYSTEM, csrf_token
from tests.helpers import text_of
from workflow.states import CaseState as S


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER)


def cookie_of(browser) -> str:
    return browser.get_cookie("session").value


def replay(make_client, cookie: str):
    """A second browser (another machine, another User-Agent) presenting a captured cookie."""
    thief = make_client()
    thief.set_cookie("session", cookie, domain="localhost")
    return thief


def opens_case(browser, case_id: int) -> bool:
    response = browser.get(f"/cases/{case_id}", headers={"User-Agent": "curl/8.0"})
    return response.status_code == 200


def test_a_cookie_captured_before_logout_is_refused_afterwards(officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    captured = cookie_of(browser)
    assert opens_case(replay(make_client, captured), case.id)

    page = browser.get("/cases").get_data(as_text=True)
    assert browser.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302

    thief = replay(make_client, captured)
    response = thief.get(f"/cases/{case.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_users_other_sessions_too(officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    office, phone = make_client(officer), make_client(officer)
    page = office.get("/cases").get_data(as_text=True)
    office.post("/logout", data={"csrf_token": csrf_token(page)})
    assert not opens_case(phone, case.id)


@pytest.mark.parametrize("event", ["password reset", "own password", "role", "scope", "disabled"])
def test_a_change_to_the_user_ends_their_sessions(event, officer, make_case, make_client):
    """Each through the service the screens and the command line use."""
    from cases import user_admin
    from cases.organisation import commune_by_code
    from tests.conftest import PASSWORD, TAN_VAN
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    captured = cookie_of(browser)
    with write_intent():
        user = db.session.get(User, officer.id)
        if event == "password reset":
            user_admin.reset_password(db.session, SYSTEM, None, user, "cay-tre-xanh-ven-lang")
        elif event == "own password":
            user_admin.change_own_password(db.session, SYSTEM, user, PASSWORD, "cay-tre-xanh-ven-lang")
        elif event == "role":
            user_admin.change_role(db.session, SYSTEM, None, user, Role.SUPERVISOR)
        elif event == "scope":
            user_admin.change_scope(db.session, SYSTEM, None, user,
                                    communes=[commune_by_code(db.session, c) for c in (BINH_GIA, TAN_VAN)])
        else:
            user_admin.disable_user(db.session, SYSTEM, None, user)
        db.session.commit()
    assert not opens_case(browser, case.id)
    assert not opens_case(replay(make_client, captured), case.id)


def test_checking_the_session_costs_no_query(officer, make_case, make_client, app):
    """The session version rides on the user row the request loads anyway."""
    from sqlalchemy import event
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    browser.get(f"/cases/{case.id}")  # warm the statement caches
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        browser.get(f"/cases/{case.id}")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    users = [s for s in statements if "FROM users" in s]
    assert len(users) == 1, users


class Clock:
    def __init__(self, start: float):
        self.moment = start

    def __call__(self) -> float:
        return self.moment


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(1_790_000_000.0)
    monkeypatch.setattr(sessions, "now", clock)
    return clock


def test_an_idle_session_ends_after_the_idle_limit(officer, make_case, make_client, clock, app):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    clock.moment += idle - 5
    assert opens_case(browser, case.id)          # used in time: the idle clock starts again
    clock.moment += idle - 5
    assert opens_case(browser, case.id)
    clock.moment += idle + 1
    assert not opens_case(browser, case.id)


def test_a_session_ends_after_the_absolute_limit_however_busy(officer, make_case, make_client, clock, app):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    step = app.config["SESSION_IDLE_MINUTES"] * 60 - 60
    limit = app.config["SESSION_MAX_HOURS"] * 3600
    elapsed = 0
    while elapsed + step < limit:
        clock.moment += step
        elapsed += step
        assert opens_case(browser, case.id)
    clock.moment += step
    assert not opens_case(browser, case.id)


def test_login_gives_a_fresh_session_and_a_fresh_csrf_token(officer, make_client):
    from tests.conftest import PASSWORD
    browser = make_client()
    page = browser.get("/login").get_data(as_text=True)
    before_token, before_cookie = csrf_token(page), cookie_of(browser)
    response = browser.post("/login", data={"username": officer.username, "password": PASSWORD,
                                            "csrf_token": before_token})
    assert response.status_code == 302
    after_token = csrf_token(browser.get("/cases").get_data(as_text=True))
    assert after_token != before_token
    assert cookie_of(browser) != before_cookie
    # The pre-login cookie (a fixated session) opens nothing.
    stranger = replay(lambda: make_client(), before_cookie)
    assert stranger.get("/cases").status_code == 302


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost.evil.example"])
def test_a_post_from_another_origin_is_refused_even_with_a_valid_token(origin, officer, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    browser = make_client(officer)
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    response = browser.post("/logout", data={"csrf_token": token}, headers={"Origin": origin})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in text_of(response)
    assert opens_case(browser, case.id)  # still logged in: the logout did not happen


def test_a_post_from_this_origin_is_accepted(officer, make_client):
    browser = make_client(officer)
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    response = browser.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://localhost"})
    assert response.status_code == 302


def test_a_forged_user_id_in_the_cookie_is_not_a_500(officer, make_client, app):
    """A session naming a user id that is not a number (only possible with the secret) is refused."""
    browser = make_client()
    with browser.session_transaction() as cookie:
        cookie["_user_id"] = "1e30"
    assert browser.get("/cases").status_code == 302


def test_session_version_moves_on_every_end(officer):
    with write_intent():
        db.session.execute(update(User).where(User.id == officer.id).values(session_version=7))
        end_sessions(db.session, db.session.get(User, officer.id))
        db.session.commit()
    assert db.session.get(User, officer.id).session_version == 8
