"""What every browser test needs: the app served on 127.0.0.1 by the test, Debian's chromium
driven by Playwright (never a downloaded browser), a login, and screenshots kept as artefacts.

The fixtures are imported by tests/conftest.py, so any test may ask for `live_server`, `browser`
or `phone_page` (a 360 px wide page).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

# Where screenshots go: TEST_ARTIFACTS when set (CI keeps it), else test-artifacts/ in the checkout.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or Path(__file__).resolve().parent.parent / "test-artifacts")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def _closing(app):
    """The app with each response closed as soon as it is sent. werkzeug's development server
    closes it only after draining the socket, and skips that when the browser has already dropped
    the connection (a page navigating on): a static file left open, a ResourceWarning, and so an
    error in whichever test runs then."""
    def closing(environ, start_response):
        response = app(environ, start_response)
        try:
            yield from response
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
    return closing


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/cases*")



@pytest.fixture
def phone_page(browser):
    """A page as a 360 px wide phone shows it."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> Path:
    """Save the whole page as test-artifacts/<name>.png and return the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def has_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
