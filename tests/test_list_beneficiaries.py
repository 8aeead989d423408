"""A commune's own beneficiary list, with the mess real lists have, previewed and imported row by
row: what is created, updated, left alone and rejected, and why; re-importing creates nothing."""
from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from cases.audit import Actor, canonical_json, verify_chain
from cases.changes import snapshot
from cases.lists.beneficiaries import BENEFICIARY_LIST
from cases.lists.kinds import Scope
from cases.models import AuditRecord, Case, PolicyGroup, Proposal, Sex, Village
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import BINH_GIA, OTHER_COMMUNE, TAN_VAN, national_id_for
from workflow.states import CaseState

TODAY = date.today()
HEADER = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD/ĐDCN", "Thôn", "Diện đối tượng",
          "Tình trạng tài khoản", "Ngân hàng", "Số tài khoản", "Ghi chú"]


def messy_list(rows: list[list], header=HEADER) -> bytes:
    """A commune's list as they keep it: the national heading and a title in merged cells, a
    header, a numbering row, the data, a total row and a signature block."""
    book = Workbook()
    sheet = book.active
    sheet.append(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"])
    sheet.merge_cells("A1:H1")
    sheet.append(["Độc lập - Tự do - Hạnh phúc"])
    sheet.append([])
    sheet.append(["DANH SÁCH ĐỐI TƯỢNG HƯỞNG TRỢ CẤP XÃ HỘI HÀNG THÁNG — XÃ BÌNH GIA"])
    sheet.merge_cells("A4:H4")
    sheet.append(header)
    sheet.append([f"({i})" for i in range(1, len(header) + 1)])
    for row in rows:
        sheet.append(row)
    sheet.append([None, "Tổng cộng", None, None, None, None, None, None, None, None, f"{len(rows)} người"])
    sheet.append([])
    sheet.append([None, "Người lập biểu", None, None, None, None, "CHỦ TỊCH UBND XÃ"])
    sheet.append([None, "(Ký, ghi rõ họ tên)"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def officer(make_user):
    return make_user(Role.OFFICER, communes=(BINH_GIA,), full_name="Hoàng Văn Pình")


def scope_of(user, commune=BINH_GIA) -> Scope:
    return Scope(user, Actor(user.id, user.username, user.role.value, commune, None, "list-test"),
                 user.province_id or commune_by_code(db.session, commune).province_id,
                 commune_by_code(db.session, commune).id, TODAY)


def preview(user, data: bytes, commune=BINH_GIA):
    with write_intent():
        found = BENEFICIARY_LIST.preview(db.session, scope_of(user, commune), data, "danh-sach.xlsx",
                                         lambda done, total: None)
        db.session.rollback()
    return found


def import_list(user, data: bytes, commune=BINH_GIA) -> dict:
    """Import as the worker does: each chunk committed with its checkpoint."""
    totals: dict[str, int] = {}

    def checkpoint(done, counts):
        for key, n in counts.items():
            totals[key] = totals.get(key, 0) + n
        db.session.commit()

    with write_intent():
        BENEFICIARY_LIST.apply(db.session, scope_of(user, commune), data, "danh-sach.xlsx", 0, checkpoint)
        db.session.commit()
    return totals


def case_by_name(name: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.full_name == name))


ELDER_ID = "020041000123"          # born 1941, male: digit 4 is 0, digits 5-6 are 41
WOMAN_ID = national_id_for(date(1950, 9, 2), Sex.FEMALE)


def good_rows() -> list[list]:
    return [
        # The ID number typed as a number: Excel dropped its leading zero.
        [1, "HOÀNG VĂN PÌNH", date(1941, 3, 12), "Nam", int(ELDER_ID), "Nà Pàn", "5c", "Chưa có tài khoản", None, None, None],
        # A text date, the ID as text, an account the commune knows of.
        [2, "Lương Thị Hoa", "02/09/1950", "Nữ", WOMAN_ID, "Thôn Pò Cại", "D5.K5a.1", "Có tài khoản",
         "Agribank", "012345678901", "hộ nghèo"],
        # A bare birth year, no ID number, a village the commune does not have.
        [3, "Nông Văn Tằm", 1944, "nam", None, "Khuổi Hẩu", "Khoản 5 điểm a", None, None, None, None],
    ]


def test_a_messy_list_is_read_row_by_row_and_imported(officer):
    data = messy_list(good_rows())
    seen = preview(officer, data)
    assert seen.total == 3
    assert seen.counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0      # a preview writes nothing

    assert import_list(officer, data) == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    elder = case_by_name("Hoàng Văn Pình")
    assert elder.national_id == ELDER_ID and elder.birth_date == date(1941, 3, 12) and elder.sex is Sex.MALE
    assert elder.status is CaseState.IDENTITY_VERIFICATION and elder.category_code == "D5.K5c"
    assert elder.village.name == "Thôn Nà Pàn" and elder.commune.code == BINH_GIA
    assert elder.policy_group is PolicyGroup.BTXH and elder.monthly_amount > 0
    assert elder.name_folded == "hoang van pinh" and elder.created_by_id == officer.id
    assert "chưa có tài khoản" in elder.notes
    hoa = case_by_name("Lương Thị Hoa")
    assert hoa.birth_date == date(1950, 9, 2) and hoa.sex is Sex.FEMALE and hoa.village.name == "Thôn Pò Cại"
    # The account is a fact the list declares, kept in the notes with the commune's own note; it is
    # recorded on the case when the officer registers the payment method with the person.
    assert "hộ nghèo" in hoa.notes and "Agribank chi nhánh Lạng Sơn" in hoa.notes and "012345678901" in hoa.notes
    assert hoa.account_number is None and hoa.payment_method is None
    tam = case_by_name("Nông Văn Tằm")
    assert tam.birth_date == date(1944, 1, 1) and tam.national_id is None and tam.village_id is None
    assert tam.address_detail == "Khuổi Hẩu"            # an unknown village is kept, not lost
    assert tam.category_code == "D5.K5a.2"              # clause 5a is split by age: 80 and over
    # Each case has its creation record, naming the list and the row, and the chain holds.
    records = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "case.create")).all()
    assert len(records) == 3
    assert {r.reason for r in records} == {f"Nhập từ danh sách «danh-sach.xlsx», dòng {n}" for n in (7, 8, 9)}
    assert all(r.actor_username == officer.username for r in records)
    # ... whose detail is the text registration writes for the case as stored (the chain's verify
    # rehashes the stored text, and would not see it differ).
    for record in records:
        assert record.detail == canonical_json({"fields": snapshot(db.session.get(Case, record.case_id))})
    assert verify_chain(db.session).ok


def test_reimporting_the_same_or_an_overlapping_list_creates_nothing_twice(officer):
    rows = good_rows()
    import_list(officer, messy_list(rows))
    records = db.session.scalar(select(func.count()).select_from(AuditRecord))
    assert import_list(officer, messy_list(rows)) == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert db.session.scalar(select(func.count()).select_from(AuditRecord)) == records
    # Overlapping: one known person with a new phone number, one new person.
    rows[0] = rows[0][:10] + [None]
    newcomer = [4, "Vi Thị Mến", date(1938, 5, 1), "Nữ", national_id_for(date(1938, 5, 1), Sex.FEMALE),
                "Nà Pàn", "D5.K5c", None, None, None, None]
    header = HEADER + ["Số điện thoại"]
    counts = import_list(officer, messy_list([r + [None] for r in rows[1:]] + [rows[0] + ["0912345678"], newcomer + [None]],
                                             header))
    assert counts == {"created": 1, "updated": 1, "unchanged": 2, "rejected": 0}
    assert case_by_name("Hoàng Văn Pình").phone == "0912345678"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 4
    edit = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "case.edit")).one()
    assert json.loads(edit.detail)["changes"] == {"phone": [None, "0912345678"]}
    assert verify_chain(db.session).ok


def test_rejected_rows_say_why_and_come_back_as_a_workbook(officer, make_case):
    other = make_case(commune=OTHER_COMMUNE, national_id=national_id_for(date(1945, 1, 1), Sex.MALE, "001"),
                      birth_date=date(1945, 1, 1), category_code="D5.K5c")
    twin = national_id_for(date(1940, 2, 2), Sex.MALE)
    bad = [
        [1, "Sai Giới Tính", date(1950, 1, 1), "Nữ", national_id_for(date(1950, 1, 1), Sex.MALE), None, "D5.K5a.1"],
        [2, "Sinh Tương Lai", date(TODAY.year + 1, 1, 1), "Nam", None, None, "D5.K5a.1"],
        [3, None, date(1950, 1, 1), "Nam", None, None, "D5.K5a.1"],
        [4, "Diện Lạ", date(1950, 1, 1), "Nam", None, None, "diện không có"],
        [5, "Trùng Một", date(1940, 2, 2), "Nam", twin, None, "D5.K5c"],
        [6, "Trùng Hai", date(1940, 2, 2), "Nam", twin, None, "D5.K5c"],
        [7, "Ở Xã Khác", date(1945, 1, 1), "Nam", other.national_id, None, "D5.K5c"],
        [8, "Cháu Nhỏ", date(2020, 6, 1), "Nam", None, None, "D5.K5c"],
        [9, "Năm Sinh Lệch", date(1951, 1, 1), "Nam", national_id_for(date(1950, 1, 1), Sex.MALE), None, "D5.K5a.1"],
        [10, "Người Đúng", date(1950, 1, 1), "Nam", None, None, "D5.K5a.1"],
    ]
    seen = preview(officer, messy_list([r + [None] * 4 for r in bad]))
    assert seen.counts == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 9}
    why = {r.row: " ".join(r.reasons) for r in seen.rejected}
    assert "giới tính" in why[7]
    assert "tương lai" in why[8]
    assert "Thiếu họ và tên" in why[9]
    assert "Không nhận ra diện đối tượng «diện không có»" in why[10]
    assert "trùng với dòng 12" in why[11] and "trùng với dòng 11" in why[12]
    assert "xã/phường khác" in why[13] and str(other.id) not in why[13]       # not the officer's to see
    assert "từ đủ 80 tuổi" in why[14]                                        # the rule quoted
    assert "năm sinh 1951" in why[15]
    # The rejected rows as the user sent them, each with its reason.
    book = load_workbook(io.BytesIO(seen.rejected_workbook))
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[0][:2] == ["STT", "Họ và tên"] and rows[0][-1] == "Lý do không nhập được"
    names = [r[1] for r in rows[1:]]
    assert "Sai Giới Tính" in names and "Người Đúng" not in names and len(names) == 9
    assert import_list(officer, messy_list([r + [None] * 4 for r in bad]))["created"] == 1


def test_a_change_that_needs_four_eyes_becomes_a_proposal(officer, make_case):
    born = date(1950, 3, 2)
    case = make_case(state=CaseState.PAYMENT_METHOD, by=officer, national_id=national_id_for(born, Sex.MALE),
                     full_name="Hoàng Văn Thụ", birth_date=born, category_code="PL02.D3.g",
                     policy_group=PolicyGroup.NCC, monthly_amount=2_000_000)
    header = ["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Diện", "Mức trợ cấp", "Dân tộc"]
    row = [1, "Hoàng Văn Thụ", "02/03/1950", "Nam", case.national_id, "Thương binh", "2.500.000", "Nùng"]
    assert import_list(officer, messy_list([row], header)) == {"created": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert case.ethnicity == "Nùng" and case.monthly_amount == 2_000_000      # saved now / held back
    proposal = db.session.scalars(select(Proposal).where(Proposal.case_id == case.id)).one()
    assert proposal.trigger == "amend_protected_fields" and proposal.payload["monthly_amount"] == 2_500_000


def test_a_list_for_a_commune_outside_the_users_scope_is_refused(officer):
    from cases.errors import DomainError
    with pytest.raises(DomainError, match="phạm vi"):
        preview(officer, messy_list(good_rows()), commune=TAN_VAN)


def test_the_template_is_read_back_by_the_import(officer):
    template = BENEFICIARY_LIST.template()
    seen = preview(officer, template)
    assert seen.total == 2 and seen.counts["rejected"] == 0, [r.reasons for r in seen.rejected]
    assert {field for _, field in seen.columns} >= {"full_name", "birth_date", "national_id", "category_code",
                                                    "provider", "account_number", "special"}
    assert db.session.scalar(select(func.count()).select_from(Village)) > 0


def test_the_command_line_imports_a_list_and_says_what_happened(app, officer, tmp_path):
    rows = good_rows() + [[4, "Sinh Tương Lai", date(TODAY.year + 1, 1, 1), "Nam", None, None, "D5.K5c",
                           None, None, None, None]]
    path, rejected = tmp_path / "danh-sach.xlsx", tmp_path / "tu-choi.xlsx"
    path.write_bytes(messy_list(rows))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["cases", "import", str(path), "--commune", BINH_GIA, "--user", officer.username,
                              "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip().splitlines()[-1] == "created=3 updated=0 unchanged=0 rejected=1"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    done = runner.invoke(args=["cases", "import", str(path), "--commune", BINH_GIA, "--user", officer.username,
                               "--rejected-out", str(rejected)])
    assert done.output.strip().splitlines()[-1] == "created=3 updated=0 unchanged=0 rejected=1", done.output
    assert db.session.scalar(select(func.count()).select_from(Case)) == 3
    rows_out = list(load_workbook(rejected).active.iter_rows(values_only=True))
    assert rows_out[-1][1] == "Sinh Tương Lai" and "tương lai" in rows_out[-1][-1]
    again = runner.invoke(args=["cases", "import", str(path), "--commune", BINH_GIA, "--user", officer.username])
    assert again.output.strip().splitlines()[-1] == "created=0 updated=0 unchanged=3 rejected=1"
    refused = runner.invoke(args=["cases", "import", str(path), "--commune", TAN_VAN, "--user", officer.username])
    assert refused.exit_code == 1 and "phạm vi" in refused.output


def test_an_old_xls_list_is_read_row_by_row_through_the_import(officer):
    # tests/fixtures/lists/messy-list.xls: no category column, so every row is held back for it,
    # each with its own reasons besides (the first and third ID numbers say female, the list male).
    data = (Path(__file__).parent / "fixtures" / "lists" / "messy-list.xls").read_bytes()
    seen = preview(officer, data)
    assert seen.total == 3 and seen.counts["rejected"] == 3
    why = {r.row: r.reasons for r in seen.rejected}
    assert why[11] == ("Thiếu diện đối tượng.",)
    for row, number in ((10, "020150000123"), (13, "020145000333")):     # leading zeros put back
        assert why[row] == (f"Số CCCD {number}: Chữ số thứ 4 của CCCD (1) không khớp với giới tính trong hồ sơ.",
                            "Thiếu diện đối tượng.")


def test_an_ods_list_is_imported_as_an_xlsx_one(officer):
    from tests.test_sheets_reader import ods
    rows = {0: ["DANH SÁCH ĐỐI TƯỢNG"], 2: HEADER}
    for n, row in enumerate(good_rows(), 3):
        rows[n] = list(row)
    counts = import_list(officer, ods(rows))
    assert counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert case_by_name("Hoàng Văn Pình").national_id == ELDER_ID


def test_a_list_of_100000_rows_creates_exactly_100000_cases_with_a_verifying_chain(officer):
    from openpyxl import Workbook as Book
    book = Book(write_only=True)
    sheet = book.create_sheet("DS")
    sheet.append(["DANH SÁCH ĐỐI TƯỢNG HƯỞNG TRỢ CẤP HÀNG THÁNG"])
    sheet.append(["STT", "Họ và tên", "Ngày sinh", "Giới tính", "Số CCCD", "Diện"])
    for n in range(1, 100_001):
        born = date(1930 + n % 15, 1 + n % 12, 1 + n % 28)
        sex = Sex.FEMALE if n % 2 else Sex.MALE
        number = f"020{1 if sex is Sex.FEMALE else 0}{born.year % 100:02d}{n:06d}"
        sheet.append([n, f"Người Thứ {n}", born, "Nữ" if n % 2 else "Nam", int(number), "D5.K5c"])
    out = io.BytesIO()
    book.save(out)
    assert import_list(officer, out.getvalue()) == {"created": 100_000, "updated": 0, "unchanged": 0, "rejected": 0}
    assert db.session.scalar(select(func.count()).select_from(Case)) == 100_000
    assert db.session.scalar(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "case.create")) == 100_000
    assert verify_chain(db.session).ok


def test_the_template_is_in_vietnamese_for_an_english_reader_too(officer):
    from flask_babel import force_locale
    with force_locale("en"):
        template = BENEFICIARY_LIST.template()
    assert preview(officer, template).counts["rejected"] == 0
