"""The identity round trip with the police (issue 16, item 4): the list of a commune's cases awaiting
verification goes out; the police's answer, built from it, comes back and is previewed, then
imported — matches verified (corrections recorded), no-matches recorded as problems with a
follow-up date, everything else listed to resolve by hand — and importing it again changes nothing."""
from __future__ import annotations

import json
from datetime import date, datetime
from io import BytesIO

import pytest
from flask_babel import force_locale, lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from cases import bulk_transitions
from cases.audit import verify_chain
from cases.calendar import working_calendar
from cases.changes import local_today, utcnow
from cases.errors import DomainError, NotPermitted
from cases.lists.kinds import Scope
from cases.lists.police import POLICE_RESULTS
from cases.lists.police_export import police_list_workbook
from cases.models import Case, Commune, Sex, Village
from cases.models.case import IdentitySource
from cases.models.lists import ListJob, ListJobState, ListKind
from cases.organisation import commune_by_code
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, TAN_VAN, national_id_for
from tests.helpers import audit_records, case_row, last_seq
from workflow.states import CaseState as S

FORMULA = '=HYPERLINK("http://x.invalid","bấm vào")'
ID_COLUMN, RESULT_COLUMN = 6, 8          # 1-based, as the export writes them


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, communes=(BINH_GIA,), full_name="Nông Văn Xã")


def person_case(make_case, name: str, born: date, sex: Sex = Sex.MALE, commune: str = BINH_GIA, prefix="020", **fields):
    return make_case(full_name=name, birth_date=born, sex=sex, commune=commune,
                     national_id=national_id_for(born, sex, prefix), **fields)


@pytest.fixture
def world(make_case, officer):
    """Bình Gia's cases awaiting verification, and others the answer may name."""
    village = db.session.scalar(select(Village.id).join(Commune).where(
        Commune.code == BINH_GIA, Village.name == "Thôn Pò Cại"))
    cases = {
        "match": person_case(make_case, "Hoàng Văn Thụ", date(1950, 3, 2), village_id=village),
        "renamed": person_case(make_case, "Lường Văn Tâm", date(1948, 6, 1)),
        "redated": person_case(make_case, "Nông Thị Hoa", date(1951, 5, 4), Sex.FEMALE),
        "no_match_noted": person_case(make_case, "Triệu Văn Sinh", date(1949, 1, 9)),
        "no_match": person_case(make_case, "Lý Văn Phúc", date(1952, 2, 2)),
        "formula": person_case(make_case, "Tạm Tên", date(1953, 7, 7)),
        "no_number": make_case(full_name="Lò Thị Không Số", birth_date=date(1954, 4, 4), sex=Sex.FEMALE),
        "moved_on": person_case(make_case, "Vi Văn Đã", date(1950, 8, 8), state=S.PAYMENT_METHOD),
        "other_commune": person_case(make_case, "Hà Văn Tân", date(1950, 9, 9), commune=TAN_VAN),
        "other_province": person_case(make_case, "Đỗ Văn Hà", date(1950, 10, 10), commune=OTHER_COMMUNE, prefix="001"),
    }
    with write_intent():   # a name no form would take: written around the ORM, as a bad import might
        db.session.execute(update(Case).where(Case.id == cases["formula"].id).values(full_name=FORMULA))
        db.session.commit()
    return cases


def scope_of(user, commune: str | None = BINH_GIA) -> Scope:
    commune_id = commune_by_code(db.session, commune).id if commune else None
    return Scope(user=user, actor=actor_of(user), province_id=province_id(), commune_id=commune_id,
                 today=local_today())


def province_id() -> int:
    return commune_by_code(db.session, BINH_GIA).province_id


def export(user, commune: str | None = BINH_GIA) -> tuple[bytes, int]:
    with write_intent():
        data, n = police_list_workbook(db.session, actor_of(user), user,
                                       commune_by_code(db.session, commune).id if commune else None,
                                       province_id(), date(2026, 12, 1))
        db.session.commit()
    return data, n


def sheet_rows(data: bytes) -> list[tuple]:
    return [tuple(c.value for c in row) for row in load_workbook(BytesIO(data)).active.iter_rows()]


def answer(data: bytes, replies: dict[str, tuple], extra: list[tuple] = ()) -> bytes:
    """The police's answer: the exported workbook with their columns filled for the numbers in
    `replies` ({ID number: (result, corrected name, corrected birth date, corrected sex, note)}),
    and `extra` rows added under it."""
    book = load_workbook(BytesIO(data))
    sheet = book.active
    for row in sheet.iter_rows():
        reply = replies.get(row[ID_COLUMN - 1].value)
        if reply:
            for offset, value in enumerate(reply):
                row[RESULT_COLUMN - 1 + offset].value = value
    for values in extra:
        sheet.append(values)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def preview(user, data: bytes, commune: str | None = BINH_GIA):
    found = POLICE_RESULTS.preview(db.session, scope_of(user, commune), data, "ket-qua-cong-an.xlsx",
                                   lambda done, total: None)
    db.session.rollback()    # as the worker does: the preview writes nothing
    return found


def apply(user, data: bytes, commune: str | None = BINH_GIA) -> dict:
    counts: dict[str, int] = {}

    def checkpoint(done: int, chunk: dict) -> None:
        for key, n in chunk.items():
            counts[key] = counts.get(key, 0) + n
        db.session.commit()
    with write_intent():
        POLICE_RESULTS.apply(db.session, scope_of(user, commune), data, "ket-qua-cong-an.xlsx", 0, checkpoint)
        db.session.commit()
    return counts


def the_answer(world, exported: bytes) -> bytes:
    c = world
    return answer(exported, {
        c["match"].national_id: ("Khớp",),
        c["renamed"].national_id: ("Khớp", "Lương Văn Tâm"),
        c["redated"].national_id: ("khop", None, "15/08/1951"),
        c["no_match_noted"].national_id: ("Không khớp", None, None, None, "Sai năm sinh, đề nghị kiểm tra lại"),
        c["no_match"].national_id: ("Không có trong CSDL",),
        c["formula"].national_id: ("Trùng khớp",),
    }, extra=[
        (None, None, "Người Lạ", None, None, "020050999999", None, "Khớp"),                    # no such number
        (None, None, "Hà Văn Tân", None, None, c["other_commune"].national_id, None, "Khớp"),   # not this commune
        (None, None, "Đỗ Văn Hà", None, None, c["other_province"].national_id, None, "Khớp"),   # another province
        (None, None, "Không Ghi Số", None, None, None, None, "Khớp"),                           # no number
    ])


# --- out ----------------------------------------------------------------------------------------

def test_the_list_for_the_police_holds_the_communes_cases_awaiting_verification(world, officer):
    since = last_seq()
    data, n = export(officer)

    rows = sheet_rows(data)
    assert rows[0][0] == "Xã Bình Gia, Tỉnh Lạng Sơn"
    assert rows[1][0] == "DANH SÁCH ĐỀ NGHỊ XÁC THỰC THÔNG TIN CÔNG DÂN"
    assert rows[2][0].startswith("Ngày lập: 01/12/2026")
    header = rows.index(next(r for r in rows if r[0] == "STT"))
    assert rows[header] == ("STT", "Mã hồ sơ", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Địa chỉ",
                            "Kết quả (Khớp / Không khớp)", "Họ tên đúng", "Ngày sinh đúng", "Giới tính đúng",
                            "Ghi chú")
    data_rows = rows[header + 1:]
    awaiting = ("match", "renamed", "redated", "no_match_noted", "no_match", "formula", "no_number")
    assert n == len(data_rows) == 7
    assert {r[1] for r in data_rows} == {world[k].id for k in awaiting}
    assert [r[0] for r in data_rows] == list(range(1, 8))
    match = next(r for r in data_rows if r[1] == world["match"].id)
    assert match[2:8] == ("Hoàng Văn Thụ", datetime(1950, 3, 2), "Nam", world["match"].national_id,
                          "Thôn Pò Cại, Xã Bình Gia, Tỉnh Lạng Sơn", None)
    assert next(r for r in data_rows if r[1] == world["no_number"].id)[4:6] == ("Nữ", None)

    (record,) = [r for r in audit_records(since) if r.action == "police_list.export"]
    detail = json.loads(record.detail)
    assert (record.actor_id, detail["unit"], detail["count"]) == (officer.id, BINH_GIA, 7)
    assert sorted(detail["case_ids"]) == sorted(world[k].id for k in awaiting)


def test_the_list_is_in_vietnamese_for_an_officer_reading_english(world, officer):
    with force_locale("en"):
        assert str(_l("Họ và tên")) != "Họ và tên"      # the catalogue does translate it
        data, _ = export(officer)
    assert "Họ và tên" in next(r for r in sheet_rows(data) if r[0] == "STT")


def test_no_cell_of_the_export_is_a_formula_from_user_data(world, officer):
    data, _ = export(officer)
    sheet = load_workbook(BytesIO(data)).active
    (cell,) = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA]
    assert cell.data_type == "s"


def test_a_province_list_takes_every_commune_and_a_commune_outside_scope_is_refused(world, officer, make_user):
    supervisor = make_user(Role.SUPERVISOR, province=LANG_SON)
    data, n = export(supervisor, None)
    assert n == 8 and sheet_rows(data)[0][0] == "Tỉnh Lạng Sơn"
    with pytest.raises(DomainError):
        export(officer, TAN_VAN)
    with pytest.raises(DomainError):
        export(officer, None)
    with pytest.raises(NotPermitted):
        export(make_user(Role.AUDITOR, province=LANG_SON), None)


# --- in -----------------------------------------------------------------------------------------

def test_the_police_answer_is_previewed_then_imported_and_a_second_import_changes_nothing(world, officer):
    c = world
    data = the_answer(world, export(officer)[0])
    today = local_today()
    follow_up = working_calendar(db.session).add_working_days(today, 10)

    found = preview(officer, data)

    assert found.total == 11
    assert found.counts == {"verified": 2, "corrected": 2, "problem": 2, "already": 0, "unmatched": 3,
                            "rejected": 2}
    held = {r.name: r.reasons for r in found.rejected}
    assert set(held) == {"Người Lạ", "Hà Văn Tân", "Đỗ Văn Hà", "Không Ghi Số", "Lò Thị Không Số"}
    assert held["Không Ghi Số"] == ("Thiếu số CCCD.",)
    assert held["Lò Thị Không Số"] == ("Thiếu số CCCD.", "Thiếu kết quả đối chiếu (Khớp / Không khớp).")
    assert "Không tìm thấy hồ sơ chờ xác thực" in held["Đỗ Văn Hà"][0]
    returned = sheet_rows(found.rejected_workbook)    # the rows to resolve by hand, each with its reason
    assert returned[0][-1] == "Lý do chưa nhập được"
    stranger = next(r for r in returned if "Người Lạ" in r)
    assert stranger[-1].startswith("Không tìm thấy hồ sơ chờ xác thực") and "020050999999" in stranger
    assert case_row(c["match"].id)["status"] is S.IDENTITY_VERIFICATION       # the preview wrote nothing
    since = last_seq()

    counts = apply(officer, data)

    assert counts == found.counts
    for key in ("match", "renamed", "redated", "formula"):
        row = case_row(c[key].id)
        assert (row["status"], row["identity_source"], row["identity_verified_on"]) == (
            S.PAYMENT_METHOD, IdentitySource.POLICE_LIST, today)
    assert case_row(c["renamed"].id)["full_name"] == "Lương Văn Tâm"
    assert case_row(c["renamed"].id)["name_folded"] == "luong van tam"
    assert case_row(c["redated"].id)["birth_date"] == date(1951, 8, 15)
    noted, plain = case_row(c["no_match_noted"].id), case_row(c["no_match"].id)
    assert (noted["status"], noted["identity_problem"], noted["identity_follow_up_on"]) == (
        S.IDENTITY_VERIFICATION, "Sai năm sinh, đề nghị kiểm tra lại", follow_up)
    assert plain["identity_problem"] == "Công an trả lời: không khớp với CSDL quốc gia về dân cư"
    for key in ("other_commune", "other_province", "no_number", "moved_on"):
        assert case_row(c[key].id)["version"] == c[key].version    # untouched
    records = {r.case_id: json.loads(r.detail) for r in audit_records(since) if r.action == "case.transition"}
    assert set(records) == {c[k].id for k in ("match", "renamed", "redated", "formula", "no_match_noted", "no_match")}
    assert records[c["match"].id]["data"]["source"] == "police_list"
    assert records[c["match"].id]["trigger"] == "verify_identity"
    assert records[c["renamed"].id]["changes"]["full_name"] == ["Lường Văn Tâm", "Lương Văn Tâm"]
    assert records[c["redated"].id]["changes"]["birth_date"] == ["1951-05-04", "1951-08-15"]
    assert records[c["no_match"].id]["trigger"] == "record_identity_problem"
    assert records[c["no_match"].id]["data"]["follow_up_on"] == follow_up.isoformat()
    assert verify_chain(db.session).ok

    # The same file again: everything is already done or still waits for a person.
    again = preview(officer, data)
    assert again.counts == {"verified": 0, "corrected": 0, "problem": 0, "already": 6, "unmatched": 3,
                            "rejected": 2}
    since = last_seq()
    assert apply(officer, data) == again.counts
    assert audit_records(since) == []


def test_a_province_import_reaches_every_commune_of_the_province(world, make_user):
    supervisor = make_user(Role.SUPERVISOR, province=LANG_SON)
    data = the_answer(world, export(supervisor, None)[0])
    found = preview(supervisor, data, None)
    assert found.counts["unmatched"] == 2 and found.counts["verified"] == 3     # Hà Văn Tân is theirs
    apply(supervisor, data, None)
    assert case_row(world["other_commune"].id)["status"] is S.PAYMENT_METHOD


def workbook(header: list, rows: list[tuple]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["KẾT QUẢ XÁC MINH THÔNG TIN CÔNG DÂN"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("said, outcome", [
    ("Khớp", "verified"), ("khop", "verified"), ("Đúng", "verified"), ("Trùng khớp", "verified"),
    ("KHỚP", "verified"), ("Không khớp", "problem"), ("Sai", "problem"), ("Không có trong CSDL", "problem"),
    ("khong dung", "problem"), ("???", "rejected"), (None, "rejected"),
])
def test_the_result_is_read_generously(make_case, officer, said, outcome):
    case = person_case(make_case, "Hoàng Văn Thụ", date(1950, 3, 2))
    data = workbook(["Số CCCD", "Kết quả"], [(case.national_id, said)])
    found = preview(officer, data)
    assert found.counts[outcome] == 1, found.rejected


def test_ticks_under_match_and_no_match_columns_and_numbers_that_lost_their_zeros(make_case, officer):
    case = person_case(make_case, "Hoàng Văn Thụ", date(1950, 3, 2))
    other = person_case(make_case, "Lý Văn Phúc", date(1952, 2, 2))
    unsure = person_case(make_case, "Lò Văn Chưa", date(1953, 3, 3))
    # A number cell: Excel dropped the leading zero of 020...; the reader pads it back.
    data = workbook(["Số CCCD", "Khớp", "Không khớp"], [(int(case.national_id), "x", None),
                                                         (other.national_id, None, "x"),
                                                         (unsure.national_id, None, None)])
    found = preview(officer, data)
    assert (found.counts["verified"], found.counts["problem"], found.counts["rejected"]) == (1, 1, 1)


def test_a_corrected_birth_date_the_case_cannot_take_is_refused_in_the_preview_with_the_case_pages_reason(
        make_case, officer):
    case = person_case(make_case, "Hoàng Văn Thụ", date(1950, 3, 2))
    # Born in 1990, the number's year digits (40) no longer fit: the same check as on the case page.
    data = workbook(["Số CCCD", "Kết quả", "Ngày sinh đúng"], [(case.national_id, "Khớp", "02/03/1990")])
    found = preview(officer, data)
    assert found.counts["rejected"] == 1
    assert found.rejected[0].reasons[0].startswith("Diện «") or "năm sinh" in found.rejected[0].reasons[0]
    apply(officer, data)
    assert case_row(case.id)["status"] is S.IDENTITY_VERIFICATION


def test_an_auditor_cannot_import_police_results(make_user):
    auditor = make_user(Role.AUDITOR, province=LANG_SON)
    with pytest.raises(NotPermitted):
        preview(auditor, workbook(["Số CCCD", "Kết quả"], []), None)


def test_a_chunk_meeting_a_case_changed_meanwhile_is_done_again_with_one_record_per_case(
        make_case, officer, monkeypatch):
    cases = [person_case(make_case, name, date(1950, 1, day)) for day, name in
             enumerate(("Hoàng Văn Một", "Hoàng Văn Hai", "Hoàng Văn Ba"), 1)]
    data = workbook(["Số CCCD", "Kết quả"], [(c.national_id, "Khớp") for c in cases])
    read, raced = bulk_transitions._read, []

    def read_then_someone_edits(session, case_ids):
        """Another officer's edit lands between the import's first read and its write."""
        rows = list(read(session, case_ids))
        if not raced:
            raced.append(case_ids[0])
            session.execute(update(Case).where(Case.id == case_ids[0]).values(version=Case.version + 1)
                            .execution_options(synchronize_session=False))
        return rows
    monkeypatch.setattr(bulk_transitions, "_read", read_then_someone_edits)
    since = last_seq()

    counts = apply(officer, data)

    assert raced and counts["verified"] == 3
    assert {case_row(c.id)["status"] for c in cases} == {S.PAYMENT_METHOD}
    transitions = [r.case_id for r in audit_records(since) if r.action == "case.transition"]
    assert sorted(transitions) == sorted(c.id for c in cases)
    assert verify_chain(db.session).ok


def test_the_answer_goes_through_a_list_job_from_upload_to_done(app, world, officer):
    from cases.lists import jobs
    data = the_answer(world, export(officer)[0])
    with write_intent():
        job_id = jobs.enqueue(db.session, actor_of(officer), officer, ListKind.POLICE_RESULTS,
                              commune_by_code(db.session, BINH_GIA).id, "ket-qua-cong-an.xlsx", data, utcnow()).id
        db.session.commit()

    jobs.work_queued(app, "test-worker")
    db.session.rollback()
    job = db.session.get(ListJob, job_id)
    assert job.state is ListJobState.PREVIEWED, job.error
    assert json.loads(job.counts)["corrected"] == 2
    assert case_row(world["match"].id)["status"] is S.IDENTITY_VERIFICATION
    with write_intent():
        jobs.confirm(db.session, actor_of(officer), officer, job)
        db.session.commit()
    jobs.work_queued(app, "test-worker")

    db.session.rollback()
    job = db.session.get(ListJob, job_id)
    assert job.state is ListJobState.DONE, job.error
    assert json.loads(job.counts) == {"verified": 2, "corrected": 2, "problem": 2, "already": 0, "unmatched": 3,
                                      "rejected": 2}
    assert case_row(world["renamed"].id)["full_name"] == "Lương Văn Tâm"
