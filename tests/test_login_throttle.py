"""Login throttling (issue 14, findings 2 and 3): counted in the database and shared by every app
instance on it; slower, then locked, with one message whatever the cause; unknown user and wrong
password cost the same time."""
from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from app import create_app
from cases import throttle
from cases.models import AuditRecord, LoginThrottle
from cases.roles import Role
from cases.throttle import ThrottleRules
from extensions import db
from tests.conftest import PASSWORD, IsolatedClient, csrf_token
from tests.helpers import fresh, text_of

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def attempt(browser, username: str, password: str):
    page = browser.get("/login").get_data(as_text=True)
    return browser.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(page)})


@pytest.fixture
def rules(app) -> ThrottleRules:
    return ThrottleRules.from_config(app.config)


@pytest.fixture
def no_waiting(monkeypatch):
    """Attempts spaced out as a patient attacker would space them: the slow-down never bites, so
    only the lock stops them."""
    monkeypatch.setattr(ThrottleRules, "wait_after", lambda self, failures, for_address: timedelta(0))


def test_fifty_wrong_passwords_in_a_row_and_the_right_one_is_refused(make_user, client, rules):
    """The probe's sequence, at the speed it ran: slowed down after a few, locked after more."""
    user = make_user(Role.OFFICER)
    refused = [attempt(client, user.username, f"sai-mat-khau-{n}") for n in range(50)]
    assert all(r.status_code == 401 and WRONG in text_of(r) for r in refused)
    last = attempt(client, user.username, PASSWORD)
    assert last.status_code == 401 and WRONG in text_of(last)
    fresh()
    assert db.session.scalar(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "auth.login_throttled")) >= 1


def test_after_a_few_failures_the_next_attempt_must_wait(make_user, client, rules):
    user = make_user(Role.OFFICER)
    for n in range(rules.slow_after):
        attempt(client, user.username, f"sai-{n}")
    # At once, even the right password is refused, with the same words: the wait is not over.
    response = attempt(client, user.username, PASSWORD)
    assert response.status_code == 401 and WRONG in text_of(response)


def test_the_lock_lifts_after_its_time(make_user, client, rules, monkeypatch):
    user = make_user(Role.OFFICER)
    start = throttle.utcnow()
    offsets = iter(range(0, 10_000, 120))
    monkeypatch.setattr(throttle, "utcnow", lambda: start + timedelta(seconds=next(offsets)))
    for n in range(rules.lock_after):
        attempt(client, user.username, f"sai-{n}")
    assert attempt(client, user.username, PASSWORD).status_code == 401
    monkeypatch.setattr(throttle, "utcnow", lambda: start + timedelta(minutes=rules.lock_minutes + 60))
    assert attempt(client, user.username, PASSWORD).status_code == 302


def test_a_success_clears_the_accounts_count(make_user, client, rules):
    user = make_user(Role.OFFICER)
    for n in range(rules.slow_after - 1):
        attempt(client, user.username, f"sai-{n}")
    assert attempt(client, user.username, PASSWORD).status_code == 302
    fresh()
    assert db.session.get(LoginThrottle, f"user:{user.username}") is None


def test_an_address_trying_many_accounts_is_locked_too(make_user, client, rules, no_waiting):
    for n in range(rules.locks_at(for_address=True)):
        attempt(client, f"khong-co-{n}", "sai")  # a new name each time: no account is ever locked
    victim = make_user(Role.OFFICER)
    assert attempt(client, victim.username, PASSWORD).status_code == 401


def test_a_patient_attacker_is_locked_out_too(make_user, client, rules, no_waiting):
    user = make_user(Role.OFFICER)
    for n in range(50):
        attempt(client, user.username, f"sai-{n}")
    assert attempt(client, user.username, PASSWORD).status_code == 401


def test_two_app_instances_on_one_database_share_the_counts(make_user, database_url, app, rules, no_waiting):
    other = create_app({"ANSINH_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    other.test_client_class = IsolatedClient
    user = make_user(Role.OFFICER)
    first, second = app.test_client(), other.test_client()
    for n in range(rules.lock_after):
        attempt(first if n % 2 else second, user.username, f"sai-{n}")
    assert attempt(first, user.username, PASSWORD).status_code == 401
    assert attempt(second, user.username, PASSWORD).status_code == 401
    with other.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def test_unknown_user_and_wrong_password_take_the_same_time(make_user, client, app, monkeypatch):
    """One argon2 verification either way. Work factors raised so argon2 dominates the request
    (as in production), and compared as a ratio of medians: the old code hashed and verified for
    an unknown user, twice the work."""
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", 2)
    monkeypatch.setitem(app.config, "ARGON2_MEMORY_COST", 32768)
    users = [make_user(Role.OFFICER) for _ in range(4)]

    def timed(username: str) -> float:
        db.session.execute(delete(LoginThrottle))  # timing, not throttling, is measured here
        db.session.commit()
        page = client.get("/login").get_data(as_text=True)
        data = {"username": username, "password": "khong-dung-mat-khau", "csrf_token": csrf_token(page)}
        started = time.perf_counter()
        response = client.post("/login", data=data)
        elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    timed("khong-ton-tai-0"), timed(users[0].username)  # warm: the dummy hash is made once per process
    unknown, wrong = [], []
    for n in range(20):
        unknown.append(timed(f"khong-ton-tai-{n}"))
        wrong.append(timed(users[n % 4].username))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.75 < ratio < 1.33, (ratio, statistics.median(unknown), statistics.median(wrong))


def test_a_huge_password_is_refused_without_hashing_it(make_user, client):
    user = make_user(Role.OFFICER)
    response = attempt(client, user.username, "x" * 100_000)
    assert response.status_code in (401, 422)
