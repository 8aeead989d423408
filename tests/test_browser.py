"""The newcomer's path of issue 2, in a real browser (Debian's chromium through Playwright).

An officer registers a beneficiary, verifies the identity, records an account choice, confirms
the first payment and proposes a suspension; a supervisor approves it; the case's history shows
every step with who did it.
"""
from __future__ import annotations

from datetime import date

import pytest

from cases.roles import Role
from tests.browser import log_in
from tests.conftest import national_id_for
from cases.models import Sex

pytestmark = pytest.mark.browser

def act(page, label: str, fields: dict, button: str = "Xác nhận") -> None:
    page.click(f"a.button:has-text('{label}')")
    for selector, value in fields.items():
        element = page.locator(selector)
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)
    page.click(f"button:has-text('{button}')")


def test_officer_to_supervisor_end_to_end(live_server, browser, make_user):
    officer = make_user(Role.OFFICER, username="canbo.binhgia", full_name="Lương Thị Hoa")
    supervisor = make_user(Role.SUPERVISOR, username="lanhdao.binhgia", full_name="Hoàng Văn Minh")
    page = browser.new_page()
    today = date.today()

    log_in(page, live_server, officer.username)
    page.click("text=Thêm hồ sơ")
    page.fill("input[name=full_name]", "Nông Văn Dũng")
    page.fill("input[name=birth_date]", "1944-05-19")
    page.check("input[name=sex][value=male]")
    page.fill("input[name=phone]", "0912 345 678")
    page.check("input[name=policy_group][value=btxh]")
    page.select_option("select[name=category_code]", "D5.K5a.2")
    page.click("button:has-text('Lưu')")
    page.wait_for_selector("text=Đã thêm hồ sơ")
    assert page.inner_text("[data-state]") == "Chờ xác thực danh tính"
    assert "1.000.000 đ" in page.inner_text("main")  # 500.000 đ × 2.0 for 80 and over

    act(page, "Xác thực danh tính", {"input[name=national_id]": national_id_for(date(1944, 5, 19), Sex.MALE),
                                      "select[name=source]": "police_list",
                                      "input[name=verified_on]": today.isoformat()})
    assert page.inner_text("[data-state]") == "Chờ đăng ký phương thức chi trả"

    act(page, "Đăng ký nhận qua tài khoản", {"select[name=holder]": "self",
                                              "input[name=account_number]": "3100205123456",
                                              "input[name=consent_date]": today.isoformat()})
    assert page.inner_text("[data-state]") == "Đang mở tài khoản"

    act(page, "Xác nhận chi trả qua tài khoản", {"input[name=month_paid]": today.strftime("%Y-%m"),
                                                 "input[name=reference]": "AGR-0001"})
    assert page.inner_text("[data-state]") == "Chi trả qua tài khoản"

    act(page, "Tạm dừng trợ cấp", {"select[name=reason_code]": "TT02.D2.K3.c",
                                    "input[name=effective_month]": today.strftime("%Y-%m"),
                                    "input[name=decision_number]": "15/QĐ-UBND"}, button="Gửi đề xuất")
    page.wait_for_selector("text=chờ lãnh đạo phê duyệt")
    assert page.inner_text("[data-state]") == "Chi trả qua tài khoản"  # unchanged until approved
    case_url = page.url
    page.click("button:has-text('Đăng xuất')")

    log_in(page, live_server, supervisor.username)
    page.goto(case_url)
    page.fill("textarea[name=reason]", "Đúng quy định, đồng ý tạm dừng.")
    page.click("button:has-text('Phê duyệt')")
    page.wait_for_selector("text=Đã phê duyệt")
    assert page.inner_text("[data-state]") == "Tạm dừng"

    history = page.inner_text("#timeline")
    for step in ("Tạo hồ sơ", "Xác thực danh tính", "Đăng ký nhận qua tài khoản",
                 "Xác nhận chi trả qua tài khoản", "Lập đề xuất", "Phê duyệt"):
        assert step in history, step
    assert history.count(f"{officer.full_name} (Cán bộ xã)") == 5
    assert f"{supervisor.full_name} (Lãnh đạo phê duyệt)" in history
