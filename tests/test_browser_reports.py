"""In Chromium, issue 17's "done when": a province supervisor opens last month's report for Lạng Sơn,
sees which communes are behind their 60 % and when each will get there, downloads the workbook
and signs the report off; the signed report then reads as signed, from its stored figures."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from cases.changes import local_today
from cases.models import ArchivedReport
from cases.reports.periods import Period, add_months
from cases.roles import Role
from extensions import db
from tests.browser import log_in, screenshot
from tests.conftest import BINH_GIA, LANG_SON, TAN_VAN
from tests.test_reports import set_target
from workflow.states import CaseState as S


def test_a_supervisor_reads_downloads_and_signs_off_last_months_report(live_server, browser, make_user, make_case):
    make_case(state=S.PAID_BY_ACCOUNT, commune=BINH_GIA)
    make_case(state=S.PAYMENT_METHOD, commune=TAN_VAN)
    set_target(None, 600, date(2026, 12, 31))
    supervisor = make_user(Role.SUPERVISOR, province=LANG_SON)
    # This month: the cases were made today, and last month counted none of them.
    period = Period.month_of(local_today())
    page = browser.new_context(accept_downloads=True).new_page()
    log_in(page, live_server, supervisor.username)
    page.click("nav >> text=Báo cáo")
    assert page.is_visible("#report-choice")
    assert page.input_value("#period") == Period.month_of(add_months(local_today().replace(day=1), -1)).code
    page.select_option("#period", period.code)
    page.click("#report-choice button[type=submit]")
    page.wait_for_selector("#behind-summary")
    assert "Tân Văn" in page.inner_text("#behind-summary")
    assert "60,0%" in page.inner_text("#unit-target")
    assert page.locator("img.chart").count() == 2
    screenshot(page, "report-province")

    with page.expect_download() as download:
        page.click("#report-actions >> text=Tải tệp Excel")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    heading = [str(c.value) for row in book.active.iter_rows(max_row=6) for c in row if c.value]
    assert any("UBND TỈNH LẠNG SƠN" in text for text in heading)

    page.click("#archive-form button[type=submit]")
    page.wait_for_selector("#signature")
    assert "Đã ký duyệt" in page.inner_text("#signature")
    assert "✓" in page.inner_text("#verified")
    db.session.rollback()       # read what the server committed
    archived = db.session.scalars(select(ArchivedReport)).one()
    assert (archived.signed_by_id, archived.period) == (supervisor.id, period.code)
