"""The administrator's report targets and bands (issue 17): the page, what it writes and audits,
what it refuses, Lạng Sơn's demo targets, and the target in force they give."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from cases.errors import DomainError, NotPermitted
from cases.models import AuditRecord, ReportBands, ReportTarget, TargetGroup
from cases.organisation import commune_by_code, province_by_code
from cases.reports.target_admin import set_target
from cases.reports.targets import targets_in_force, thresholds
from cases.roles import Role
from demo.targets import load_demo_targets
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, OTHER_PROVINCE, SYSTEM, TAN_VAN, csrf_token
from tests.helpers import fresh, text_of

PAGE = "/admin/report-targets"
D = date


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, province=LANG_SON, username="quantri.chitieu")


def targets() -> list[tuple]:
    fresh()
    return [tuple(r) for r in db.session.execute(
        select(ReportTarget.commune_id, ReportTarget.policy_group, ReportTarget.share_per_mille, ReportTarget.due_on)
        .order_by(ReportTarget.commune_id.is_not(None), ReportTarget.due_on))]


def records(action: str) -> list[AuditRecord]:
    fresh()
    return list(db.session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


def commune_id(code: str) -> int:
    return commune_by_code(db.session, code).id


def province_id(code: str = LANG_SON) -> int:
    return province_by_code(db.session, code).id


def post_target(browser, share: str = "60", due_on: str = "31/12/2026", group: str = "all", commune: str = "",
                url: str = PAGE):
    token = csrf_token(browser.get(url).get_data(as_text=True))
    return browser.post(url, data={"csrf_token": token, "commune": commune, "group": group, "share": share,
                                   "due_on": due_on})


def post_bands(browser, high: str, average: str, province: str = LANG_SON):
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    return browser.post(f"{PAGE}/bands?province={province}", data={"csrf_token": token, "high_from": high,
                                                                    "average_from": average})


def nothing_written() -> bool:
    fresh()
    return (targets() == [] and db.session.scalar(select(ReportBands.province_id)) is None
            and not records("report_target.set") and not records("report_bands.set"))


# --- setting, replacing, removing ------------------------------------------------------------

def test_the_administrator_sets_the_province_target(admin, make_client):
    browser = make_client(admin)
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert "Lạng Sơn" in text_of(page) and "Chưa có chỉ tiêu nào." in text_of(page)

    response = post_target(browser, "60", "31/12/2026")
    assert response.status_code == 302
    shown = text_of(browser.get(response.headers["Location"]))
    assert "Đã đặt chỉ tiêu 60% cho Toàn tỉnh (Chung (BTXH và NCC)), hạn 31/12/2026." in shown
    assert targets() == [(None, TargetGroup.ALL, 600, D(2026, 12, 31))]
    target = db.session.scalars(select(ReportTarget)).one()
    assert target.province_id == province_id() and target.set_by_id == admin.id
    [record] = records("report_target.set")
    assert record.actor_id == admin.id
    assert json.loads(record.detail) == {"province": LANG_SON, "commune": None, "group": "all",
                                         "due_on": "2026-12-31", "share_per_mille": 600}


def test_a_commune_target_with_a_decimal_share(admin, make_client):
    browser = make_client(admin)
    assert post_target(browser, "60", "31/12/2026").status_code == 302
    response = post_target(browser, "62,5", "2026-12-31", group="btxh", commune=str(commune_id(BINH_GIA)))
    assert response.status_code == 302
    assert targets() == [(None, TargetGroup.ALL, 600, D(2026, 12, 31)),
                         (commune_id(BINH_GIA), TargetGroup.BTXH, 625, D(2026, 12, 31))]
    shown = text_of(browser.get(response.headers["Location"]))
    assert "Đã đặt chỉ tiêu 62,5% cho Xã Bình Gia (Bảo trợ xã hội (BTXH)), hạn 31/12/2026." in shown
    # The province's own target is listed first, then the commune's.
    assert shown.index("Toàn tỉnh</td>") < shown.index("Xã Bình Gia</td>")
    assert json.loads(records("report_target.set")[-1].detail)["commune"] == BINH_GIA


def test_the_same_unit_group_and_date_replaces_the_share(admin, make_client):
    browser = make_client(admin)
    assert post_target(browser, "60").status_code == 302
    assert post_target(browser, "65").status_code == 302
    assert targets() == [(None, TargetGroup.ALL, 650, D(2026, 12, 31))]
    first, second = records("report_target.set")
    assert json.loads(second.detail)["share_per_mille"] == [600, 650]
    assert "65%" in text_of(browser.get(PAGE))
    # Another due date is another target of the series.
    assert post_target(browser, "100", "31/12/2027").status_code == 302
    assert len(targets()) == 2


def test_the_administrator_removes_a_target(admin, make_client):
    browser = make_client(admin)
    assert post_target(browser, "60").status_code == 302
    target_id = db.session.scalar(select(ReportTarget.id))
    token = csrf_token(browser.get(PAGE).get_data(as_text=True))
    response = browser.post(f"{PAGE}/{target_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert "Đã xoá chỉ tiêu 60% của Toàn tỉnh" in text_of(browser.get(response.headers["Location"]))
    assert targets() == []
    [record] = records("report_target.remove")
    assert json.loads(record.detail)["share_per_mille"] == 600 and record.actor_id == admin.id
    assert browser.post(f"{PAGE}/{target_id}/delete", data={"csrf_token": token}).status_code == 404


def test_the_administrator_sets_the_bands(admin, make_client):
    browser = make_client(admin)
    assert thresholds(db.session, province_id()) == (500, 200)
    response = post_bands(browser, "70", "30,5")
    assert response.status_code == 302
    assert "Đã lưu ngưỡng xếp loại: “Cao” từ 70%, “Trung bình” từ 30,5%." in text_of(browser.get(response.headers["Location"]))
    fresh()
    assert thresholds(db.session, province_id()) == (700, 305)
    [record] = records("report_bands.set")
    assert json.loads(record.detail) == {"province": LANG_SON, "high_from_per_mille": [500, 700],
                                         "average_from_per_mille": [200, 305]}
    page = browser.get(PAGE).get_data(as_text=True)
    assert 'name="high_from" required type="text" value="70"' in page
    assert 'name="average_from" required type="text" value="30,5"' in page


# --- refusals --------------------------------------------------------------------------------

@pytest.mark.parametrize("share, message", [
    ("abc", "Nhập tỷ lệ phần trăm, tối đa một chữ số thập phân, ví dụ 60 hoặc 62,5."),
    ("62,55", "Nhập tỷ lệ phần trăm, tối đa một chữ số thập phân, ví dụ 60 hoặc 62,5."),
    ("150", "Chỉ tiêu phải từ 0,1 % đến 100 %."),
    ("0", "Chỉ tiêu phải từ 0,1 % đến 100 %."),
    ("", "Trường này bắt buộc."),
])
def test_a_bad_share_is_refused(share, message, admin, make_client):
    response = post_target(make_client(admin), share)
    assert response.status_code == 422
    assert message in text_of(response)
    assert nothing_written()


@pytest.mark.parametrize("due_on, message", [
    ("31/02/2026", "Ngày không hợp lệ (nhập dd/mm/yyyy)."),
    ("", "Trường này bắt buộc."),
    ("31/12/2999", "Hạn phải trong khoảng từ năm 2000 đến năm 2100."),
])
def test_a_bad_due_date_is_refused(due_on, message, admin, make_client):
    response = post_target(make_client(admin), "60", due_on)
    assert response.status_code == 422
    assert message in text_of(response)
    assert nothing_written()


def test_a_commune_of_another_province_is_refused(admin, make_client):
    response = post_target(make_client(admin), "60", commune=str(commune_id(OTHER_COMMUNE)))
    assert response.status_code == 422
    assert "Lựa chọn không hợp lệ." in text_of(response)
    with write_intent(), pytest.raises(DomainError, match="Xã, phường này không thuộc Tỉnh Lạng Sơn."):
        set_target(db.session, SYSTEM, admin, province_id(), commune_id(OTHER_COMMUNE), TargetGroup.ALL, 600,
                   D(2026, 12, 31))
    assert nothing_written()


@pytest.mark.parametrize("high, average, message", [
    ("50", "50", "Ngưỡng “Trung bình” phải nhỏ hơn ngưỡng “Cao”."),
    ("40", "60", "Ngưỡng “Trung bình” phải nhỏ hơn ngưỡng “Cao”."),
    ("101", "20", "Ngưỡng “Cao” không được quá 100 %."),
    ("50", "0", "Ngưỡng “Trung bình” phải lớn hơn 0 %."),
    ("cao", "20", "Nhập tỷ lệ phần trăm"),
])
def test_bands_out_of_order_are_refused(high, average, message, admin, make_client):
    response = post_bands(make_client(admin), high, average)
    assert response.status_code == 422
    assert message in text_of(response)
    assert nothing_written()


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_only_an_administrator_keeps_the_targets(role, admin, make_user, make_client):
    with write_intent():
        target = set_target(db.session, SYSTEM, admin, province_id(), None, TargetGroup.ALL, 600, D(2026, 12, 31))
        db.session.commit()
    browser = make_client(make_user(role, province=LANG_SON))
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    assert browser.get(PAGE).status_code == 403
    assert browser.post(PAGE, data={"csrf_token": token, "commune": "", "group": "all", "share": "90",
                                    "due_on": "31/12/2026"}).status_code == 403
    assert browser.post(f"{PAGE}/{target.id}/delete", data={"csrf_token": token}).status_code == 403
    assert post_bands(browser, "70", "30").status_code == 403
    assert targets() == [(None, TargetGroup.ALL, 600, D(2026, 12, 31))]
    assert len(records("report_target.set")) == 1 and not records("report_target.remove")
    assert not records("report_bands.set")


def test_an_administrator_of_another_province_is_refused(admin, make_user, make_client):
    with write_intent():
        target = set_target(db.session, SYSTEM, admin, province_id(), None, TargetGroup.ALL, 600, D(2026, 12, 31))
        db.session.commit()
    browser = make_client(make_user(Role.ADMIN, province=OTHER_PROVINCE))
    own = text_of(browser.get(PAGE))
    assert "Hà Nội" in own and "Chưa có chỉ tiêu nào." in own
    assert browser.get(f"{PAGE}?province={LANG_SON}").status_code == 403
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    assert browser.post(f"{PAGE}?province={LANG_SON}", data={
        "csrf_token": token, "commune": "", "group": "all", "share": "90", "due_on": "31/12/2026"}).status_code == 403
    assert browser.post(f"{PAGE}/{target.id}/delete", data={"csrf_token": token}).status_code == 403
    assert post_bands(browser, "70", "30").status_code == 403
    assert targets() == [(None, TargetGroup.ALL, 600, D(2026, 12, 31))]
    assert not records("report_target.remove") and not records("report_bands.set")
    assert browser.get(f"{PAGE}?province=99").status_code == 404


def test_an_administrator_of_communes_keeps_only_their_communes_targets(admin, make_user, make_client):
    """No user is national: an administrator scoped to communes (here one in Lạng Sơn and one in
    Hà Nội) chooses a province among theirs, and sets only their communes' own targets."""
    scoped = make_user(Role.ADMIN, communes=(BINH_GIA, OTHER_COMMUNE), username="quantri.xa")
    browser = make_client(scoped)
    chooser = text_of(browser.get(PAGE))
    assert "Chọn một tỉnh để xem và đặt chỉ tiêu." in chooser
    assert "Lạng Sơn" in chooser and "Hà Nội" in chooser
    page = text_of(browser.get(f"{PAGE}?province={LANG_SON}"))
    assert "Xã Bình Gia" in page and "Xã Tân Văn" not in page and "Toàn tỉnh" not in page
    assert 'name="high_from"' not in page

    url = f"{PAGE}?province={LANG_SON}"
    assert post_target(browser, "80", commune=str(commune_id(BINH_GIA)), url=url).status_code == 302
    assert targets() == [(commune_id(BINH_GIA), TargetGroup.ALL, 800, D(2026, 12, 31))]
    assert post_target(browser, "80", commune=str(commune_id(TAN_VAN)), url=url).status_code == 422
    assert post_bands(browser, "70", "30").status_code == 403
    with write_intent():
        for commune in (None, commune_id(TAN_VAN)):
            with pytest.raises(NotPermitted):
                set_target(db.session, SYSTEM, scoped, province_id(), commune, TargetGroup.ALL, 600, D(2026, 12, 31))
    assert len(targets()) == 1 and not records("report_bands.set")

    # The province's own target is listed, but only their commune's has a button to remove it.
    with write_intent():
        province_wide = set_target(db.session, SYSTEM, admin, province_id(), None, TargetGroup.ALL, 600,
                                   D(2026, 12, 31))
        db.session.commit()
    page = browser.get(url).get_data(as_text=True)
    assert page.count("/delete") == 1 and f"{PAGE}/{province_wide.id}/delete" not in page
    token = csrf_token(page)
    assert browser.post(f"{PAGE}/{province_wide.id}/delete", data={"csrf_token": token}).status_code == 403
    assert len(targets()) == 2 and not records("report_target.remove")


# --- the demo's targets, and the target in force -----------------------------------------------

def load_demo_targets_once() -> int:
    with write_intent():
        added = load_demo_targets(db.session, province_by_code(db.session, LANG_SON))
        db.session.commit()
    return added


def test_the_demo_targets_are_loaded_once():
    assert load_demo_targets_once() == 2
    assert load_demo_targets_once() == 0
    assert targets() == [(None, TargetGroup.ALL, 600, D(2026, 12, 31)), (None, TargetGroup.ALL, 1000, D(2027, 12, 31))]
    demo_records = records("report_target.set")
    assert [r.actor_username for r in demo_records] == ["demo", "demo"]


def test_the_demo_targets_in_force_and_a_communes_own(admin):
    load_demo_targets_once()
    lang_son, binh_gia, tan_van = province_id(), commune_id(BINH_GIA), commune_id(TAN_VAN)

    def in_force(commune: int | None, on: date) -> tuple[int, date, bool]:
        target = targets_in_force(db.session, [lang_son], on).for_commune(lang_son, commune)
        return target.share_per_mille, target.due_on, target.set_for_commune

    assert in_force(binh_gia, D(2026, 10, 31)) == (600, D(2026, 12, 31), False)
    assert in_force(None, D(2026, 10, 31)) == (600, D(2026, 12, 31), False)
    assert in_force(binh_gia, D(2027, 3, 31)) == (1000, D(2027, 12, 31), False)
    assert in_force(binh_gia, D(2028, 3, 31)) == (1000, D(2027, 12, 31), False)

    with write_intent():
        set_target(db.session, SYSTEM, admin, lang_son, binh_gia, TargetGroup.ALL, 800, D(2026, 12, 31))
        db.session.commit()
    assert in_force(binh_gia, D(2026, 10, 31)) == (800, D(2026, 12, 31), True)
    assert in_force(tan_van, D(2026, 10, 31)) == (600, D(2026, 12, 31), False)
