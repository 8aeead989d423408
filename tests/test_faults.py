"""Faults (issue 14, finding 13): PostgreSQL backends terminated mid-transition leave no partial
state, and the next request works; after the server drops every connection (a restart), the
first request works (pool_pre_ping)."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import event

from cases.audit import verify_chain
from cases.roles import Role
from extensions import db
from tests.conftest import submit
from tests.helpers import audit_count, case_row, transition_form
from workflow.states import CaseState as S

pytestmark = pytest.mark.postgresql


def _server_url() -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def terminate(pids: list[int] | None = None) -> None:
    """Terminate the given backends, or every other backend of the test database."""
    with psycopg.connect(_server_url(), autocommit=True) as admin:
        if pids is None:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        else:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER)


def test_a_backend_killed_mid_transition_leaves_nothing_half_done(officer, make_case, make_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # the user's 500 page, as in production
    case = make_case(state=S.IDENTITY_VERIFICATION)
    browser = make_client(officer)
    before, records = case_row(case.id), audit_count()

    def kill_before_the_audit_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("WITH") or "INSERT INTO audit_records" in statement:
            terminate([conn.connection.dbapi_connection.info.backend_pid])
    event.listen(db.engine, "before_cursor_execute", kill_before_the_audit_insert)
    try:
        response = submit(browser, f"/cases/{case.id}/actions/verify_identity",
                          transition_form(case, "verify_identity"))
    finally:
        event.remove(db.engine, "before_cursor_execute", kill_before_the_audit_insert)
    assert response.status_code == 500
    assert "thao tác chưa được lưu" in response.get_data(as_text=True)
    assert case_row(case.id) == before          # the UPDATE of the case went with the transaction
    assert audit_count() == records
    assert verify_chain(db.session).ok

    again = submit(browser, f"/cases/{case.id}/actions/verify_identity", transition_form(case, "verify_identity"))
    assert again.status_code == 302
    assert case_row(case.id)["status"] == S.PAYMENT_METHOD


def test_the_first_request_after_the_server_dropped_every_connection_works(officer, make_case, make_client):
    case_id = make_case(state=S.PAYMENT_METHOD).id
    browser = make_client(officer)
    assert browser.get(f"/cases/{case_id}").status_code == 200
    db.session.remove()
    terminate()
    assert browser.get(f"/cases/{case_id}").status_code == 200
