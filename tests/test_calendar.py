"""The working calendar (issue 19): Vietnam's public holidays for any year, Tết by the lunar
calendar, from the `holidays` package; the government's yearly swaps kept by an administrator;
every SLA counted from this one calendar."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases.calendar import WorkingCalendar, working_calendar, working_days_between
from cases.models import AuditRecord, SwapKind, WorkingDaySwap
from cases.roles import Role
from cases.working_calendar_admin import add_swap
from extensions import db, write_intent
from tests.conftest import LANG_SON, SYSTEM, csrf_token
from tests.helpers import audit_count, fresh, text_of

D = date


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, province=LANG_SON, username="quantri.lich")


def swaps() -> list[tuple[date, SwapKind, str]]:
    fresh()
    return [tuple(r) for r in db.session.execute(
        select(WorkingDaySwap.day, WorkingDaySwap.kind, WorkingDaySwap.note).order_by(WorkingDaySwap.day))]


def post_swap(browser, day: str, kind: str, note: str = "Thông báo 1234/TB-BNV"):
    page = browser.get("/admin/calendar")
    return browser.post("/admin/calendar", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                                 "day": day, "kind": kind, "note": note})


# --- the public holidays --------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, working, days_off", [
    # Tết Đinh Mùi: 29 Tết (Thu 4/2) to mùng năm (Wed 10/2), a weekend between.
    (D(2027, 2, 1), D(2027, 2, 12), 4, [D(2027, 2, 4), D(2027, 2, 5), D(2027, 2, 8), D(2027, 2, 9), D(2027, 2, 10)]),
    # Tết Canh Tuất: 29 Tết (Thu 31/1) to mùng năm (Wed 6/2).
    (D(2030, 1, 28), D(2030, 2, 8), 4, [D(2030, 1, 31), D(2030, 2, 1), D(2030, 2, 4), D(2030, 2, 5), D(2030, 2, 6)]),
], ids=["tet-2027", "tet-2030"])
def test_tet_is_counted_by_the_lunar_calendar(start, end, working, days_off):
    calendar = working_calendar()
    assert working_days_between(start, end) == working
    assert [d for d in days_off if calendar.is_working_day(d)] == []
    # The weekdays either side of Tết are worked.
    assert calendar.is_working_day(days_off[0] - timedelta(days=1))
    assert calendar.is_working_day(days_off[-1] + timedelta(days=1))


def test_the_days_off_of_2026_the_hand_written_list_missed():
    calendar = working_calendar()
    # Mon 31/8 (swapped for Sat 22/8) and the National Day pair: Thu 3 and Fri 4 are worked.
    assert not calendar.is_working_day(D(2026, 8, 31))
    assert working_days_between(D(2026, 8, 28), D(2026, 9, 4)) == 2
    # Vietnamese Culture Day, a paid holiday from 2026.
    assert not calendar.is_working_day(D(2026, 11, 24))
    assert working_days_between(D(2026, 11, 23), D(2026, 11, 25)) == 1


def test_a_year_no_one_wrote_down_is_counted_too():
    # 2040: Tết on Sunday 12/2 (lunar), so Monday 13/2 is off; New Year's Day a Sunday, Monday 2/1 off.
    calendar = working_calendar()
    assert not calendar.is_working_day(D(2040, 2, 13))
    assert working_days_between(D(2039, 12, 29), D(2040, 1, 3)) == 2    # Fri 30/12, Tue 3/1


def test_working_days_counted_forward_and_back():
    calendar = WorkingCalendar([D(2027, 2, d) for d in (4, 5, 8, 9, 10)])
    assert calendar.add_working_days(D(2027, 2, 1), 4) == D(2027, 2, 12)
    assert calendar.add_working_days(D(2027, 2, 3), 1) == D(2027, 2, 11)
    assert calendar.add_working_days(D(2027, 2, 6), 0) == D(2027, 2, 6)
    # Before: the last day from which 12/2 is 4 working days on (entered on it or earlier: due).
    assert calendar.add_working_days(D(2027, 2, 12), -4) == D(2027, 2, 1)
    assert calendar.add_working_days(D(2027, 2, 15), -1) == D(2027, 2, 14)    # Monday counts itself
    for n in range(-30, 31):
        day = calendar.add_working_days(D(2027, 2, 3), n)
        assert (calendar.working_days_between(D(2027, 2, 3), day) if n >= 0
                else calendar.working_days_between(day, D(2027, 2, 3))) == abs(n)


# --- the administrator's swaps ----------------------------------------------------------------------

def test_a_swap_changes_the_count_at_once_in_this_process(admin):
    # Saturday 22/8/2026 worked in exchange for Monday 31/8; Thursday 31/12 an extra day off.
    assert working_days_between(D(2026, 8, 21), D(2026, 8, 24)) == 1
    assert working_days_between(D(2026, 12, 30), D(2027, 1, 4)) == 2
    with write_intent():
        add_swap(db.session, SYSTEM, admin, D(2026, 8, 22), SwapKind.WORKING_DAY, "Thông báo 5330/TB-BNV")
        add_swap(db.session, SYSTEM, admin, D(2026, 12, 31), SwapKind.DAY_OFF, "Quyết định nghỉ thêm")
        db.session.commit()
    assert working_days_between(D(2026, 8, 21), D(2026, 8, 24)) == 2
    assert working_days_between(D(2026, 12, 30), D(2027, 1, 4)) == 1
    assert working_calendar().add_working_days(D(2026, 8, 21), 1) == D(2026, 8, 22)


def test_the_administrator_adds_and_removes_a_swap(admin, make_client):
    browser = make_client(admin)
    working_days_between(D(2026, 8, 21), D(2026, 8, 24))     # the calendar is cached before the change
    page = browser.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    shown = text_of(page)
    assert "Lịch làm việc" in shown and "Ngày Văn hóa Việt Nam" in shown and "24/11/2026" in shown
    assert "Tết Nguyên Đán" in shown

    response = post_swap(browser, "22/08/2026", "working_day", "Thông báo 5330/TB-BNV")
    assert response.status_code == 302
    assert "Đã thêm ngày hoán đổi 22/08/2026" in text_of(browser.get(response.headers["Location"]))
    assert swaps() == [(D(2026, 8, 22), SwapKind.WORKING_DAY, "Thông báo 5330/TB-BNV")]
    assert working_days_between(D(2026, 8, 21), D(2026, 8, 24)) == 2
    record = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "calendar.swap_add")).one()
    assert record.actor_id == admin.id
    assert "2026-08-22" in str(record.detail) and "working_day" in str(record.detail)

    listed = text_of(browser.get("/admin/calendar?year=2026"))
    assert "Thông báo 5330/TB-BNV" in listed and "Thứ Bảy" in listed
    swap_id = db.session.scalar(select(WorkingDaySwap.id))
    token = csrf_token(browser.get("/admin/calendar?year=2026").get_data(as_text=True))
    response = browser.post(f"/admin/calendar/{swap_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert swaps() == []
    assert working_days_between(D(2026, 8, 21), D(2026, 8, 24)) == 1
    assert audit_count("calendar.swap_remove") == 1


def test_an_extra_day_off_typed_as_a_browser_sends_it(admin, make_client):
    browser = make_client(admin)
    response = post_swap(browser, "2026-12-31", "day_off")
    assert response.status_code == 302
    assert swaps() == [(D(2026, 12, 31), SwapKind.DAY_OFF, "Thông báo 1234/TB-BNV")]
    assert not working_calendar().is_working_day(D(2026, 12, 31))


@pytest.mark.parametrize("day, kind, message", [
    ("24/08/2026", "working_day", "Ngày làm bù phải là thứ Bảy hoặc Chủ nhật; 24/08/2026 là Thứ Hai."),
    ("22/08/2026", "day_off", "Ngày nghỉ thêm phải là ngày thường (thứ Hai đến thứ Sáu); 22/08/2026 là Thứ Bảy."),
    ("24/11/2026", "day_off", "Ngày 24/11/2026 đã là ngày lễ (Ngày Văn hóa Việt Nam)."),
    ("31/02/2026", "day_off", "Ngày không hợp lệ (nhập dd/mm/yyyy)."),
    ("01/01/2200", "day_off", "Lịch làm việc chỉ tính từ năm 1990 đến năm 2100."),
])
def test_a_swap_on_the_wrong_day_is_refused(day, kind, message, admin, make_client):
    browser = make_client(admin)
    response = post_swap(browser, day, kind)
    assert response.status_code == 422
    assert message in text_of(response)
    assert swaps() == []
    assert audit_count("calendar.swap_add") == 0


def test_a_day_swapped_already_is_refused(admin, make_client):
    browser = make_client(admin)
    assert post_swap(browser, "22/08/2026", "working_day").status_code == 302
    response = post_swap(browser, "22/08/2026", "working_day", "lần hai")
    assert response.status_code == 422
    assert "Ngày 22/08/2026 đã có trong danh sách hoán đổi." in text_of(response)
    assert len(swaps()) == 1


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_only_an_administrator_keeps_the_calendar(role, admin, make_user, make_client):
    with write_intent():
        add_swap(db.session, SYSTEM, admin, D(2026, 8, 22), SwapKind.WORKING_DAY, "Thông báo 5330/TB-BNV")
        db.session.commit()
    swap_id = db.session.scalar(select(WorkingDaySwap.id))
    browser = make_client(make_user(role, province=LANG_SON))
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    assert "/admin/calendar" not in browser.get("/cases").get_data(as_text=True)
    assert browser.get("/admin/calendar").status_code == 403
    add = browser.post("/admin/calendar", data={"csrf_token": token, "day": "31/12/2026", "kind": "day_off",
                                                "note": "x"})
    assert add.status_code == 403
    assert browser.post(f"/admin/calendar/{swap_id}/delete", data={"csrf_token": token}).status_code == 403
    assert swaps() == [(D(2026, 8, 22), SwapKind.WORKING_DAY, "Thông báo 5330/TB-BNV")]
    assert audit_count("calendar.swap_remove") == 0


def test_the_administrator_finds_the_calendar_in_the_menu(admin, make_client):
    assert 'href="/admin/calendar"' in make_client(admin).get("/cases").get_data(as_text=True)
