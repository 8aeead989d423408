"""The audit trail (BRIEF section 8): one record per change, written in the change's own
transaction; a hash chain that `flask audit verify` checks, naming the first broken record."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import select, text

from cases import audit
from cases.actions import approve, reject, start_transition
from cases.audit import record_hash, verify_chain
from cases.models import AuditHead, AuditRecord, Case, User
from cases.organisation import commune_by_code
from cases.registration import edit_case, register_case
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, OTHER_COMMUNE, TAN_VAN, bypass_audit_trigger, login, person, submit
from tests.helpers import (audit_records, case_row, fill_and_submit, last_seq, new_case_form, page_token,
                           pending_of, proposals_of, text_of, transition_form)
from tests.paths import payload_for
from workflow.states import CaseState as S

# --- a trail with some history ------------------------------------------------------------------


def committed(service, *args, **kwargs):
    """Run one service call as a view would: one transaction, committed."""
    with write_intent():
        result = service(db.session, *args, **kwargs)
        db.session.commit()
    return result


@pytest.fixture
def history(make_user, make_case):
    """Users, cases, transitions, an approved and a rejected proposal and an edit: about twenty records."""
    officer, supervisor = make_user(Role.OFFICER), make_user(Role.SUPERVISOR)
    cases = [make_case(state=S.PAYMENT_METHOD, full_name=f"Người thứ {n}") for n in range(3)]
    as_officer, as_supervisor = actor_of(officer), actor_of(supervisor)

    suspension = committed(start_transition, as_officer, officer, cases[0], "suspend",
                           payload_for(db.session, cases[0], "suspend"), cases[0].version, reason="Đi làm ăn xa")
    committed(approve, as_supervisor, supervisor, suspension, "Đúng quy định")
    cash = committed(start_transition, as_officer, officer, cases[1], "choose_cash",
                     payload_for(db.session, cases[1], "choose_cash"), cases[1].version)
    committed(reject, as_supervisor, supervisor, cash, "Đối tượng đã có tài khoản")
    committed(edit_case, as_officer, officer, cases[2], {"notes": "Đã gọi điện"}, cases[2].version, date.today())
    committed(start_transition, as_officer, officer, cases[2], "choose_account",
              payload_for(db.session, cases[2], "choose_account"), cases[2].version)
    return last_seq()


def verify_command(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def seq_of(action: str) -> int:
    db.session.rollback()
    return db.session.scalar(select(AuditRecord.seq).where(AuditRecord.action == action))


def tamper(sql: str, **params) -> None:
    """Change the trail behind the application's back, as someone with the database's keys could
    (on PostgreSQL, past the trigger that refuses it to everyone else)."""
    with write_intent():
        bypass_audit_trigger()
        db.session.execute(text(sql), params)
        db.session.commit()


def assert_broken_at(app, seq: int) -> None:
    result = verify_command(app)
    assert result.exit_code == 1, result.output
    assert f"audit chain BROKEN at record {seq}:" in result.output


def test_verify_says_ok_with_the_count(app, history):
    result = verify_command(app)
    assert result.exit_code == 0, result.output
    assert f"audit chain OK: {history} records verified" in result.output
    assert history >= 15
    assert [r.seq for r in audit_records()] == list(range(1, history + 1))


def test_verify_on_an_empty_trail(app):
    result = verify_command(app)
    assert result.exit_code == 0 and "audit chain OK: 0 records verified" in result.output


@pytest.mark.parametrize("column, value", [
    ("reason", "Theo chỉ đạo miệng"),
    ("detail", '{"trigger":"suspend"}'),
    ("actor_username", "nguoi_khac"),
    ("occurred_at", "2020-01-01 00:00:00"),
    ("outcome", "denied"),
], ids=["reason", "detail", "who", "when", "outcome"])
def test_an_edited_field_breaks_the_chain_at_that_record(app, history, column, value):
    seq = seq_of("proposal.approve")
    assert 1 < seq < history
    tamper(f"UPDATE audit_records SET {column} = :value WHERE seq = :seq", value=value, seq=seq)
    assert_broken_at(app, seq)


def test_an_edit_with_a_recomputed_hash_breaks_the_chain_at_the_next_record(app, history):
    seq = seq_of("proposal.reject")
    row = dict(db.session.execute(select(AuditRecord.__table__).where(AuditRecord.seq == seq)).one()._mapping)
    row["reason"] = "Đồng ý"
    tamper("UPDATE audit_records SET reason = :reason, hash = :hash WHERE seq = :seq",
           reason=row["reason"], hash=record_hash(row), seq=seq)
    assert_broken_at(app, seq + 1)


def test_a_deleted_record_in_the_middle_is_named(app, history):
    seq = history // 2
    tamper("DELETE FROM audit_records WHERE seq = :seq", seq=seq)
    assert_broken_at(app, seq)
    assert f"record {seq} is missing" in verify_command(app).output


def test_a_deleted_last_record_is_named(app, history):
    tamper("DELETE FROM audit_records WHERE seq = :seq", seq=history)
    assert_broken_at(app, history)
    assert f"the chain ends at {history - 1} but its head says {history}" in verify_command(app).output


def test_swapped_records_break_the_chain_at_the_first_of_them(app, history):
    first, second = seq_of("proposal.create"), seq_of("case.edit")
    assert first < second
    columns = [c.name for c in AuditRecord.__table__.columns if c.name != "seq"]
    rows = {r.seq: dict(r._mapping) for r in db.session.execute(
        select(AuditRecord.__table__).where(AuditRecord.seq.in_([first, second])))}
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    with write_intent():
        bypass_audit_trigger()
        for target, source in ((first, second), (second, first)):
            values = {c: rows[source][c] for c in columns}
            db.session.execute(text(f"UPDATE audit_records SET {assignments} WHERE seq = :target"),
                               values | {"target": target})
        db.session.commit()
    assert_broken_at(app, first)


def test_an_edited_prev_hash_is_named(app, history):
    seq = seq_of("case.edit")
    tamper("UPDATE audit_records SET prev_hash = :value WHERE seq = :seq", value="f" * 64, seq=seq)
    assert_broken_at(app, seq)


# --- one record per change, in the change's transaction ------------------------------------------

@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, full_name="Hoàng Thị Lan")


def new_records(since: int) -> list[tuple[str, int | None, str | None]]:
    return [(r.action, r.case_id, r.actor_username) for r in audit_records(since)]


def test_creating_a_case_writes_one_record(officer, make_client):
    browser = make_client(officer)
    seq = last_seq()
    response = submit(browser, "/cases/new", new_case_form(commune_by_code(db.session, BINH_GIA).id))
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert new_records(seq) == [("case.create", case_id, officer.username)]
    record = audit_records(seq)[0]
    assert (record.ip, record.actor_role, record.actor_unit) == ("127.0.0.1", "officer", f"communes:{BINH_GIA}")
    assert record.request_id and '"full_name":"Hoàng Văn Thụ"' in record.detail


def test_editing_a_case_writes_one_record_with_before_and_after(officer, make_case, make_client):
    case = make_case(phone="0912345678")
    browser = make_client(officer)
    seq = last_seq()
    fill_and_submit(browser, f"/cases/{case.id}/edit", {"phone": "0987654321", "ethnicity": "Nùng"})
    assert new_records(seq) == [("case.edit", case.id, officer.username)]
    detail = audit_records(seq)[0].detail
    assert '"phone":["0912345678","0987654321"]' in detail and '"ethnicity":["Tày","Nùng"]' in detail


def test_an_unchanged_edit_writes_nothing(officer, make_case, make_client):
    case = make_case()
    browser = make_client(officer)
    seq, version = last_seq(), case.version
    response = fill_and_submit(browser, f"/cases/{case.id}/edit", {})
    assert "Không có gì thay đổi." in text_of(browser.get(response.headers["Location"]))
    assert new_records(seq) == []
    assert case_row(case.id)["version"] == version


@pytest.mark.parametrize("trigger, action", [
    ("verify_identity", "case.transition"),
    ("record_identity_problem", "case.transition"),
    ("terminate", "proposal.create"),
])
def test_a_transition_or_proposal_writes_one_record(trigger, action, officer, make_case, make_client):
    case = make_case(state=S.IDENTITY_VERIFICATION)
    browser = make_client(officer)
    seq = last_seq()
    assert submit(browser, f"/cases/{case.id}/actions/{trigger}", transition_form(case, trigger)).status_code == 302
    assert new_records(seq) == [(action, case.id, officer.username)]


@pytest.mark.parametrize("decision, action", [("approve", "proposal.approve"), ("reject", "proposal.reject")])
def test_a_decision_writes_one_record(decision, action, officer, make_user, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    submit(make_client(officer), f"/cases/{case.id}/actions/suspend", transition_form(case, "suspend"))
    supervisor = make_user(Role.SUPERVISOR)
    browser = make_client(supervisor)
    seq = last_seq()
    browser.post(f"/proposals/{pending_of(case.id).id}/{decision}",
                 data={"csrf_token": page_token(browser), "reason": "Ý kiến lãnh đạo"})
    assert new_records(seq) == [(action, case.id, supervisor.username)]
    assert audit_records(seq)[0].reason == "Ý kiến lãnh đạo"


def test_login_logout_and_failed_login_each_write_one_record(officer, make_client):
    browser = make_client()
    seq = last_seq()
    login(browser, officer, password="sai-mat-khau-roi")
    assert [(r.action, r.actor_username, r.outcome) for r in audit_records(seq)] == [
        ("auth.login_failed", officer.username, "denied")]
    seq = last_seq()
    login(browser, officer)
    assert new_records(seq) == [("auth.login", None, officer.username)]
    seq = last_seq()
    browser.post("/logout", data={"csrf_token": page_token(browser)})
    assert new_records(seq) == [("auth.logout", None, officer.username)]


@pytest.mark.parametrize("commune", [TAN_VAN, OTHER_COMMUNE])
def test_opening_a_case_out_of_scope_is_a_404_and_one_denial_record(commune, officer, make_case, make_client):
    case = make_case(commune=commune)
    browser = make_client(officer)
    seq = last_seq()
    response = browser.get(f"/cases/{case.id}")
    assert response.status_code == 404
    records = audit_records(seq)
    assert [(r.action, r.case_id, r.actor_username, r.outcome) for r in records] == [
        ("access.denied", case.id, officer.username, "denied")]
    assert '"reason":"out_of_scope"' in records[0].detail


def test_viewing_pages_writes_nothing(officer, make_case, make_client):
    case = make_case()
    browser = make_client(officer)
    seq = last_seq()
    for url in ("/cases", f"/cases/{case.id}", f"/cases/{case.id}/edit", "/proposals",
                f"/cases/{case.id}/actions/verify_identity"):
        assert browser.get(url).status_code == 200, url
    assert new_records(seq) == []


@pytest.mark.parametrize("service, url, data", [
    ("start_transition", "/cases/{id}/actions/verify_identity", lambda case: transition_form(case, "verify_identity")),
    ("start_transition", "/cases/{id}/actions/terminate", lambda case: transition_form(case, "terminate")),
    ("edit_case", "/cases/{id}/edit", lambda case: {"phone": "0987654321"}),
], ids=["transition", "proposal", "edit"])
def test_a_request_that_fails_after_the_change_writes_nothing(service, url, data, app, officer, make_case,
                                                              make_client, monkeypatch):
    """The service did its work and staged its record; then the request fails before commit."""
    import views.cases

    real = getattr(views.cases, service)

    def then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the server fell over before commit")

    case = make_case(state=S.IDENTITY_VERIFICATION)
    browser = make_client(officer)
    before, seq = case_row(case.id), last_seq()
    form = data(case)
    monkeypatch.setattr(views.cases, service, then_fail)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)

    response = fill_and_submit(browser, url.format(id=case.id), form)

    assert response.status_code == 500
    assert "Hệ thống gặp lỗi; thao tác chưa được lưu." in text_of(response)
    assert case_row(case.id) == before
    assert proposals_of(case.id) == []
    assert new_records(seq) == []
    assert verify_chain(db.session).ok


def test_a_rolled_back_change_leaves_no_record_behind(officer):
    """Records staged in a transaction that rolls back are dropped, not written by the next commit."""
    data = person(commune_id=commune_by_code(db.session, BINH_GIA).id)
    with write_intent():
        register_case(db.session, actor_of(officer), officer, data, date.today())
        assert audit.pending_count(db.session) == 1
        db.session.rollback()
    assert audit.pending_count(db.session) == 0
    seq = last_seq()
    kept = committed(register_case, actor_of(officer), officer, data | {"full_name": "Người được lưu"}, date.today())
    assert new_records(seq) == [("case.create", kept.id, officer.username)]
    assert db.session.scalar(select(Case.full_name)) == "Người được lưu"
    assert verify_chain(db.session).ok


def test_records_staged_together_are_chained_in_order_in_one_commit(officer):
    """Imports and jobs stage many records in one transaction: numbered in order, head at the last."""
    seq = last_seq()
    with write_intent():
        for n in range(3):
            audit.record(db.session, actor_of(officer), "test.batch", detail={"n": n})
        db.session.commit()
    records = audit_records(seq)
    assert [(r.action, r.detail) for r in records] == [("test.batch", f'{{"n":{n}}}') for n in range(3)]
    head = db.session.execute(select(AuditHead.last_seq, AuditHead.last_hash)).one()
    assert (head.last_seq, head.last_hash) == (records[-1].seq, records[-1].hash)
    assert verify_chain(db.session).ok


# --- PostgreSQL: concurrent writers still make one unbroken chain ----------------------------

@pytest.mark.postgresql
def test_ten_concurrent_edits_make_one_unbroken_chain(app, officer, make_case):
    cases = [make_case(full_name=f"Người thứ {n}") for n in range(10)]
    ids, seq = [c.id for c in cases], last_seq()
    barrier = threading.Barrier(len(ids))

    def edit(case_id: int) -> int:
        with app.app_context():
            try:
                user = db.session.get(User, officer.id)
                actor, case = actor_of(user), db.session.get(Case, case_id)
                version = case.version
                barrier.wait(timeout=60)
                edit_case(db.session, actor, user, case, {"notes": f"Sửa đồng thời {case_id}"}, version, date.today())
                db.session.commit()
                return case_id
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(ids)) as pool:
        assert sorted(pool.map(edit, ids)) == sorted(ids)

    records = audit_records(seq)
    assert sorted(r.case_id for r in records) == sorted(ids)
    assert {r.action for r in records} == {"case.edit"}
    assert [r.seq for r in audit_records()] == list(range(1, seq + len(ids) + 1))
    report = verify_chain(db.session)
    assert report.ok and report.checked == seq + len(ids)
    assert all(case_row(i)["notes"] == f"Sửa đồng thời {i}" for i in ids)


def test_parallel_verification_names_the_same_record(app, make_case, monkeypatch):
    """Long chains are split over processes; a break is still named exactly."""
    import cases.audit_verify as verify
    from sqlalchemy import func, update
    from extensions import db as _db
    for _ in range(6):
        make_case(state=S.PAID_BY_ACCOUNT)
    total = _db.session.scalar(select(func.count()).select_from(AuditRecord))
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    assert verify.verify_chain(_db.session, workers=3).checked == total
    middle = total // 2 + 1
    with write_intent():
        bypass_audit_trigger()
        _db.session.execute(update(AuditRecord).where(AuditRecord.seq == middle).values(reason="sửa lén"))
        _db.session.commit()
    report = verify.verify_chain(_db.session, workers=3)
    assert (report.broken_seq, report.checked) == (middle, middle - 1)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_parallel_verification_names_a_deleted_record_at_a_range_edge(app, make_case, monkeypatch, where):
    """A record missing at the start or the end of one process's range is named all the same."""
    import cases.audit_verify as verify
    for _ in range(6):
        make_case(state=S.PAID_BY_ACCOUNT)
    total = last_seq()
    monkeypatch.setattr(verify, "PARALLEL_FROM", 1)
    ranges = verify._bounds(total, 3)
    seq = {"first": ranges[1][0], "middle": (ranges[1][0] + ranges[1][1]) // 2, "last": ranges[1][1]}[where]
    tamper("DELETE FROM audit_records WHERE seq = :seq", seq=seq)
    report = verify.verify_chain(db.session, workers=3)
    assert (report.broken_seq, report.checked) == (seq, seq - 1)
    assert f"record {seq} is missing" in report.problem


@pytest.mark.postgresql
def test_a_null_smuggled_into_a_required_field_breaks_the_chain(app, history):
    """Someone with the database's keys drops a NOT NULL and blanks a field: still named."""
    seq = seq_of("proposal.approve")
    tamper("ALTER TABLE audit_records ALTER COLUMN outcome DROP NOT NULL")
    try:
        tamper("UPDATE audit_records SET outcome = NULL WHERE seq = :seq", seq=seq)
        assert_broken_at(app, seq)
    finally:
        tamper("UPDATE audit_records SET outcome = 'ok' WHERE outcome IS NULL")
        tamper("ALTER TABLE audit_records ALTER COLUMN outcome SET NOT NULL")


def test_many_records_sealed_at_once_are_written_as_staged_and_chain(app):
    """A bulk transition seals thousands of records at one commit, written by the bulk writer
    (COPY on PostgreSQL): each is stored as staged — its moment to the microsecond, its detail,
    its actor — and the chain verifies, continuing from the record before and into the next."""
    with write_intent():
        audit.record(db.session, audit.Actor.system("test"), "test.before", detail={"n": -1})
        db.session.commit()
    staged = []
    # Two actors, one with an address and a request, and two outcomes: the bulk writer prepares
    # each actor's fields once.
    actors = (audit.Actor.system("bulk"), audit.Actor(None, "cán.bộ", "officer", "Xã Đông Kinh", "10.0.0.7", "req-9"))
    with write_intent():
        for n in range(audit._BULK_RECORDS + 50):
            audit.record(db.session, actors[n % 3 == 0], "test.bulk", detail={"n": n, "tên": "Nguyễn"},
                         reason=None if n % 2 else f"dòng {n}", outcome="refused" if n % 5 == 0 else "ok")
            staged.append(db.session.info[audit._PENDING][-1])
        db.session.commit()
    with write_intent():
        audit.record(db.session, audit.Actor.system("test"), "test.after", detail={"n": 0})
        db.session.commit()
    written = [r for r in audit_records() if r.action == "test.bulk"]
    assert [(r.occurred_at, r.actor_username, r.actor_unit, r.ip, r.request_id, r.detail, r.reason, r.outcome)
            for r in written] == [
        (s.occurred_at, s.actor.username, s.actor.unit, s.actor.ip, s.actor.request_id, audit.canonical_json(s.detail),
         s.reason, s.outcome) for s in staged]
    assert all(record_hash({name: getattr(r, name) for name in audit.HASHED}) == r.hash for r in written)
    report = verify_chain(db.session)
    assert report.ok and report.checked == len(staged) + 2
