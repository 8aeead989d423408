"""In Chromium: an officer finds a case by a name typed without diacritics in the queue's search
box and takes it from identity verification to account opening through the case page's buttons;
the queue and the home page fit a 360 px phone."""
from __future__ import annotations

import re
from datetime import date

import pytest

from cases.models import Sex
from cases.roles import Role
from tests.browser import has_horizontal_scroll, log_in, screenshot
from tests.conftest import national_id_for
from tests.helpers_queues import forget_counts
from workflow.states import CaseState as S
from workflow.table import STATES

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fresh_counts():
    forget_counts()


def start(page, label: str) -> None:
    """Open a transition's form from the case page: a link or a button with the action's name."""
    page.locator("a, button", has_text=label).first.click()


def fill(page, fields: dict) -> None:
    for name, value in fields.items():
        element = page.locator(f"[name={name}]").first
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)


def submit(page) -> None:
    page.locator("main form[method=post] button[type=submit]").last.click()


def test_an_officer_finds_a_case_by_a_name_without_diacritics_and_opens_its_account(live_server, browser,
                                                                                   make_user, make_case):
    officer = make_user(Role.OFFICER, username="canbo.binhgia", full_name="Lương Thị Hoa")
    born = date(1944, 5, 19)
    number = national_id_for(born, Sex.MALE)
    case = make_case(full_name="Nông Văn Dũng", birth_date=born, sex=Sex.MALE, national_id=number,
                     category_code="D5.K5a.2")
    make_case(full_name="Hoàng Văn Thụ")
    page = browser.new_page()
    today = date.today()

    log_in(page, live_server, officer.username)
    page.goto(f"{live_server}/cases")
    page.fill("input[name=q]", "nong van dung")
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_selector("text=Kết quả tìm")
    assert "Hoàng Văn Thụ" not in page.inner_text("main")
    screenshot(page, "queue-search")
    page.get_by_role("link", name="Nông Văn Dũng").click()
    page.wait_for_url(re.compile(rf".*/cases/{case.id}$"))

    start(page, "Xác thực danh tính")
    fill(page, {"national_id": number, "source": "police_list", "verified_on": today.isoformat()})
    submit(page)
    page.wait_for_url(re.compile(rf".*/cases/{case.id}$"))
    assert str(STATES[S.PAYMENT_METHOD].label) in page.inner_text("main")

    start(page, "Đăng ký nhận qua tài khoản")
    fill(page, {"holder": "self", "account_number": "3100205123456", "consent_date": today.isoformat()})
    submit(page)
    page.wait_for_url(re.compile(rf".*/cases/{case.id}$"))
    assert "Đang mở tài khoản" in page.inner_text("main")

    page.goto(f"{live_server}/")
    assert "Đang mở tài khoản" in page.inner_text("main")
    screenshot(page, "home")


def test_the_queue_and_home_fit_a_phone(live_server, phone_page, make_user, make_case):
    officer = make_user(Role.OFFICER, username="canbo.hep", full_name="Lò Văn Hẹp")
    for i in range(3):
        make_case(full_name=f"Hoàng Thị Người Có Tên Rất Dài Số {i}")
    log_in(phone_page, live_server, officer.username)
    for url, name in (("/cases", "queue-360"), ("/cases?q=hoang&state=all", "queue-search-360"), ("/", "home-360")):
        phone_page.goto(f"{live_server}{url}")
        screenshot(phone_page, name)
        assert not has_horizontal_scroll(phone_page), url
