"""The workflow page draws the lifecycle from the workflow table: every state with its SLA, every
move as a line through its transition (label, roles, approval rule), and the table below it.
Changing the table changes the picture."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from sqlalchemy import event

from cases.roles import Role
from extensions import db
from tests.conftest import LANG_SON
from workflow.diagram import DiagramText, moves, svg
from workflow.states import CaseState as S
from workflow.table import OFFICE, STATES, TRANSITIONS, Sla, TransitionSpec

SVG = "{http://www.w3.org/2000/svg}"


def drawing(browser) -> ET.Element:
    """The page's picture, parsed as XML (so it is well formed)."""
    response = browser.get("/workflow/diagram.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    return ET.fromstring(response.get_data(as_text=True))


def drawn_moves(root: ET.Element) -> set[tuple[str, str, str]]:
    """(trigger, source, target) for every line drawn: into a transition's box from its sources,
    out of it to its targets."""
    found = set()
    for group in root.iter(f"{SVG}g"):
        trigger = group.get("data-trigger")
        if trigger is None:
            continue
        paths = list(group.iter(f"{SVG}path"))
        sources = [p.get("data-from") for p in paths if p.get("data-from")]
        targets = [p.get("data-to") for p in paths if p.get("data-to")]
        found |= {(trigger, s, t) for s in sources for t in targets}
    return found


def words(root: ET.Element) -> str:
    return " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


@pytest.fixture
def officer_browser(make_user, make_client):
    return make_client(make_user(Role.OFFICER))


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN])
def test_every_role_sees_the_lifecycle(role, make_user, make_client):
    user = make_user(role, province=LANG_SON) if role in (Role.AUDITOR, Role.ADMIN) else make_user(role)
    response = make_client(user).get("/workflow")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Quy trình xử lý hồ sơ" in html and 'aria-current="page">Quy trình</a>' in html
    assert '<img src="/workflow/diagram.svg" alt="Sơ đồ quy trình xử lý hồ sơ' in html
    assert make_client(user).get("/workflow/diagram.svg").status_code == 200


def test_the_picture_holds_every_state_with_its_sla_and_every_transition(officer_browser):
    root = drawing(officer_browser)
    text = words(root)
    for state, spec in STATES.items():
        assert root.find(f".//{SVG}g[@data-state='{state.value}']") is not None
        assert str(spec.label) in text
    assert "Hạn: 10 ngày làm việc" in text and "Hạn: 20 ngày làm việc" in text and "Hạn: 3 tháng" in text
    for trigger, spec in TRANSITIONS.items():
        assert str(spec.label) in text
    assert "Cán bộ xã, Lãnh đạo phê duyệt" in text
    assert "Cần lãnh đạo phê duyệt" in text and "Không cần phê duyệt" in text


def test_every_move_of_the_table_is_drawn_and_nothing_else(officer_browser):
    root = drawing(officer_browser)
    expected = {(trigger, source.value, target.value) for trigger, source, target in moves()}
    assert drawn_moves(root) >= expected
    # a line into a box comes from a source of that transition, a line out of it goes to a target
    for trigger, spec in TRANSITIONS.items():
        group = root.find(f".//{SVG}g[@data-trigger='{trigger}']")
        assert {p.get("data-from") for p in group.iter(f"{SVG}path") if p.get("data-from")} == \
            {s.value for s in spec.sources}
        assert group.get("class") == ("arrow approval" if spec.needs_approval else "arrow")
    assert len(expected) == 37


def test_the_table_below_lists_states_and_transitions(officer_browser):
    html = officer_browser.get("/workflow").get_data(as_text=True)
    row = re.search(r'<tr data-trigger="suspend">(.*?)</tr>', html, re.S).group(1)
    assert "Tạm dừng trợ cấp" in row and "Cần lãnh đạo phê duyệt" in row and "Cán bộ xã" in row
    assert "Tạm dừng" in row and "Chờ xác thực danh tính" in row
    resume = re.search(r'<tr data-trigger="resume">(.*?)</tr>', html, re.S).group(1)
    assert "Trạng thái trước khi tạm dừng" in resume
    assert "Không có thời hạn" in html


def test_a_new_transition_in_the_table_appears_on_the_page(officer_browser, monkeypatch):
    spec = TransitionSpec("restore_after_appeal", (S.TERMINATED,), S.IDENTITY_VERIFICATION,
                          "Khôi phục sau khiếu nại", "AppealForm", frozenset({Role.SUPERVISOR}), True, "decision")
    monkeypatch.setitem(TRANSITIONS, spec.trigger, spec)
    html = officer_browser.get("/workflow").get_data(as_text=True)
    root = drawing(officer_browser)
    assert ("restore_after_appeal", "terminated", "identity_verification") in drawn_moves(root)
    assert "Khôi phục sau khiếu nại" in words(root)
    assert '<tr data-trigger="restore_after_appeal">' in html


def test_the_drawing_follows_a_table_given_to_it():
    text = DiagramText(state=lambda s: f"[{s.value}]", trigger=lambda t: f"<{t}>", role=lambda r: r.value,
                       sla=lambda sla: f"SLA {sla.amount}", approval="4 eyes", no_approval="1 pair",
                       stays="stays", returns="returns", headings=("from", "do", "to"), title="t")
    states = dict(STATES)
    states[S.SUSPENDED] = replace(states[S.SUSPENDED], sla=Sla(7, "days"))
    transitions = {"verify_identity": TRANSITIONS["verify_identity"],
                   "shortcut": TransitionSpec("shortcut", (S.IDENTITY_VERIFICATION,), S.PAID_IN_CASH, "x", None,
                                              OFFICE, False, "")}
    root = ET.fromstring(str(svg(text, states, transitions)))
    assert drawn_moves(root) == {("verify_identity", "identity_verification", "payment_method"),
                                 ("shortcut", "identity_verification", "paid_in_cash")}
    assert "<shortcut>" in words(root) and "SLA 7" in words(root) and "1 pair" in words(root)


def test_the_page_runs_a_fixed_number_of_statements(officer_browser):
    statements = []
    engine = db.engine
    listener = lambda *args: statements.append(args[2])     # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert officer_browser.get("/workflow").status_code == 200
        assert officer_browser.get("/workflow/diagram.svg").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    # the session's user for each request, nothing per state or transition
    assert len(statements) <= 6, statements


@pytest.mark.parametrize("url", ["/workflow", "/workflow/diagram.svg"])
def test_the_page_needs_a_login(url, client):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_picture_is_in_the_readers_language(make_user, make_client):
    user = make_user(Role.OFFICER)
    user.locale = "en"
    db.session.commit()
    root = drawing(make_client(user))
    assert root.find(f"{SVG}title").text      # drawn, whatever the catalogue holds yet
