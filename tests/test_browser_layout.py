"""At 360 px (a phone at the commune office) no page scrolls sideways, and from the keyboard the
first Tab reaches the skip link, then the main content, each focus drawn visibly.

Screenshots of every page go to test-artifacts/360-*.png."""
from __future__ import annotations

import pytest

from cases.actions import start_transition
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.browser import has_horizontal_scroll, screenshot
from tests.conftest import PASSWORD
from tests.paths import payload_for
from workflow.states import CaseState as S

pytestmark = pytest.mark.browser

# Elements wider than the viewport: the culprit named in a failure, not just "it scrolls".
WIDE_ELEMENTS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && !el.closest('.table-scroll, .diagram')) {
      const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                   (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
      wide.push(name + ' (' + Math.round(box.right) + ' px)');
    }
  }
  return wide.slice(0, 8);
}"""


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def scene(make_user, make_case):
    """An officer and a supervisor of Bình Gia; cases in the queue with long names; a case with
    a history and a pending proposal."""
    officer = make_user(Role.OFFICER, full_name="Nguyễn Thị Phương Thảo Hoàng Bảo Ngọc")
    supervisor = make_user(Role.SUPERVISOR, full_name="Hoàng Văn Minh")
    for name in ("Nông Thị Ngọc Bích Hoàng Diệu Linh Phương", "Lường Văn Đức", "Vi Thị Hạnh"):
        make_case(state=S.IDENTITY_VERIFICATION, by=officer, full_name=name)
    case = make_case(state=S.PAID_BY_ACCOUNT, by=officer, full_name="Hoàng Văn Thụ",
                     address_detail="Số nhà 123, ngõ 45, đường Hoàng Văn Thụ, khu phố Chi Lăng")
    with write_intent():
        start_transition(db.session, actor_of(officer), officer, case, "suspend",
                         payload_for(db.session, case, "suspend"), case.version)
        db.session.commit()
    return {"officer": officer, "supervisor": supervisor, "case": case}


PAGES = {  # name: (who, path)
    "home": ("officer", "/"),
    "queue": ("officer", "/cases?state=identity_verification"),
    "case": ("officer", "/cases/{case}"),
    "new-case": ("officer", "/cases/new"),
    "inbox": ("supervisor", "/proposals"),
    "workflow": ("officer", "/workflow"),
    "error": ("officer", "/proposals/1/approve"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_scrolls_sideways_at_360_px(name, scene, live_server, phone_page):
    who, path = PAGES[name]
    sign_in(phone_page, live_server, scene[who].username)
    response = phone_page.goto(live_server + path.format(case=scene["case"].id))
    assert response.status in (200, 405), response.status
    screenshot(phone_page, f"360-{name}")
    wide = phone_page.evaluate(WIDE_ELEMENTS)
    assert not has_horizontal_scroll(phone_page), f"{name} at 360 px is wider than the screen: {wide}"


def test_the_login_page_fits_360_px(live_server, phone_page):
    phone_page.goto(f"{live_server}/login")
    screenshot(phone_page, "360-login")
    assert not has_horizontal_scroll(phone_page)


def focused(page) -> dict:
    return page.evaluate("""() => {
      const el = document.activeElement, style = getComputedStyle(el);
      return {tag: el.tagName.toLowerCase(), cls: el.className, name: el.getAttribute('name'),
              id: el.id, inMain: !!el.closest('main'), outline: style.outlineStyle,
              width: parseFloat(style.outlineWidth) || 0, color: style.outlineColor};
    }""")


def test_the_keyboard_reaches_the_skip_link_first_then_the_main_content(scene, live_server, phone_page):
    page = phone_page
    sign_in(page, live_server, scene["officer"].username)
    page.goto(f"{live_server}/cases?state=identity_verification")
    page.keyboard.press("Tab")
    first = focused(page)
    assert first["cls"] == "skip-link", first
    assert first["outline"] != "none" and first["width"] >= 2, first
    assert page.locator(".skip-link").bounding_box()["y"] >= 0          # shown on screen when focused
    screenshot(page, "360-keyboard-skip-link")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    page.keyboard.press("Tab")
    inside = focused(page)
    assert inside["inMain"] and inside["outline"] != "none" and inside["width"] >= 2, inside
    search = page.locator("main input[type=search], main input[name=q]")
    if search.count():          # the queue's search box, once it exists, is a few Tabs away
        for _ in range(15):
            if focused(page)["name"] == "q" or page.evaluate("document.activeElement.type") == "search":
                break
            page.keyboard.press("Tab")
        assert focused(page)["outline"] != "none"
        assert page.evaluate("document.activeElement.type") == "search" or focused(page)["name"] == "q"


def test_every_link_and_button_of_the_frame_shows_its_focus(scene, live_server, phone_page):
    page = phone_page
    sign_in(page, live_server, scene["officer"].username)
    page.goto(f"{live_server}/workflow")
    seen = 0
    for _ in range(20):
        page.keyboard.press("Tab")
        state = focused(page)
        if state["inMain"]:
            break
        assert state["outline"] != "none" and state["width"] >= 2, state
        seen += 1
    assert seen >= 8        # skip link, brand, the navigation, the language switch, logout


# Text against the background it is drawn on (the first opaque one up the tree), WCAG's formula.
LOW_CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
                              if (c.length === 3 || c[3] === 1) return c; } return [255, 255, 255]; };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === 'hidden' || !el.getClientRects().length || el.closest('.visually-hidden, [disabled]')) continue;
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(el.tagName.toLowerCase() + '.' + (el.className || '') + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
  }
  return low.slice(0, 10);
}"""


@pytest.mark.parametrize("name", ["home", "queue", "case", "inbox", "workflow", "error"])
def test_text_has_enough_contrast_and_nothing_comes_from_the_internet(name, scene, live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    who, path = PAGES[name]
    sign_in(page, live_server, scene[who].username)
    page.goto(live_server + path.format(case=scene["case"].id))
    page.wait_for_load_state("networkidle")
    foreign = [url for url in requested if not url.startswith((live_server, "data:"))]
    assert not foreign, f"{name} loads from outside the app: {foreign}"
    low = page.evaluate(LOW_CONTRAST)
    assert not low, f"{name}: text under 4.5:1 against its background: {low}"
    page.close()
