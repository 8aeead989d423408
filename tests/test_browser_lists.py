"""In Chromium: an officer uploads a small list, watches the bar while a worker previews it, reads
the preview, confirms, and sees the summary — the bar still right after a reload and in a second
tab, and moving in that tab while the import runs."""
from __future__ import annotations

import threading

import pytest

from cases.lists import jobs
from cases.roles import Role
from tests.browser import log_in, screenshot
from tests.conftest import BINH_GIA
from tests.test_list_jobs import NAMES, FakeList, sheets_safety, use_kind, workbook  # noqa: F401 - fixtures

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def worker(app):
    """A worker beside the server, as the scheduler's would be: it works whatever is queued."""
    stop = threading.Event()

    def run():
        while not stop.is_set():
            jobs.work_queued(app, "browser-worker")
            stop.wait(0.3)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def bar(page) -> int:
    return int(page.eval_on_selector("#job-bar", "el => el.value"))


def test_upload_preview_confirm_and_the_bar_in_two_tabs(live_server, browser, make_user, use_kind, worker):  # noqa: F811
    use_kind(FakeList(chunk=2, pause=0.8))
    officer = make_user(Role.OFFICER, communes=(BINH_GIA,))
    context = browser.new_context()
    page = context.new_page()
    log_in(page, live_server, officer.username)
    page.goto(f"{live_server}/lists")
    page.check("input[name=kind][value=beneficiaries]")
    page.set_input_files("input[name=file]", files=[{"name": "danh-sach.xlsx", "mimeType": XLSX,
                                                      "buffer": workbook(NAMES)}])
    page.click("#upload button[type=submit]")
    page.wait_for_url(f"{live_server}/lists/*")
    assert page.is_visible("#job-bar")

    # The worker previews it; the page, polling, reloads itself on the new state.
    page.wait_for_selector("#preview-counts", timeout=20_000)
    assert "Chờ xác nhận" in page.inner_text("#job-progress")
    assert page.inner_text("#preview-counts [data-count=created]") == "6"
    assert page.inner_text("#preview-counts [data-count=rejected]") == "1"
    assert "Thiếu họ và tên." in page.inner_text("#rejected")
    screenshot(page, "lists-preview")

    page.click("#decide button:has-text('Xác nhận nhập')")
    job_url = page.url
    second = context.new_page()
    second.goto(job_url)
    second.wait_for_function("() => { const b = document.getElementById('job-bar');"
                             " return b && b.value > 0 && b.value < 100; }", timeout=20_000)
    assert "Đang nhập" in second.inner_text("#job-progress")

    page.wait_for_selector("#summary", timeout=30_000)
    assert page.inner_text("#import-counts [data-count=created]") == "6"
    assert bar(page) == 100 and "Đã nhập xong" in page.inner_text("#job-progress")
    screenshot(page, "lists-summary")

    page.reload()
    assert bar(page) == 100 and page.is_visible("#summary")
    second.wait_for_selector("#summary", timeout=10_000)            # it reloaded itself at the end
    assert bar(second) == 100
    third = context.new_page()
    third.goto(job_url)
    assert bar(third) == 100 and third.inner_text("#import-counts [data-count=created]") == "6"
    context.close()


def test_the_lists_pages_fit_a_phone(live_server, phone_page, make_user, use_kind, app):  # noqa: F811
    from extensions import db, write_intent
    from cases.changes import utcnow
    from cases.organisation import commune_by_code
    from cases.users import actor_of
    from tests.browser import has_horizontal_scroll

    use_kind(FakeList())
    officer = make_user(Role.OFFICER, communes=(BINH_GIA,))
    with write_intent():
        job = jobs.enqueue(db.session, actor_of(officer), officer, FakeList.kind, commune_by_code(db.session, BINH_GIA).id,
                           "danh-sach-doi-tuong-bao-tro-xa-hoi-xa-binh-gia-thang-12-nam-2026.xlsx", workbook(NAMES),
                           utcnow())
        job_id = job.id
        db.session.commit()
    jobs.work_queued(app, "phone-worker")
    log_in(phone_page, live_server, officer.username)
    for path in ("/lists", f"/lists/{job_id}"):
        phone_page.goto(f"{live_server}{path}")
        assert not has_horizontal_scroll(phone_page), path
    screenshot(phone_page, "lists-job-phone")
