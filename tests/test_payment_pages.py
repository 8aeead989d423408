"""The payment lists' pages (issue 18, item 2): a province officer drafts a provider's list for
next month, a supervisor checks and signs it, the signed workbook is downloaded (audited) — and
who may not."""
from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from cases.models import AuditRecord, PaymentList, PaymentListState, PaymentProvider
from cases.roles import Role
from extensions import db
from tests.conftest import BINH_GIA, LANG_SON, csrf_token
from tests.helpers import text_of
from workflow.states import CaseState as S


def provider_id(short_name: str = "BUUDIEN-LS") -> int:
    return db.session.scalar(select(PaymentProvider.id).where(PaymentProvider.short_name == short_name))


def post(browser, url: str, data: dict):
    token = csrf_token(browser.get("/payments").get_data(as_text=True))
    return browser.post(url, data=data | {"csrf_token": token})


def test_draft_check_sign_and_download(make_user, make_case, make_client):
    for state in (S.IDENTITY_VERIFICATION, S.PAID_IN_CASH, S.PAYMENT_METHOD):
        make_case(state=state)
    officer = make_client(make_user(Role.OFFICER, province=LANG_SON))
    supervisor = make_client(make_user(Role.SUPERVISOR, province=LANG_SON, full_name="Lãnh Đạo Tỉnh"))
    page = officer.get("/payments")
    assert page.status_code == 200 and "Bưu điện tỉnh Lạng Sơn" in text_of(page)

    drafted = post(officer, "/payments/draft", {"provider": provider_id(), "month": "2027-01"})
    assert drafted.status_code == 302
    list_page = officer.get(drafted.headers["Location"])
    text = text_of(list_page)
    assert "Bản nháp" in text and "Ký duyệt danh sách" not in text      # an officer does not sign
    plist = db.session.scalars(select(PaymentList)).one()
    assert (plist.state, plist.line_count, plist.month.isoformat()) == (PaymentListState.DRAFT, 3, "2027-01-01")
    assert officer.get(f"/payments/{plist.id}.xlsx").status_code == 302     # a draft is not downloadable
    assert post(officer, f"/payments/{plist.id}/sign", {}).status_code == 403

    assert "Ký duyệt danh sách" in text_of(supervisor.get(f"/payments/{plist.id}"))
    assert post(supervisor, f"/payments/{plist.id}/sign", {}).status_code == 302
    signed_page = text_of(supervisor.get(f"/payments/{plist.id}"))
    assert "Đã ký duyệt bởi Lãnh Đạo Tỉnh" in signed_page
    download = officer.get(f"/payments/{plist.id}.xlsx")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.data))
    assert book.sheetnames[0] == "Danh sách chi trả"
    db.session.rollback()
    assert [r.action for r in db.session.scalars(select(AuditRecord).where(AuditRecord.action.like("payment_list.%"))
                                                 .order_by(AuditRecord.seq))] == [
        "payment_list.draft", "payment_list.sign", "payment_list.download"]

    # Signed: drafting that month again is refused in words, and nothing changes.
    again = post(officer, "/payments/draft", {"provider": provider_id(), "month": "2027-01"})
    assert "đã được ký duyệt" in text_of(officer.get(again.headers["Location"]))
    assert db.session.scalars(select(PaymentList.id)).all() == [plist.id]
    assert db.session.get(PaymentList, plist.id).sent_at is not None           # the first download sent it

    # February's draft against January's signed list: nothing changed, and it says so in words.
    february = officer.get(post(officer, "/payments/draft", {"provider": provider_id(), "month": "2027-02"})
                           .headers["Location"])
    assert "Không thay đổi: 3" in text_of(february) and "LineChange" not in text_of(february)


def test_only_the_provinces_users_see_the_lists(make_user, make_client):
    commune_officer = make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))
    assert commune_officer.get("/payments").status_code == 403
    admin = make_client(make_user(Role.ADMIN, province=LANG_SON))
    assert admin.get("/payments").status_code == 403
    other = make_client(make_user(Role.OFFICER, province="01"))
    assert post(other, "/payments/draft", {"provider": provider_id(), "month": "2027-01"}).status_code == 404


def test_a_bad_month_is_refused_in_words(make_user, make_client):
    officer = make_client(make_user(Role.OFFICER, province=LANG_SON))
    response = officer.get("/payments?month=2027-13", follow_redirects=True)
    assert response.status_code == 200
    assert "không hợp lệ" in text_of(response)
    half = officer.get("/payments?month=2027-H1", follow_redirects=True)
    assert "Hãy chọn một tháng" in text_of(half)
