"""Fixtures: the app on a real database, factories for users and cases, a logged-in client.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL points there
(.ci/run does both). The schema comes from the Alembic migrations, as in production.

Test code runs inside an app context (`_clean`); every test client is an `IsolatedClient`, whose
requests each get a fresh app context, as under a real server.
"""
from __future__ import annotations

import contextvars
import os
import re
from datetime import date
from pathlib import Path

import pytest
from flask import current_app
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete, select, text, update

from app import create_app
from cases.audit import Actor
from cases.calendar import forget_working_calendar
from cases.models import (ArchivedReport, UnpaidRun, PaymentLine, PaymentList, ReturnException, CaseStay, ReportMonthCount, RecordedMonth, ReportBands, ReportTarget, AuditCheck, AuditHead, AuditRecord, Case, CaseCount, DenialWindow, Escalation, ListJob, LoginThrottle, PolicyGroup,
                          OutboxMessage, PaymentProvider, Proposal, ProviderKind, Sex, User, WorkingDaySwap,
                          user_communes)
from cases.models.organisation import provider_communes
from cases.models.audit import GENESIS_HASH
from cases.models.scheduling import JobRun, SchedulerLease
from cases.organisation import (commune_by_code, ensure_provider, ensure_villages, forget_provider_choices,
                                load_admin_units, province_by_code)
from cases.registration import register_case
from views.present.values import forget_names
from cases.roles import Role
from cases.users import create_user
from extensions import db, write_intent
from tests import paths

BINH_GIA, TAN_VAN, LANG_SON = "06112", "06115", "20"
OTHER_COMMUNE, OTHER_PROVINCE = "00004", "01"   # Phường Ba Đình, Hà Nội
PASSWORD = "mat-khau-thu-nghiem"
SYSTEM = Actor.system("test")


def _database_url(tmp_path_factory) -> str:
    """TEST_DATABASE_URL, else an SQLite file (a file, not memory: WAL and locks as in real use)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    # Anchors go to a file of the run's own, never into instance/.
    anchor = tmp_path_factory.mktemp("anchor") / "audit-anchor.log"
    app = create_app({"ANSINH_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url,
                      "AUDIT_ANCHOR_PATH": str(anchor)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        _fresh_schema()
        with write_intent():
            load_admin_units(db.session)
            for code in (BINH_GIA, TAN_VAN):
                ensure_villages(db.session, commune_by_code(db.session, code), ["Thôn Pò Cại", "Thôn Nà Pàn"])
            lang_son = province_by_code(db.session, LANG_SON)
            ensure_provider(db.session, lang_son, "AGRIBANK-LS", "Agribank chi nhánh Lạng Sơn", ProviderKind.BANK)
            ensure_provider(db.session, lang_son, "BUUDIEN-LS", "Bưu điện tỉnh Lạng Sơn", ProviderKind.POST_OFFICE)
            ensure_provider(db.session, province_by_code(db.session, OTHER_PROVINCE), "BIDV-HN",
                            "BIDV Hà Nội", ProviderKind.BANK)
            db.session.commit()
            app.extensions["ansinh_seeded_providers"] = [
                dict(row._mapping) for row in db.session.execute(select(PaymentProvider.__table__))]
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _fresh_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()


@pytest.fixture(autouse=True)
def _clean(app):
    """Each test starts with no users, cases, proposals or audit records."""
    with app.app_context():
        yield
        clean_tables()


def clean_tables() -> None:
    """Delete every user, case, proposal and audit record and reset the chain's head and its
    anchors (inside an app context). `_clean` runs it after each test; the stateful test also
    between examples."""
    db.session.rollback()
    db.session.remove()
    Path(current_app.config["AUDIT_ANCHOR_PATH"]).unlink(missing_ok=True)
    with write_intent():
        bypass_audit_trigger()
        for table in (AuditRecord.__table__, AuditCheck.__table__, LoginThrottle.__table__, DenialWindow.__table__,
                      OutboxMessage.__table__, Escalation.__table__, ReturnException.__table__, PaymentLine.__table__, ListJob.__table__, UnpaidRun.__table__, Proposal.__table__, CaseCount.__table__, CaseStay.__table__, ReportMonthCount.__table__, RecordedMonth.__table__, PaymentList.__table__, Case.__table__, ArchivedReport.__table__, ReportTarget.__table__, ReportBands.__table__, WorkingDaySwap.__table__, user_communes,
                      User.__table__,
                      JobRun.__table__, SchedulerLease.__table__):
            db.session.execute(delete(table))
        db.session.execute(update(AuditHead).values(last_seq=0, last_hash=GENESIS_HASH))
        restore_seeded_providers(current_app.extensions["ansinh_seeded_providers"])
        db.session.commit()
    forget_provider_choices()
    forget_names()        # the names the pages keep per process (a provider's among them)
    # The swaps were deleted above; and a calendar cached by an earlier test would expire
    # (`SWAPS_TTL_S`) in the middle of a later one, adding a statement to a count it makes.
    forget_working_calendar()


def restore_seeded_providers(seeded: list[dict]) -> None:
    """The providers seeded for the session, as they were: a test may change them (the provider
    pages; the odd-input walk posts every form, Lạng Sơn's provider pages among them). Providers a
    test adds are its own to delete."""
    table, ids = PaymentProvider.__table__, [row["id"] for row in seeded]
    db.session.execute(delete(provider_communes).where(provider_communes.c.provider_id.in_(ids)))
    for row in seeded:
        db.session.execute(update(table).where(table.c.id == row["id"]).values(**row))


def bypass_audit_trigger() -> None:
    """PostgreSQL refuses UPDATE, DELETE and TRUNCATE on audit_records (migration 0004); for the
    rest of the session's transaction, let them through, as a superuser could (tests connect as
    postgres). Does nothing on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))


@pytest.fixture
def client(app):
    return app.test_client()  # an IsolatedClient


# --- Added for the workflow, approval, audit and scoping tests -----------------------------

def uses_postgresql() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith(("postgresql", "postgres:"))


def pytest_runtest_setup(item):
    """Tests marked `postgresql` (real concurrency: row locks, many connections) run only there."""
    if item.get_closest_marker("postgresql") is not None and not uses_postgresql():
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL=postgresql://...")


class IsolatedClient(FlaskClient):
    """A browser of its own, as against a real server.

    The `_clean` fixture keeps an app context pushed for the whole test, and Flask reuses a pushed
    app context for every request, so with `app.test_client()` all requests of a test share one
    `g` (Flask-Login's current user, Flask-WTF's CSRF token) and one database session: a second
    client would act as the first client's user, and a test could read rows a request flushed but
    never committed. Here each request gets a fresh app context (its own `g` and session, removed
    at the end as in production) and a copy of the contextvars (the SQLite write intent a request
    sets stays in it). Afterwards the test's own transaction is ended, so the test reads what the
    request committed and never writes on a snapshot older than the request (SQLite: "locked").
    """

    def open(self, *args, **kwargs):
        def run():
            with self.application.app_context():
                return FlaskClient.open(self, *args, **kwargs)
        response = contextvars.copy_context().run(run)
        db.session.rollback()
        return response


@pytest.fixture
def make_client(app):
    """make_client(user=None): a separate browser, logged in as `user` when given."""
    def make(user: User | None = None) -> IsolatedClient:
        isolated = IsolatedClient(app, app.response_class, use_cookies=True)
        if user is not None:
            response = login(isolated, user)
            assert response.status_code == 302, response.status_code
        return isolated
    return make


@pytest.fixture
def make_user():
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.OFFICER, communes=(BINH_GIA,), province: str | None = None,
             username: str | None = None, full_name: str | None = None) -> User:
        n = next(counter)
        with write_intent():
            user = create_user(
                db.session, SYSTEM, username=username or f"{role.value}{n}", password=PASSWORD, role=role,
                full_name=full_name or f"Người dùng {role.value} {n}",
                province=province_by_code(db.session, province) if province else None,
                communes=[] if province else [commune_by_code(db.session, c) for c in communes])
            db.session.commit()
        return user
    return make


def person(**overrides) -> dict:
    """A valid beneficiary: born 1950 in Lạng Sơn (ID prefix 020), male."""
    data = dict(full_name="Hoàng Văn Thụ", birth_date=date(1950, 3, 2), sex=Sex.MALE,
                national_id=None, phone="0912345678", ethnicity="Tày", commune_id=None, village_id=None,
                address_detail=None, policy_group=PolicyGroup.BTXH, category_code="D5.K5a.1",
                monthly_amount=None, benefit_decision_number="12/QĐ-UBND", benefit_start_month=date(2025, 7, 1),
                guardian_name=None, guardian_national_id=None, guardian_relation=None, guardian_phone=None,
                special_very_old=False, special_gravely_ill=False, special_cannot_travel=False,
                special_nobody_to_authorise=False, notes=None)
    data.update(overrides)
    return data


_id_serial = iter(range(1, 999_999))


def national_id_for(birth_date: date, sex: Sex, prefix: str = "020") -> str:
    from cases.checks import id_century_sex_digit
    return f"{prefix}{id_century_sex_digit(birth_date.year, sex)}{birth_date.year % 100:02d}{next(_id_serial):06d}"


@pytest.fixture
def make_case(make_user):
    """make_case(state=..., commune=..., **person fields): a case walked to `state` by the engine."""
    officer_cache: dict[str, User] = {}

    def make(state=None, commune: str = BINH_GIA, by: User | None = None, **fields) -> Case:
        if by is None:
            by = officer_cache.get(commune) or make_user(Role.OFFICER, communes=(commune,))
            officer_cache[commune] = by
        data = person(**fields)
        data["commune_id"] = commune_by_code(db.session, commune).id
        with write_intent():
            case = register_case(db.session, SYSTEM, by, data, date.today())
            paths.walk(db.session, case, state)
            db.session.commit()
        return case
    return make


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="version"[^>]*value="([^"]*)"')


def csrf_token(html: str) -> str:
    return CSRF.search(html).group(1)


def login(client, user: User, password: str = PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"username": user.username, "password": password,
                                       "csrf_token": csrf_token(page)})


def submit(client, url: str, data: dict, version: int | None = None):
    """Load the form at `url` as a user would, then post `data` with its CSRF token and version."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    form = {"csrf_token": csrf_token(html)}
    found = VERSION.search(html)
    if found:
        form["version"] = found.group(1) if version is None else str(version)
    form.update(data)
    return client.post(url, data=form)


# The browser fixtures (live_server, browser, phone_page) for every test module; imported last,
# since tests/browser.py reads PASSWORD from here.
from tests.browser import browser, live_server, phone_page  # noqa: E402,F401
