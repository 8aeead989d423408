"""A transition fired on many cases at once (`cases.bulk_transitions.fire_many`) ends exactly where
the one-case path (`cases.actions.fire_transition`) ends: the same columns, the same audit details,
the same refusals with the same messages, the counts table and the chain right."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from cases import bulk_transitions
from cases.actions import fire_transition
from cases.audit import canonical_json, verify_chain
from cases.bulk_transitions import fire_many
from cases.errors import DomainError
from cases.models import AuditRecord, Case, CaseCount, Sex
from cases.roles import Role
from cases.search import fold_name
from extensions import db, write_intent
from tests.conftest import SYSTEM, TAN_VAN, national_id_for
from tests.helpers import audit_records, case_row, last_seq
from tests.paths import payload_for
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

# Written at the moment of the write: they differ between two runs of the same change.
MOMENTS = {"updated_at", "state_entered_at"}
STAGED = "ansinh_audit_pending"


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, full_name="Nông Văn Xã")


def rows_of(ids) -> dict[int, dict]:
    db.session.expire_all()
    found = db.session.execute(select(Case.__table__).where(Case.id.in_(ids))).mappings()
    return {r["id"]: {k: v for k, v in r.items() if k not in MOMENTS} for r in found}


def one_by_one(officer, trigger: str, payloads: dict[int, dict]) -> tuple[dict, dict]:
    """(rows, {case id: audit detail as written}) after `fire_transition` on each case; rolled back."""
    with write_intent():
        # Loaded first: an expired user read in the middle of `fire_transition` autoflushes the
        # half-written case and spends a second version on it.
        assert officer.id
        for case_id, payload in payloads.items():
            fire_transition(db.session, SYSTEM, officer, db.session.get(Case, case_id), TRANSITIONS[trigger], payload)
        db.session.flush()
        details = {item.case.id: canonical_json(item.detail) for item in db.session.info[STAGED]}
        rows = rows_of(payloads)
        db.session.rollback()
    return rows, details


def in_bulk(officer, trigger: str, payloads: dict[int, dict], **kwargs):
    """The outcomes of `fire_many`, committed."""
    with write_intent():
        outcomes = fire_many(db.session, SYSTEM, officer, trigger, payloads, **kwargs)
        db.session.commit()
    return outcomes


def written_details(case_ids) -> dict[int, str]:
    db.session.expire_all()
    return {r.case_id: r.detail for r in db.session.execute(
        select(AuditRecord.case_id, AuditRecord.detail)
        .where(AuditRecord.case_id.in_(case_ids), AuditRecord.action == "case.transition",
               AuditRecord.detail.contains('"trigger":"'))
        .order_by(AuditRecord.seq))}


def counts_are_right() -> bool:
    db.session.expire_all()
    kept = {(c.commune_id, c.status, c.policy_group): c.n for c in db.session.scalars(select(CaseCount)) if c.n}
    actual = {(r.commune_id, r.status.value, r.policy_group.value): r.n for r in db.session.execute(
        select(Case.commune_id, Case.status, Case.policy_group, func.count().label("n"))
        .group_by(Case.commune_id, Case.status, Case.policy_group))}
    return kept == actual


def make_verifiable(make_case, n: int, **fields):
    born, sex = fields.pop("birth_date", date(1950, 3, 2)), fields.pop("sex", Sex.MALE)
    return [make_case(birth_date=born, sex=sex, national_id=national_id_for(born, sex), **fields) for _ in range(n)]


# --- the same end as one by one --------------------------------------------------------------

def identity_payloads(cases) -> dict[int, dict]:
    """A plain match, a corrected name, a corrected birth date (same year), a corrected sex
    (with the number the police give for a woman), each as the police list sends it."""
    today = date.today().isoformat()
    plain = {"source": "police_list", "verified_on": today}
    first, second, third, fourth = cases
    woman = national_id_for(date(1950, 3, 2), Sex.FEMALE)
    return {
        first.id: plain | {"national_id": first.national_id},
        second.id: plain | {"national_id": second.national_id, "full_name": "Hoàng Thị Thu Hà"},
        third.id: plain | {"national_id": third.national_id, "birth_date": "1950-11-30"},
        fourth.id: plain | {"national_id": woman, "sex": "female", "id_correction": True,
                            "correction_reason": "Công an xác nhận giới tính nữ"},
    }


def test_verifying_identities_in_bulk_ends_as_one_by_one(make_case, officer):
    cases = make_verifiable(make_case, 4)
    payloads = identity_payloads(cases)

    rows, details = one_by_one(officer, "verify_identity", payloads)
    outcomes = in_bulk(officer, "verify_identity", payloads, expected_state=S.IDENTITY_VERIFICATION)

    assert all(o.done for o in outcomes.values()), outcomes
    assert rows_of(payloads) == rows
    assert written_details(payloads) == details
    after = rows_of(payloads)
    assert {after[c.id]["status"] for c in cases} == {S.PAYMENT_METHOD}
    renamed = after[cases[1].id]
    assert (renamed["full_name"], renamed["name_folded"], renamed["name_given_first"]) == (
        "Hoàng Thị Thu Hà", "hoang thi thu ha", "ha hoang thi thu")
    assert after[cases[2].id]["birth_date"] == date(1950, 11, 30)
    assert outcomes[cases[1].id].changes["full_name"] == ["Hoàng Văn Thụ", "Hoàng Thị Thu Hà"]
    assert '"id_correction":{"reason":"Công an xác nhận giới tính nữ"}' in written_details([cases[3].id])[cases[3].id]
    assert counts_are_right()
    assert verify_chain(db.session).ok


@pytest.mark.parametrize("state, trigger", [
    (S.IDENTITY_VERIFICATION, "record_identity_problem"),
    (S.PAYMENT_METHOD, "choose_account"),
    (S.ACCOUNT_OPENING, "record_account_opened"),
    (S.ACCOUNT_OPENING, "confirm_account_payment"),
    (S.PAID_BY_ACCOUNT, "report_payment_failure"),
    (S.PAID_IN_CASH, "switch_to_account"),
])
def test_every_transition_without_approval_ends_as_one_by_one(make_case, officer, state, trigger):
    cases = [make_case(state=state, commune=commune) for commune in ("06112", "06112", TAN_VAN)]
    payloads = {c.id: payload_for(db.session, c, trigger) for c in cases}

    rows, details = one_by_one(officer, trigger, payloads)
    outcomes = in_bulk(officer, trigger, payloads)

    assert [o.done for o in outcomes.values()] == [True] * 3
    assert rows_of(payloads) == rows
    assert written_details(payloads) == details
    assert counts_are_right()
    assert verify_chain(db.session).ok


# --- refusals ----------------------------------------------------------------------------------

def refusal_of_one(officer, case_id: int, trigger: str, payload: dict) -> str:
    with write_intent(), pytest.raises(DomainError) as refused:
        fire_transition(db.session, SYSTEM, officer, db.session.get(Case, case_id), TRANSITIONS[trigger], payload)
    db.session.rollback()
    return refused.value.message


def test_a_refused_row_is_left_untouched_with_the_one_case_message_while_the_others_move(make_case, officer):
    good, future, too_young = make_verifiable(make_case, 3)
    wrong_state = make_case(state=S.PAYMENT_METHOD)
    today = date.today().isoformat()
    match = {"source": "police_list", "verified_on": today}
    payloads = {
        good.id: match | {"national_id": good.national_id},
        future.id: match | {"national_id": future.national_id,
                            "verified_on": (date.today() + timedelta(days=3)).isoformat()},
        # The category (the very old) no longer fits a man born in 1990: the rule of the case page.
        too_young.id: match | {"national_id": too_young.national_id, "birth_date": "1990-03-02"},
        wrong_state.id: match | {"national_id": "020050000999"},
    }
    refused = (future.id, too_young.id, wrong_state.id)
    before = {case_id: case_row(case_id) for case_id in refused}
    expected = {case_id: refusal_of_one(officer, case_id, "verify_identity", payloads[case_id]) for case_id in refused}
    since = last_seq()

    outcomes = in_bulk(officer, "verify_identity", payloads)

    assert outcomes[good.id].done and case_row(good.id)["status"] is S.PAYMENT_METHOD
    for case_id, message in expected.items():
        assert (outcomes[case_id].done, outcomes[case_id].message) == (False, message)
        assert case_row(case_id) == before[case_id]
    assert outcomes[future.id].message == "Ngày xác thực không được sau ngày hôm nay."
    assert outcomes[too_young.id].message.startswith("Diện «")
    assert [(r.action, r.case_id) for r in audit_records(since)] == [("case.transition", good.id)]
    assert counts_are_right()


def test_a_case_no_longer_in_the_expected_state_is_refused(make_case, officer):
    case = make_case(state=S.PAYMENT_METHOD)
    outcomes = in_bulk(officer, "choose_account", {case.id: payload_for(db.session, case, "choose_account")},
                       expected_state=S.IDENTITY_VERIFICATION)
    assert outcomes[case.id] == bulk_transitions.Outcome(
        False, "Không thể «Đăng ký nhận qua tài khoản» từ trạng thái «Chờ đăng ký phương thức chi trả».")
    assert case_row(case.id)["status"] is S.PAYMENT_METHOD


def test_replacing_a_recorded_account_is_refused_as_on_the_case_page(make_case, officer):
    case = make_case(state=S.ACCOUNT_OPENING)   # chose account 1234567890
    payload = payload_for(db.session, case, "record_account_opened") | {"account_number": "1111222233"}
    expected = refusal_of_one(officer, case.id, "record_account_opened", payload)

    outcomes = in_bulk(officer, "record_account_opened", {case.id: payload})

    assert "không được thay số tài khoản" in expected
    assert outcomes[case.id] == bulk_transitions.Outcome(False, expected)
    assert case_row(case.id)["account_number"] == "1234567890"


def test_two_rows_correcting_to_the_same_number_keep_the_second_back(make_case, officer):
    first, second = make_verifiable(make_case, 2)
    number = national_id_for(date(1950, 3, 2), Sex.MALE)
    correction = {"source": "police_list", "verified_on": date.today().isoformat(), "national_id": number,
                  "id_correction": True, "correction_reason": "Số trong hồ sơ bị ghi sai"}

    outcomes = in_bulk(officer, "verify_identity", {first.id: correction, second.id: correction})

    assert outcomes[first.id].done and case_row(first.id)["national_id"] == number
    assert outcomes[second.id] == bulk_transitions.Outcome(
        False, "Số CCCD này vừa được ghi cho một hồ sơ khác; hãy kiểm tra lại số CCCD.")
    assert case_row(second.id)["status"] is S.IDENTITY_VERIFICATION


def test_an_unknown_case_is_reported_not_found(officer):
    outcomes = in_bulk(officer, "verify_identity", {999_999: {"national_id": "020050000123"}})
    assert outcomes == {999_999: bulk_transitions.Outcome(False, "Không tìm thấy hồ sơ.")}


@pytest.mark.parametrize("trigger", ["choose_cash", "suspend", "terminate", "change_account"])
def test_a_transition_that_needs_approval_is_never_fired_in_bulk(make_case, officer, trigger):
    case = make_case(state=S.PAYMENT_METHOD)
    with write_intent(), pytest.raises(DomainError, match="cần lãnh đạo phê duyệt"):
        fire_many(db.session, SYSTEM, officer, trigger, {case.id: payload_for(db.session, case, trigger)})
    db.session.rollback()
    assert case_row(case.id)["status"] is S.PAYMENT_METHOD


def test_a_case_changed_after_it_was_read_fails_the_whole_batch(make_case, officer, monkeypatch):
    cases = make_verifiable(make_case, 3)
    read = bulk_transitions._read

    def read_then_someone_writes(session, case_ids):
        rows = list(read(session, case_ids))
        session.execute(update(Case).where(Case.id == case_ids[1]).values(version=Case.version + 1)
                        .execution_options(synchronize_session=False))
        return rows
    monkeypatch.setattr(bulk_transitions, "_read", read_then_someone_writes)
    today = date.today().isoformat()

    with write_intent(), pytest.raises(StaleDataError):
        fire_many(db.session, SYSTEM, officer, "verify_identity",
                  {c.id: {"national_id": c.national_id, "source": "police_list", "verified_on": today} for c in cases})
    db.session.rollback()
    assert {case_row(c.id)["status"] for c in cases} == {S.IDENTITY_VERIFICATION}


def test_a_loaded_case_is_read_afresh_after_the_bulk_write(make_case, officer):
    case = make_verifiable(make_case, 1)[0]
    loaded = db.session.get(Case, case.id)
    in_bulk(officer, "verify_identity", {case.id: {"national_id": case.national_id, "source": "police_list",
                                                   "verified_on": date.today().isoformat(),
                                                   "full_name": "Lương Thị Hoa"}})
    assert (loaded.status, loaded.version, loaded.name_folded) == (S.PAYMENT_METHOD, 2, fold_name("Lương Thị Hoa"))
