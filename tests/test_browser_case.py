"""The case page and the new-case form on a 360 px phone, in Debian's chromium: nothing wider than
the screen (the category list, the timeline, the facts), and the error summary reachable."""
from __future__ import annotations

import pytest

from cases.roles import Role
from tests.browser import has_horizontal_scroll, log_in, screenshot
from workflow.states import CaseState as S

pytestmark = pytest.mark.browser


def test_the_new_case_form_fits_a_phone_and_summarises_its_errors(live_server, phone_page, make_user):
    officer = make_user(Role.OFFICER, full_name="Lương Thị Hoa")
    page = phone_page
    log_in(page, live_server, officer.username)
    page.goto(f"{live_server}/cases/new")
    assert not has_horizontal_scroll(page)
    category = page.locator("select[name=category_code]").bounding_box()
    assert category["x"] + category["width"] <= 360
    screenshot(page, "360-new-case")

    page.fill("input[name=full_name]", "Lò Văn Bé")
    page.fill("input[name=birth_date]", "2020-05-01")
    page.check("input[name=sex][value=male]")
    page.check("input[name=policy_group][value=btxh]")
    page.select_option("select[name=category_code]", "D5.K5c")
    page.click("button:has-text('Lưu')")
    summary = page.locator(".error-summary[role=alert]")
    assert "từ đủ 80 tuổi" in summary.inner_text()
    summary.locator("a[href='#category_code']").click()
    assert page.evaluate("document.activeElement.id") == "category_code"
    assert not has_horizontal_scroll(page)
    screenshot(page, "360-new-case-errors")


def test_the_case_page_fits_a_phone(live_server, phone_page, make_user, make_case):
    officer = make_user(Role.OFFICER, full_name="Lương Thị Hoa")
    case = make_case(state=S.PAID_BY_ACCOUNT, by=officer, notes="Nhà ở cuối thôn, đường vào hẹp; " * 5)
    page = phone_page
    log_in(page, live_server, officer.username)
    page.goto(f"{live_server}/cases/{case.id}")
    assert page.locator("#timeline .event").count() >= 4
    assert not has_horizontal_scroll(page)
    screenshot(page, "360-case")
