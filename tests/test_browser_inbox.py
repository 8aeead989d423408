"""The approvals inbox and a withdrawal, in a real browser (Debian's chromium through Playwright):
a supervisor approves two proposals at once; an officer withdraws a proposal from the case page."""
from __future__ import annotations

import pytest

from cases.actions import start_transition
from cases.models import Proposal, ProposalStatus
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.browser import has_horizontal_scroll, log_in, screenshot
from tests.helpers import case_row, proposals_of
from tests.paths import payload_for
from workflow.states import CaseState as S

pytestmark = pytest.mark.browser


def propose(case, by, trigger: str = "suspend") -> int:
    with write_intent():
        case = db.session.merge(case)
        proposal = start_transition(db.session, actor_of(by), by, case, trigger,
                                    payload_for(db.session, case, trigger), case.version, reason="Đi khỏi địa phương")
        proposal_id = proposal.id     # read before the commit: reading it after would begin a transaction
        db.session.commit()
    return proposal_id


def test_a_supervisor_approves_two_proposals_at_once(live_server, browser, make_user, make_case):
    officer = make_user(Role.OFFICER, full_name="Hoàng Thị Lan")
    supervisor = make_user(Role.SUPERVISOR, full_name="Vi Văn Đức")
    cases = [make_case(state=S.PAYMENT_METHOD, full_name=name) for name in ("Lục Văn Một", "Mông Văn Hai", "Hà Thị Ba")]
    ids = [propose(case, officer) for case in cases]
    page = browser.new_page()

    log_in(page, live_server, supervisor.username)
    page.goto(f"{live_server}/proposals")
    assert "3 đề xuất đang chờ" in page.inner_text("#inbox-count")
    page.check(f"#pick-{ids[0]}")
    page.check(f"#pick-{ids[1]}")
    page.fill("#batch-reason", "Đúng quy định, đủ hồ sơ")
    screenshot(page, "inbox")
    page.click("button[name=decision][value=approve]:has-text('Phê duyệt các đề xuất đã chọn')")
    page.wait_for_selector("#batch-summary")

    assert "Đã phê duyệt 2 đề xuất; 0 đề xuất không xử lý được." in page.inner_text("#batch-summary")
    done = page.inner_text("#done")
    assert "Lục Văn Một" in done and "Mông Văn Hai" in done and "Hà Thị Ba" not in done
    assert [case_row(c.id)["status"] for c in cases] == [S.SUSPENDED, S.SUSPENDED, S.PAYMENT_METHOD]
    assert [db.session.get(Proposal, i).status for i in ids] == [
        ProposalStatus.APPROVED, ProposalStatus.APPROVED, ProposalStatus.PENDING]
    screenshot(page, "inbox-result")


def test_select_all_on_the_page(live_server, browser, make_user, make_case):
    officer = make_user(Role.OFFICER)
    supervisor = make_user(Role.SUPERVISOR)
    ids = [propose(make_case(state=S.PAYMENT_METHOD), officer) for _ in range(3)]
    page = browser.new_page()
    log_in(page, live_server, supervisor.username)
    page.goto(f"{live_server}/proposals")

    page.check("#select-all")
    assert all(page.is_checked(f"#pick-{i}") for i in ids)
    page.uncheck(f"#pick-{ids[1]}")
    assert not page.is_checked("#select-all")
    page.check("#select-all")
    page.fill("#batch-reason", "Chưa đủ căn cứ")
    page.click("button[name=decision][value=reject]:has-text('Từ chối các đề xuất đã chọn')")
    page.wait_for_selector("#batch-summary")
    assert "Đã từ chối 3 đề xuất" in page.inner_text("#batch-summary")


def test_the_inbox_fits_a_phone(live_server, phone_page, make_user, make_case):
    officer = make_user(Role.OFFICER)
    supervisor = make_user(Role.SUPERVISOR)
    for _ in range(2):
        propose(make_case(state=S.PAID_BY_ACCOUNT), officer, "terminate")
    log_in(phone_page, live_server, supervisor.username)
    phone_page.goto(f"{live_server}/proposals")
    assert not has_horizontal_scroll(phone_page)
    screenshot(phone_page, "inbox-360")


def test_an_officer_withdraws_a_proposal(live_server, browser, make_user, make_case):
    officer = make_user(Role.OFFICER, full_name="Hoàng Thị Lan")
    case = make_case(state=S.PAYMENT_METHOD, by=officer)
    proposal_id = propose(case, officer)
    page = browser.new_page()

    log_in(page, live_server, officer.username)
    page.goto(f"{live_server}/cases/{case.id}")
    box = page.locator(f"#proposal-{proposal_id}")
    assert "Tạm dừng trợ cấp" in box.inner_text()
    assert "Hoàng Thị Lan (Cán bộ xã)" in box.inner_text()
    box.screenshot(path=str(screenshot(page, "withdraw-before").with_name("proposal-box.png")))
    box.locator("button:has-text('Rút đề xuất')").click()
    page.wait_for_selector("text=Đã rút đề xuất «Tạm dừng trợ cấp».")

    assert page.locator(f"#proposal-{proposal_id}").count() == 0
    assert proposals_of(case.id)[0].status is ProposalStatus.WITHDRAWN
    # a new proposal can be made: the action is offered again and goes through
    assert page.locator(f"a[href='/cases/{case.id}/actions/suspend']").count() == 1
    screenshot(page, "withdraw")
