"""The stays of a case in its states (`case_stays`, issue 17): what the triggers of migration 0015
write as the engine moves a case, what the migration's backfill replays from the audit trail,
and what the bulk generator writes for the history it invents — the three must agree, or a report
for an earlier month counts cases where they were not."""
from __future__ import annotations

import importlib.util
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import bindparam, delete, func, select, text

from cases.actions import approve, start_transition
from cases.bulk_write import BulkSink, allocate_ids
from cases.case_rows import BLANK_CASE, CASE_COLUMNS, CASE_TABLE
from cases.models import Case, CaseCount, CaseStay
from cases.models.reports import OPEN_END
from cases.organisation import commune_by_code, province_by_code
from cases.registration import edit_case
from cases.roles import Role
from cases.users import actor_of
from demo.synthetic import generate
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, TAN_VAN
from tests.helpers import case_row, fresh, pending_of
from tests.paths import payload_for
from workflow.states import CaseState as S

MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0015_reports.py"
ONE_SECOND = timedelta(seconds=1)


def _migration():
    spec = importlib.util.spec_from_file_location("migration_0015_reports", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stays(case_id: int | None = None) -> list[CaseStay]:
    fresh()
    statement = select(CaseStay).order_by(CaseStay.case_id, CaseStay.valid_from, CaseStay.id)
    if case_id is not None:
        statement = statement.where(CaseStay.case_id == case_id)
    return list(db.session.scalars(statement))


def _shape(stays: list[CaseStay]) -> list[tuple[str, bool]]:
    return [(s.status, s.has_account) for s in stays]


def _assert_chained(stays: list[CaseStay]) -> None:
    """One after the other, no gap, no overlap; the last one open."""
    for stay, following in zip(stays, stays[1:]):
        assert stay.valid_from < stay.valid_to == following.valid_from, (stay.status, following.status)
    assert stays[-1].valid_to == OPEN_END
    assert [s.valid_to for s in stays].count(OPEN_END) == 1


def _fire(user, case_id: int, trigger: str, **payload) -> None:
    with write_intent():
        case = db.session.get(Case, case_id)
        data = payload_for(db.session, case, trigger) | payload
        start_transition(db.session, actor_of(user), user, case, trigger, data, case.version)
        db.session.commit()


def _approve(supervisor, case_id: int) -> None:
    proposal = pending_of(case_id)
    with write_intent():
        approve(db.session, actor_of(supervisor), supervisor, proposal, "Đồng ý")
        db.session.commit()


@pytest.fixture
def people(make_user):
    return {"officer": make_user(Role.OFFICER, communes=(BINH_GIA, TAN_VAN)),
            "supervisor": make_user(Role.SUPERVISOR, communes=(BINH_GIA, TAN_VAN))}


# --- What the triggers write as the engine moves a case ------------------------------------------

def test_a_stay_per_state_each_closed_where_the_next_begins(make_case):
    case = make_case(state=S.PAID_BY_ACCOUNT)
    stays, row = _stays(case.id), case_row(case.id)
    assert _shape(stays) == [("identity_verification", False), ("payment_method", False),
                             ("account_opening", True), ("paid_by_account", True)]
    _assert_chained(stays)
    assert abs(stays[0].valid_from - row["created_at"]) < ONE_SECOND
    assert stays[-1].valid_from == row["state_entered_at"]
    assert {(s.province_id, s.commune_id, s.policy_group) for s in stays} == {
        (row["province_id"], row["commune_id"], "btxh")}


def test_an_account_recorded_inside_account_opening_splits_the_stay(make_case, people):
    case = make_case(state=S.PAYMENT_METHOD, by=people["officer"])
    _fire(people["officer"], case.id, "choose_account", account_number="")
    entered = case_row(case.id)["state_entered_at"]
    _fire(people["officer"], case.id, "record_account_opened", account_number="9876543210")
    stays, row = _stays(case.id), case_row(case.id)
    assert _shape(stays) == [("identity_verification", False), ("payment_method", False),
                             ("account_opening", False), ("account_opening", True)]
    _assert_chained(stays)
    assert stays[2].valid_from == entered == row["state_entered_at"]
    assert stays[3].valid_from == row["updated_at"] > entered


def test_a_suspension_and_its_resumption(make_case, people):
    case = make_case(state=S.PAID_IN_CASH, by=people["officer"])
    _fire(people["officer"], case.id, "suspend")
    assert [s.status for s in _stays(case.id)][-1] == "paid_in_cash"     # a proposal moves nothing
    _approve(people["supervisor"], case.id)
    suspended_at = case_row(case.id)["state_entered_at"]
    _fire(people["officer"], case.id, "resume")
    _approve(people["supervisor"], case.id)
    stays, row = _stays(case.id), case_row(case.id)
    assert _shape(stays) == [("identity_verification", False), ("payment_method", False),
                             ("paid_in_cash", False), ("suspended", False), ("paid_in_cash", False)]
    _assert_chained(stays)
    assert stays[3].valid_from == suspended_at
    assert stays[4].valid_from == row["state_entered_at"] > suspended_at


def test_a_commune_edit_splits_the_stay(make_case, people):
    case = make_case(state=S.PAYMENT_METHOD, by=people["officer"])
    tan_van = commune_by_code(db.session, TAN_VAN)
    with write_intent():
        mine = db.session.get(Case, case.id)
        edit_case(db.session, actor_of(people["officer"]), people["officer"], mine, {"commune_id": tan_van.id},
                  mine.version, date.today())
        db.session.commit()
    stays, row = _stays(case.id), case_row(case.id)
    binh_gia = commune_by_code(db.session, BINH_GIA)
    assert [(s.status, s.commune_id) for s in stays] == [
        ("identity_verification", binh_gia.id), ("payment_method", binh_gia.id), ("payment_method", tan_van.id)]
    _assert_chained(stays)
    assert stays[2].valid_from == row["updated_at"] > row["state_entered_at"] == stays[1].valid_from


# --- The backfill: the audit trail replayed gives what the triggers wrote ------------------------

def test_a_change_dated_before_the_open_stay_never_ends_it_before_it_began(make_case):
    """A script's UPDATE that moves the commune but leaves updated_at behind (or a server whose clock
    runs late): the open stay lasts no time rather than end before it began."""
    case = make_case(state=S.PAYMENT_METHOD)
    opened = _stays(case.id)[-1].valid_from
    tan_van = commune_by_code(db.session, TAN_VAN)
    with write_intent():
        db.session.execute(text("UPDATE cases SET commune_id = :commune, updated_at = :earlier WHERE id = :id"),
                           {"commune": tan_van.id, "earlier": opened - timedelta(days=3), "id": case.id})
        db.session.commit()
    stays = _stays(case.id)
    assert all(a.valid_from <= a.valid_to == b.valid_from for a, b in zip(stays, stays[1:]))
    assert stays[-2].valid_from == stays[-2].valid_to == stays[-1].valid_from == opened
    assert (stays[-1].commune_id, stays[-1].valid_to) == (tan_van.id, OPEN_END)


def test_one_statement_moving_many_cases_each_way_keeps_every_stay_and_count(make_case):
    """A bulk move is one statement for thousands of cases (cases.bulk_write.BulkSink.update; on
    PostgreSQL the triggers then run once for the statement): cases crossing between two states
    in both directions, one changing commune, one untouched by the facts, each closes its own
    stay where the next begins, and the counters end as a recount of the cases."""
    going = [make_case(state=S.PAYMENT_METHOD) for _ in range(3)]
    coming = [make_case(state=S.ACCOUNT_OPENING) for _ in range(2)]
    moving_commune, untouched = make_case(state=S.PAYMENT_METHOD), make_case(state=S.PAYMENT_METHOD)
    tan_van, binh_gia = commune_by_code(db.session, TAN_VAN), commune_by_code(db.session, BINH_GIA)
    moved_at = datetime.now().replace(microsecond=0) + timedelta(minutes=5)
    with write_intent():
        db.session.execute(text(
            "UPDATE cases SET status = CASE WHEN id IN :going THEN 'account_opening' "
            "WHEN id IN :coming THEN 'payment_method' ELSE status END, "
            "state_entered_at = CASE WHEN id IN :going OR id IN :coming THEN :moved ELSE state_entered_at END, "
            "commune_id = CASE WHEN id = :moving THEN :commune ELSE commune_id END, "
            "notes = 'một câu lệnh', updated_at = :moved WHERE id IN :every")
            .bindparams(*(bindparam(name, expanding=True) for name in ("going", "coming", "every"))),
            {"going": [c.id for c in going], "coming": [c.id for c in coming], "moving": moving_commune.id,
             "commune": tan_van.id, "moved": moved_at,
             "every": [c.id for c in (*going, *coming, moving_commune, untouched)]})
        db.session.commit()
    for case in going:
        stays = _stays(case.id)
        _assert_chained(stays)
        assert [s.status for s in stays[-2:]] == ["payment_method", "account_opening"]
        assert stays[-1].valid_from == moved_at
    for case in coming:
        stays = _stays(case.id)
        _assert_chained(stays)
        assert [s.status for s in stays[-2:]] == ["account_opening", "payment_method"]
        assert stays[-1].valid_from == moved_at
    stays = _stays(moving_commune.id)
    _assert_chained(stays)
    assert [(s.status, s.commune_id) for s in stays[-2:]] == [("payment_method", binh_gia.id),
                                                             ("payment_method", tan_van.id)]
    assert _shape(_stays(untouched.id)) == [("identity_verification", False), ("payment_method", False)]
    kept = {(c.commune_id, c.status, c.policy_group): c.n for c in db.session.scalars(select(CaseCount)) if c.n}
    recount = {(commune, status.value, group.value): n for commune, status, group, n in db.session.execute(
        select(Case.commune_id, Case.status, Case.policy_group, func.count())
        .group_by(Case.commune_id, Case.status, Case.policy_group))}
    assert kept == recount


def test_cases_written_in_bulk_get_the_stay_and_count_one_insert_gets(make_case):
    """A list import writes its cases in bulk (cases.bulk_write.BulkSink: COPY and the statement
    triggers on PostgreSQL; on SQLite the insert triggers dropped and the stays and counts written
    set-based): each case opens one stay as the insert trigger opens it, the counters end as a
    recount, and the triggers are back as they were, so a case registered after fires them."""
    entered = datetime(2026, 3, 2, 3, 4, 5, 678901)
    facts = [("identity_verification", "btxh", None), ("account_opening", "ncc", "0123456789"),
             ("account_opening", "btxh", ""), ("paid_by_account", "btxh", "9876543210")]
    triggers = _triggers()
    with write_intent():
        ids = allocate_ids(db.session, CASE_TABLE, len(facts))
        rows = [_bulk_row(case_id, status, group, account, entered)
                for case_id, (status, group, account) in zip(ids, facts)]
        sink = BulkSink(db.session)
        sink.write(CASE_TABLE, CASE_COLUMNS, rows)
        sink.finish([CASE_TABLE])
        db.session.commit()
    for case_id, (status, group, account) in zip(ids, facts):
        stays = _stays(case_id)
        assert [(s.status, s.policy_group, s.has_account, s.valid_from, s.valid_to) for s in stays] == [
            (status, group, bool(account), entered, OPEN_END)]
    kept = {(c.commune_id, c.status, c.policy_group): c.n for c in db.session.scalars(select(CaseCount)) if c.n}
    recount = {(commune, status.value, group.value): n for commune, status, group, n in db.session.execute(
        select(Case.commune_id, Case.status, Case.policy_group, func.count())
        .group_by(Case.commune_id, Case.status, Case.policy_group))}
    assert kept == recount
    assert _triggers() == triggers
    later = make_case(state=S.PAYMENT_METHOD)
    assert _shape(_stays(later.id)) == [("identity_verification", False), ("payment_method", False)]


def test_a_bulk_write_that_fails_leaves_the_triggers_of_cases_in_place(make_case):
    """A row refused by the database (an id taken) fails the write; the cases' triggers, dropped
    for it on SQLite, are back whether the caller goes on or rolls back."""
    taken = make_case()
    triggers = _triggers()
    row = _bulk_row(taken.id, "identity_verification", "btxh", None, datetime(2026, 3, 2))
    with write_intent():
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):   # the drivers' own: a raw write
            BulkSink(db.session).write(CASE_TABLE, CASE_COLUMNS, [row])
        if db.engine.dialect.name == "sqlite":      # its transaction goes on (PostgreSQL's is aborted)
            assert _triggers() == triggers
        db.session.rollback()
    assert _triggers() == triggers
    later = make_case(state=S.PAYMENT_METHOD)
    assert _shape(_stays(later.id)) == [("identity_verification", False), ("payment_method", False)]


def test_a_bulk_update_keeps_the_stays_and_counts_the_update_triggers_keep(make_case):
    """A bulk move (cases.bulk_write.BulkSink.update: on SQLite with the update triggers dropped and
    the counts and stays written set-based) leaves each case's stays, and the counters, as the
    triggers leave them for the same UPDATE of each case: a state changed, a commune moved, an
    account recorded, an edit dated before the open stay began, a change of no fact; and the
    triggers are back as they were."""
    tan_van = commune_by_code(db.session, TAN_VAN)
    later = datetime.now().replace(microsecond=0) + timedelta(minutes=5)
    moves = [  # (the case's state, what the UPDATE sets)
        (S.PAYMENT_METHOD, {"status": "account_opening", "state_entered_at": later, "updated_at": later}),
        (S.ACCOUNT_OPENING, {"status": "paid_by_account", "state_entered_at": later, "updated_at": later,
                             "account_number": "0123456789"}),
        (S.PAYMENT_METHOD, {"commune_id": tan_van.id, "updated_at": later}),
        (S.ACCOUNT_OPENING, {"account_number": "0123456789", "updated_at": later}),
        (S.PAYMENT_METHOD, {"commune_id": tan_van.id, "updated_at": datetime(2020, 1, 1)}),
        (S.PAYMENT_METHOD, {"notes": "không đổi gì", "updated_at": later}),
    ]
    by_triggers = [make_case(state=state) for state, _values in moves]
    in_bulk = [make_case(state=state) for state, _values in moves]
    triggers = _triggers()
    with write_intent():
        for case, (_state, values) in zip(by_triggers, moves):
            db.session.execute(text(f"UPDATE cases SET {', '.join(f'{k} = :{k}' for k in values)} WHERE id = :id"),
                               values | {"id": case.id})
        sink = BulkSink(db.session)
        for case, (_state, values) in zip(in_bulk, moves):
            columns = tuple(values)
            assert sink.update(CASE_TABLE, ("id", "version"), columns,
                               [(case.id, case.version, *values.values())], bump=("version",)) == 1
        assert _triggers() == triggers
        db.session.commit()

    def shape(case_id):
        """The stays, each moment of the case's own walk (the two sets were walked a moment apart)
        by its rank among them; the move's moment and the open end as they are."""
        stays = _stays(case_id)
        own = sorted({t for s in stays for t in (s.valid_from, s.valid_to)} - {later, OPEN_END})
        named = {t: n for n, t in enumerate(own)} | {later: "later", OPEN_END: "open"}
        return [(s.status, s.commune_id, s.has_account, named[s.valid_from], named[s.valid_to]) for s in stays]
    for one, other, (_state, values) in zip(by_triggers, in_bulk, moves):
        assert shape(other.id) == shape(one.id), values
        stays = _stays(other.id)       # chained; the edit dated before its open stay makes one last no time
        assert all(a.valid_from <= a.valid_to == b.valid_from for a, b in zip(stays, stays[1:]))
        assert [s.valid_to for s in stays].count(OPEN_END) == 1
    assert len(_stays(in_bulk[0].id)) == 3 and len(_stays(in_bulk[-1].id)) == 2
    kept = {(c.commune_id, c.status, c.policy_group): c.n for c in db.session.scalars(select(CaseCount)) if c.n}
    recount = {(commune, status.value, group.value): n for commune, status, group, n in db.session.execute(
        select(Case.commune_id, Case.status, Case.policy_group, func.count())
        .group_by(Case.commune_id, Case.status, Case.policy_group))}
    assert kept == recount
    after = make_case(state=S.PAYMENT_METHOD)
    assert _shape(_stays(after.id)) == [("identity_verification", False), ("payment_method", False)]


def test_a_bulk_update_that_fails_leaves_the_triggers_of_cases_in_place(make_case):
    """An ID number taken by another live case refuses the bulk update; the triggers are back, and
    the temporary table of the facts before is gone, whether the caller goes on or rolls back."""
    holder, other = make_case(state=S.PAYMENT_METHOD), make_case(state=S.PAYMENT_METHOD)
    triggers = _triggers()
    with write_intent():
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            BulkSink(db.session).update(CASE_TABLE, ("id", "version"), ("national_id", "status"),
                                        [(other.id, other.version, holder.national_id, "account_opening")],
                                        bump=("version",))
        if db.engine.dialect.name == "sqlite":
            assert _triggers() == triggers
            assert not db.session.execute(text("SELECT name FROM sqlite_temp_master WHERE name IN "
                                               "('bulk_case_facts', 'bulk_update_values')")).all()
        db.session.rollback()
    assert _triggers() == triggers
    assert _shape(_stays(other.id)) == [("identity_verification", False), ("payment_method", False)]
    after = make_case(state=S.PAYMENT_METHOD)
    assert _shape(_stays(after.id)) == [("identity_verification", False), ("payment_method", False)]


def test_a_bulk_update_writes_each_row_its_own_values_and_counts_only_those_written(make_case):
    """Many rows in one call: each case gets its own values; a row whose version is no longer the
    case's is left alone, and an id given twice is written once (by one of its rows: PostgreSQL
    does not say which), so the count returned tells a caller guarding by the version that not
    every row went in."""
    cases = [make_case(state=S.PAYMENT_METHOD) for _ in range(4)]
    stale, repeated = cases[1], cases[2]
    before = {c.id: (c.notes, c.version) for c in cases}
    with write_intent():
        rows = [(c.id, c.version - 1 if c is stale else c.version, f"ghi chú {n}") for n, c in enumerate(cases)]
        rows.append((repeated.id, repeated.version, "lần thứ hai"))
        written = BulkSink(db.session).update(CASE_TABLE, ("id", "version"), ("notes",), rows, bump=("version",))
        db.session.commit()
    assert written == 3
    fresh()
    after = {c.id: (c.notes, c.version) for c in db.session.scalars(select(Case).where(Case.id.in_([c.id for c in cases])))}
    assert after.pop(stale.id) == before[stale.id]
    notes, version = after.pop(repeated.id)
    assert notes in ("ghi chú 2", "lần thứ hai") and version == before[repeated.id][1] + 1
    assert after == {case.id: (f"ghi chú {n}", before[case.id][1] + 1) for n, case in enumerate(cases)
                     if case not in (stale, repeated)}


def _bulk_row(case_id: int, status: str, group: str, account: str | None, entered: datetime) -> tuple:
    """A case in Bình Gia as a bulk writer's row."""
    binh_gia = commune_by_code(db.session, BINH_GIA)
    row = BLANK_CASE | {
        "id": case_id, "status": status, "province_id": binh_gia.province_id, "commune_id": binh_gia.id,
        "full_name": "Nông Văn Dền", "name_folded": "nong van den", "name_given_first": "den nong van",
        "birth_date": "1950-01-01", "sex": "male", "policy_group": group, "monthly_amount": 540_000,
        "category_code": "D5.K5a.1" if group == "btxh" else "PL02.D3.c", "account_number": account,
        "state_entered_at": entered.isoformat(" ", "microseconds"),
        "created_at": entered.isoformat(" ", "microseconds"), "updated_at": entered.isoformat(" ", "microseconds")}
    return tuple(row[c] for c in CASE_COLUMNS)


def _triggers() -> list[tuple]:
    """The triggers on `cases`: (name, definition) on SQLite; (name, timing) on PostgreSQL."""
    if db.engine.dialect.name == "sqlite":
        return db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                       "AND tbl_name = 'cases' ORDER BY name")).all()
    return db.session.execute(text("SELECT tgname, tgtype FROM pg_trigger WHERE tgrelid = 'cases'::regclass "
                                   "AND NOT tgisinternal ORDER BY tgname")).all()


def test_an_empty_account_number_is_no_account(make_case):
    case = make_case(state=S.ACCOUNT_OPENING)
    with write_intent():
        db.session.execute(text("UPDATE cases SET account_number = '' WHERE id = :id"), {"id": case.id})
        db.session.commit()
    assert _stays(case.id)[-1].has_account is False


def _comparable(stays) -> list[tuple]:
    return [(s.case_id, s.status, s.province_id, s.commune_id, s.policy_group, s.has_account) for s in stays]


def test_the_backfill_replays_what_the_triggers_wrote(make_case, people):
    officer, supervisor = people["officer"], people["supervisor"]
    cases = [make_case(state=state, by=officer) for state in (S.PAID_BY_ACCOUNT, S.TERMINATED, S.IDENTITY_VERIFICATION)]
    opening = make_case(state=S.PAYMENT_METHOD, by=officer)
    _fire(officer, opening.id, "choose_account", account_number="")
    _fire(officer, opening.id, "record_account_opened", account_number="9876543210")
    resumed = make_case(state=S.PAID_BY_ACCOUNT, by=officer)
    for trigger in ("suspend", "resume"):
        _fire(officer, resumed.id, trigger)
        _approve(supervisor, resumed.id)
    moved = make_case(state=S.PAID_IN_CASH, by=officer)
    with write_intent():
        mine = db.session.get(Case, moved.id)
        edit_case(db.session, actor_of(officer), officer, mine,
                  {"commune_id": commune_by_code(db.session, TAN_VAN).id}, mine.version, date.today())
        db.session.commit()
    written = _stays()
    assert len(written) == 4 + 2 + 1 + 4 + 6 + 4

    with write_intent():
        db.session.execute(delete(CaseStay))
        with Operations.context(MigrationContext.configure(db.session.connection())):
            _migration()._backfill_stays(batch=2)      # several batches
        db.session.commit()

    replayed = _stays()
    assert _comparable(replayed) == _comparable(written)
    for again, stay in zip(replayed, written):
        # The trigger takes the case's own clock, the replay its audit record's, written just after.
        assert abs(again.valid_from - stay.valid_from) < ONE_SECOND, (stay.case_id, stay.status)
        assert (again.valid_to == OPEN_END) == (stay.valid_to == OPEN_END)
        assert abs(again.valid_to - stay.valid_to) < ONE_SECOND, (stay.case_id, stay.status)
    assert {s.case_id for s in replayed} == {c.id for c in (*cases, opening, resumed, moved)}


# --- The generator: the stays it writes are those its audit trail replays to ---------------------

GENERATED_TODAY = date(2026, 6, 15)


@pytest.fixture
def generated():
    communes = [commune_by_code(db.session, code) for code in (BINH_GIA, TAN_VAN, OTHER_COMMUNE)]
    with write_intent():
        report = generate(db.session, communes, 600, seed=11, today=GENERATED_TODAY, chunk_size=250, workers=0)
        db.session.commit()
    return report


def _replayed_from_the_trail() -> list[tuple]:
    """`_stays_of` over every case, read as the migration reads them."""
    migration = _migration()
    connection = db.session.connection()
    communes = dict(connection.execute(text("SELECT id, province_id FROM communes")).all())
    trail: dict[int, list] = {}
    for record in connection.execute(text(
            "SELECT case_id, occurred_at, action, detail FROM audit_records WHERE case_id IS NOT NULL "
            "ORDER BY case_id, seq")):
        trail.setdefault(record.case_id, []).append(record)
    stays = []
    for case in connection.execute(text(
            "SELECT id, status, commune_id, policy_group, account_number, state_entered_at FROM cases ORDER BY id")):
        stays += migration._stays_of(case, trail.get(case.id, []), communes)
    return sorted((s["case_id"], s["valid_from"], s["status"], s["province_id"], s["commune_id"], s["policy_group"],
                   s["has_account"], s["valid_to"]) for s in stays)


def test_generated_stays_are_what_the_audit_trail_replays(generated):
    written = sorted((s.case_id, s.valid_from, s.status, s.province_id, s.commune_id, s.policy_group,
                      s.has_account, s.valid_to) for s in _stays())
    assert written == _replayed_from_the_trail()
    # The history is there, not only the final state: several stays a case, some split inside a
    # state by an account recorded there, and with that split the open one starts after entering it.
    assert len(written) > 3 * generated.cases
    splits = [(a, b) for a, b in zip(written, written[1:]) if a[0] == b[0] and a[2] == b[2]]
    assert splits and all((a[6], b[6]) == (False, True) for a, b in splits)


def test_generated_stays_chain_without_gap_or_overlap(generated):
    stays = _stays()
    by_case: dict[int, list[CaseStay]] = {}
    for stay in stays:
        by_case.setdefault(stay.case_id, []).append(stay)
    assert len(by_case) == generated.cases
    rows = {row.id: row for row in db.session.execute(select(Case.__table__))}
    late = 0
    for case_id, mine in by_case.items():
        _assert_chained(mine)
        row = rows[case_id]
        assert mine[0].status == "identity_verification" and mine[0].valid_from == row.created_at
        assert (mine[-1].status, mine[-1].has_account) == (row.status, row.account_number is not None)
        assert mine[-1].valid_from >= row.state_entered_at
        late += mine[-1].valid_from > row.state_entered_at
    assert late > 0     # an account recorded after the case entered account opening: its open stay moved


def test_an_earlier_month_counts_every_case_registered_by_then_once(generated):
    """As of a moment half a year back, each case registered by then has exactly one stay."""
    moment = datetime.combine(GENERATED_TODAY - timedelta(days=180), datetime.min.time())
    fresh()
    covering = Counter(db.session.scalars(select(CaseStay.case_id).where(
        CaseStay.valid_from <= moment, CaseStay.valid_to > moment)))
    registered = db.session.scalar(select(func.count()).select_from(Case).where(Case.created_at <= moment))
    assert registered > 0 and len(covering) == registered
    assert set(covering.values()) == {1}
    by_state = Counter(db.session.scalars(select(CaseStay.status).where(
        CaseStay.valid_from <= moment, CaseStay.valid_to > moment, CaseStay.province_id == province_by_code(db.session, LANG_SON).id)))
    assert by_state["paid_by_account"] > 0 and by_state["payment_method"] > 0
