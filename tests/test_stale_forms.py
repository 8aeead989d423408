"""Two people open the same case's form; the first to save wins, the second is told who changed
it and when, keeps what they typed on screen, and overwrites nothing (a 409)."""
from __future__ import annotations

import pytest

from cases.changes import to_local
from cases.roles import Role
from tests.helpers import audit_records, case_row, last_seq, open_form, text_of, transition_form
from workflow.states import CaseState as S

FIRST_NAME = "Nguyễn Thị Hằng"


@pytest.fixture
def two_officers(make_user, make_client):
    first = make_user(Role.OFFICER, full_name=FIRST_NAME)
    second = make_user(Role.OFFICER, full_name="Lăng Văn Khoa")
    return make_client(first), make_client(second), first


def conflict_message(case_id: int) -> str:
    row = case_row(case_id)
    when = to_local(row["updated_at"]).strftime("%H:%M ngày %d/%m/%Y")
    return (f"Hồ sơ này vừa được {FIRST_NAME} thay đổi lúc {when}. Vui lòng tải lại trang để xem dữ liệu "
            "mới nhất; thay đổi của bạn chưa được lưu.")


def test_second_save_of_the_edit_form_is_a_conflict(two_officers, make_case):
    first, second, first_user = two_officers
    case = make_case(full_name="Hoàng Văn Thụ", phone="0912345678")
    version, url = case.version, f"/cases/{case.id}/edit"
    first_form, second_form = open_form(first, url), open_form(second, url)
    seq = last_seq()

    saved = first.post(url, data=first_form | {"phone": "0987654321"})
    refused = second.post(url, data=second_form | {"full_name": "Hoàng Văn Thụ (sửa)",
                                                   "notes": "Đã gặp trực tiếp tại nhà văn hoá thôn"})

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = text_of(refused)
    assert conflict_message(case.id) in page
    assert 'value="Hoàng Văn Thụ (sửa)"' in page
    assert "Đã gặp trực tiếp tại nhà văn hoá thôn</textarea>" in page
    assert 'value="0912345678"' in page             # the second user's screen, not silently refreshed
    row = case_row(case.id)
    assert (row["full_name"], row["phone"], row["notes"]) == ("Hoàng Văn Thụ", "0987654321", None)
    assert (row["version"], row["updated_by_id"]) == (version + 1, first_user.id)
    records = audit_records(seq)
    assert [(r.action, r.actor_username) for r in records] == [("case.edit", first_user.username)]
    assert records[0].detail == '{"changes":{"phone":["0912345678","0987654321"]}}'


@pytest.mark.parametrize("trigger, first_typed, second_typed, second_sees, moved_to", [
    ("verify_identity", {"national_id": "020050000301"}, {"national_id": "020050000302"},
     'value="020050000302"', S.PAYMENT_METHOD),
    ("record_identity_problem", {"problem": "no_id_card", "follow_up_on": "2025-08-04"},
     {"problem": "not_found", "follow_up_on": "2025-09-15"},
     'value="2025-09-15"', S.IDENTITY_VERIFICATION),
])
def test_second_submit_of_a_transition_form_is_a_conflict(trigger, first_typed, second_typed, second_sees,
                                                          moved_to, two_officers, make_case):
    first, second, first_user = two_officers
    case = make_case(state=S.IDENTITY_VERIFICATION)
    version, url = case.version, f"/cases/{case.id}/actions/{trigger}"
    first_form, second_form = open_form(first, url), open_form(second, url)
    first_data = transition_form(case, trigger, **first_typed)
    second_data = transition_form(case, trigger, **second_typed)
    seq = last_seq()

    saved = first.post(url, data=first_form | first_data)
    refused = second.post(url, data=second_form | second_data)

    assert saved.status_code == 302
    assert refused.status_code == 409
    page = text_of(refused)
    assert conflict_message(case.id) in page
    assert second_sees in page
    row = case_row(case.id)
    assert row["status"] is moved_to and row["version"] == version + 1
    for field, value in first_typed.items():
        column = {"problem": "identity_problem", "follow_up_on": "identity_follow_up_on"}.get(field, field)
        assert str(row[column]) == value
    records = audit_records(seq)
    assert [(r.action, r.actor_username) for r in records] == [("case.transition", first_user.username)]


def test_an_edit_form_opened_before_a_transition_is_a_conflict(two_officers, make_case):
    first, second, _ = two_officers
    case = make_case(state=S.IDENTITY_VERIFICATION, full_name="Hoàng Văn Thụ")
    edit_url, verify_url = f"/cases/{case.id}/edit", f"/cases/{case.id}/actions/verify_identity"
    second_form = open_form(second, edit_url)
    first_form = open_form(first, verify_url)

    assert first.post(verify_url, data=first_form | transition_form(case, "verify_identity")).status_code == 302
    refused = second.post(edit_url, data=second_form | {"full_name": "Hoàng Văn Thụ Hai"})

    assert refused.status_code == 409
    assert conflict_message(case.id) in text_of(refused)
    row = case_row(case.id)
    assert (row["full_name"], row["status"]) == ("Hoàng Văn Thụ", S.PAYMENT_METHOD)


def test_after_reloading_the_second_user_can_save(two_officers, make_case):
    first, second, _ = two_officers
    case = make_case(full_name="Hoàng Văn Thụ")
    version, url = case.version, f"/cases/{case.id}/edit"
    first_form, stale_form = open_form(first, url), open_form(second, url)
    assert first.post(url, data=first_form | {"phone": "0987654321"}).status_code == 302
    assert second.post(url, data=stale_form | {"full_name": "Hoàng Văn Thụ Hai"}).status_code == 409

    saved = second.post(url, data=open_form(second, url) | {"full_name": "Hoàng Văn Thụ Hai"})

    assert saved.status_code == 302
    row = case_row(case.id)
    assert (row["full_name"], row["phone"], row["version"]) == ("Hoàng Văn Thụ Hai", "0987654321", version + 2)


# --- what a transition writes, and the version guard under it ---------------------------------------

def test_the_engine_writes_exactly_the_changed_columns_and_moves_the_version(make_user, make_case):
    from datetime import date

    from cases.actions import fire_transition
    from cases.users import actor_of
    from extensions import db, write_intent
    from tests.paths import payload_for
    from workflow.table import TRANSITIONS

    officer = make_user(Role.OFFICER)
    case = make_case(state=S.PAYMENT_METHOD)
    before = case_row(case.id)
    with write_intent():
        from cases.models import Case
        case = db.session.get(Case, case.id)
        fire_transition(db.session, actor_of(officer), officer, case, TRANSITIONS["choose_account"],
                        payload_for(db.session, case, "choose_account"))
        assert not db.session.dirty  # written already: the commit has nothing left to flush
        db.session.commit()
    after = case_row(case.id)
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {"status", "version", "state_entered_at", "payment_method", "account_holder",
                       "account_holder_name", "account_holder_national_id", "provider_id", "account_number",
                       "consent_date", "updated_at", "updated_by_id"}
    assert after["version"] == before["version"] + 1 and after["status"] == S.ACCOUNT_OPENING
    assert after["consent_date"] == date.today() and after["updated_by_id"] == officer.id


@pytest.mark.postgresql
def test_a_case_changed_after_it_was_read_is_not_overwritten(app, make_user, make_case):
    """Two writers read version v; the second one's UPDATE finds v gone and writes nothing."""
    from datetime import date

    from sqlalchemy.orm.exc import StaleDataError

    from cases.actions import fire_transition
    from cases.models import Case
    from cases.registration import edit_case
    from cases.users import actor_of
    from extensions import db
    from tests.paths import payload_for
    from workflow.table import TRANSITIONS

    officer = make_user(Role.OFFICER)
    case_id = make_case(state=S.IDENTITY_VERIFICATION).id
    db.session.rollback()
    late = db.session.get(Case, case_id)  # read now, written after the other writer commits
    payload = payload_for(db.session, late, "verify_identity")
    with app.app_context():
        other = db.session.get(Case, case_id)
        edit_case(db.session, actor_of(officer), officer, other, {"notes": "Sửa trước"}, other.version, date.today())
        db.session.commit()
    with pytest.raises(StaleDataError):
        fire_transition(db.session, actor_of(officer), officer, late, TRANSITIONS["verify_identity"], payload)
    db.session.rollback()
    row = case_row(case_id)
    assert row["notes"] == "Sửa trước" and row["status"] == S.IDENTITY_VERIFICATION


@pytest.mark.parametrize("version", [None, "", "abc", "1e30", "-1", "99999999999999999999"],
                         ids=["left out", "empty", "letters", "float", "negative", "huge"])
@pytest.mark.parametrize("form", ["edit", "transition"])
def test_a_form_without_a_sound_version_is_refused_as_a_stale_one(form, version, two_officers, make_case):
    """Leaving the version out (or garbling it) must not land the form on top of another user's
    change: it is refused exactly as a stale form is, and nothing is written."""
    first, second, _ = two_officers
    case = make_case(state=S.IDENTITY_VERIFICATION, full_name="Hoàng Văn Thụ")
    if form == "edit":
        url, typed = f"/cases/{case.id}/edit", {"full_name": "Tên bị ghi đè"}
    else:
        url, typed = f"/cases/{case.id}/actions/verify_identity", transition_form(case, "verify_identity")
    data = open_form(second, url) | typed
    data.pop("version", None)
    if version is not None:
        data["version"] = version
    assert first.post(f"/cases/{case.id}/edit", data=open_form(first, f"/cases/{case.id}/edit")
                      | {"phone": "0987654321"}).status_code == 302
    before, seq = case_row(case.id), last_seq()

    refused = second.post(url, data=data)

    assert refused.status_code == 409
    assert conflict_message(case.id) in text_of(refused)
    assert case_row(case.id) == before
    assert [r.action for r in audit_records(seq)] == []
