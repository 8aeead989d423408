"""The approvals inbox: the pending proposals in scope, oldest first, with what each would change,
its legal reason, effective month, proposer and age; filters by commune and kind; keyset paging;
a fixed number of SQL statements per page; and deciding several at once, each on its own."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest

from cases import inbox
from cases.actions import start_transition
from cases.audit import verify_chain
from cases.inbox import InboxFilter, decode_cursor, inbox_page
from cases.models import Proposal, ProposalStatus
from cases.organisation import commune_by_code
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, TAN_VAN, csrf_token
from tests.helpers import audit_records, case_row, fill_and_submit, last_seq, proposals_of, text_of, statements
from tests.paths import payload_for
from workflow.states import CaseState as S

OWN_PROPOSAL = "Không được tự phê duyệt hoặc từ chối đề xuất do chính mình lập."
CASE_CHANGED = ("Hồ sơ đã thay đổi sau khi đề xuất được lập, nên không thể phê duyệt. "
                "Hãy từ chối đề xuất này; cán bộ lập đề xuất mới nếu vẫn cần.")
NEEDS_REASON = "Cần ghi lý do / ý kiến khi phê duyệt hoặc từ chối."


@pytest.fixture
def people(make_user):
    return {
        "officer": make_user(Role.OFFICER, full_name="Hoàng Thị Lan"),
        "tan_van_officer": make_user(Role.OFFICER, communes=(TAN_VAN,), full_name="Nông Văn Tâm"),
        "supervisor": make_user(Role.SUPERVISOR, full_name="Vi Văn Đức"),
        "other_supervisor": make_user(Role.SUPERVISOR, full_name="Chu Thị Mến"),
        "province": make_user(Role.SUPERVISOR, province=LANG_SON, full_name="Lương Văn Tỉnh"),
        "ha_noi": make_user(Role.SUPERVISOR, communes=(OTHER_COMMUNE,), full_name="Đỗ Thị Hà"),
    }


def propose(case, by, trigger: str = "suspend", reason: str | None = "Đi khỏi địa phương",
            proposed_at: datetime | None = None, **payload) -> int:
    """A pending proposal of `trigger` on `case` by `by`, made through the service; its id."""
    with write_intent():
        case = db.session.merge(case)
        data = payload_for(db.session, case, trigger) | payload
        proposal = start_transition(db.session, actor_of(by), by, case, trigger, data, case.version, reason=reason)
        if proposed_at is not None:
            proposal.proposed_at = proposed_at
        proposal_id = proposal.id     # read before the commit: reading it after would begin a transaction
        db.session.commit()
    return proposal_id


@pytest.fixture
def three_pending(people, make_case):
    """Three pending proposals, oldest first: a suspension in Bình Gia (3 days old), a termination
    in Tân Văn (2 days), a suspension in Bình Gia (1 day)."""
    now = datetime.utcnow().replace(microsecond=0)
    first = make_case(state=S.PAYMENT_METHOD, full_name="Lục Văn Một")
    second = make_case(state=S.PAID_BY_ACCOUNT, commune=TAN_VAN, full_name="Hà Thị Hai")
    third = make_case(state=S.PAYMENT_METHOD, full_name="Mông Văn Ba")
    return [
        (first, propose(first, people["officer"], proposed_at=now - timedelta(days=3))),
        (second, propose(second, people["tan_van_officer"], "terminate", proposed_at=now - timedelta(days=2))),
        (third, propose(third, people["officer"], proposed_at=now - timedelta(days=1))),
    ]


def rows_of(page: str) -> list[int]:
    """The proposal ids of the inbox's rows, in order."""
    return [int(n) for n in re.findall(r'<tr data-proposal="(\d+)"', page)]




# --- The list ------------------------------------------------------------------------------

def test_the_province_supervisor_sees_every_pending_proposal_oldest_first(people, three_pending, make_client):
    browser = make_client(people["province"])

    page = text_of(browser.get("/proposals"))

    assert rows_of(page) == [p for _, p in three_pending]
    assert "3 đề xuất đang chờ" in page
    (first, _), (second, _), _ = three_pending
    assert f"{first.id} — Lục Văn Một" in page and f"{second.id} — Hà Thị Hai" in page
    assert "Xã Bình Gia" in page and "Xã Tân Văn" in page
    assert "Tạm dừng trợ cấp" in page and "Thôi hưởng trợ cấp" in page
    assert "Hoàng Thị Lan (Cán bộ xã)" in page and "Nông Văn Tâm (Cán bộ xã)" in page
    assert date.today().strftime("%m/%Y") in page                 # the effective month, MM/YYYY
    assert "TT02.D2.K3.a" in page                                 # the legal reason, with its text
    assert "ngày làm việc" in page
    # no raw keys or ISO dates: every field by its label
    for raw in ("reason_code", "effective_month", "decision_number", date.today().replace(day=1).isoformat()):
        assert raw not in page, raw
    assert "Số quyết định" in page and "5/QĐ" in page


def test_a_commune_supervisor_sees_only_their_communes(people, three_pending, make_client):
    (first, p1), (_, p2), (third, p3) = three_pending
    page = text_of(make_client(people["supervisor"]).get("/proposals"))
    assert rows_of(page) == [p1, p3]
    assert "2 đề xuất đang chờ" in page and "Hà Thị Hai" not in page
    elsewhere = text_of(make_client(people["ha_noi"]).get("/proposals"))
    assert rows_of(elsewhere) == [] and "Không có đề xuất nào đang chờ." in elsewhere
    assert "Lục Văn Một" not in elsewhere and "0 đề xuất đang chờ" in elsewhere


def test_filters_by_commune_and_kind_live_in_the_url(people, three_pending, make_client):
    (_, p1), (_, p2), (_, p3) = three_pending
    browser = make_client(people["province"])
    binh_gia, tan_van = commune_by_code(db.session, BINH_GIA).id, commune_by_code(db.session, TAN_VAN).id

    assert rows_of(text_of(browser.get(f"/proposals?commune={binh_gia}"))) == [p1, p3]
    page = text_of(browser.get(f"/proposals?commune={tan_van}"))
    assert rows_of(page) == [p2] and "1 đề xuất đang chờ" in page
    assert f'<option value="{tan_van}" selected>' in page
    assert rows_of(text_of(browser.get("/proposals?kind=terminate"))) == [p2]
    assert rows_of(text_of(browser.get(f"/proposals?kind=suspend&commune={binh_gia}"))) == [p1, p3]
    assert rows_of(text_of(browser.get(f"/proposals?kind=terminate&commune={binh_gia}"))) == []


@pytest.mark.parametrize("query", ["commune=abc", "commune=99999999999999999999999", "commune=-1", "kind=nope",
                                   "kind=verify_identity", "after=x", "after=2026-13-01T00:00:00_1",
                                   "before=_1e30", "after=2026-01-01T00:00:00_99999999999999999999"])
def test_odd_filters_and_cursors_are_ignored(query, people, three_pending, make_client):
    response = make_client(people["province"]).get(f"/proposals?{query}")
    assert response.status_code == 200
    assert rows_of(text_of(response)) == [p for _, p in three_pending]


def test_keyset_paging_next_and_previous(people, three_pending, make_client, monkeypatch):
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    ids = [p for _, p in three_pending]
    browser = make_client(people["province"])

    first = text_of(browser.get("/proposals"))
    assert rows_of(first) == ids[:2] and "3 đề xuất đang chờ" in first
    assert "← Trang trước" not in first
    following = re.search(r'href="([^"]*after=[^"]+)"', first).group(1)
    second = text_of(browser.get(following))
    assert rows_of(second) == ids[2:] and "3 đề xuất đang chờ" in second
    assert "Trang sau →" not in second
    back = re.search(r'href="([^"]*before=[^"]+)"', second).group(1)
    again = text_of(browser.get(back))
    assert rows_of(again) == ids[:2]
    assert "Trang sau →" in again and "← Trang trước" not in again


def test_keyset_paging_keeps_the_filter(people, three_pending, make_client, monkeypatch):
    monkeypatch.setattr(inbox, "PAGE_SIZE", 1)
    (_, p1), _, (_, p3) = three_pending
    binh_gia = commune_by_code(db.session, BINH_GIA).id
    browser = make_client(people["province"])
    first = text_of(browser.get(f"/proposals?commune={binh_gia}"))
    following = re.search(r'href="([^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    assert f"commune={binh_gia}" in following
    assert rows_of(text_of(browser.get(following))) == [p3]


def test_paging_service_on_equal_times_breaks_ties_by_id(people, make_case):
    same = datetime(2026, 11, 2, 3, 4, 5)
    ids = [propose(make_case(state=S.PAYMENT_METHOD), people["officer"], proposed_at=same) for _ in range(3)]
    user = people["province"]
    page = inbox_page(db.session, user, size=2)
    assert [r.proposal.id for r in page.rows] == ids[:2] and page.total == 3
    assert decode_cursor(page.next_cursor) == (same, ids[1])
    rest = inbox_page(db.session, user, after=page.next_cursor, size=2)
    assert [r.proposal.id for r in rest.rows] == ids[2:] and rest.next_cursor is None
    back = inbox_page(db.session, user, before=rest.previous_cursor, size=2)
    assert [r.proposal.id for r in back.rows] == ids[:2] and back.previous_cursor is None
    assert inbox_page(db.session, user, InboxFilter(kind="terminate")).total == 0


def test_the_inbox_runs_a_fixed_number_of_statements(people, make_case, make_client):
    browser = make_client(people["province"])
    officer = people["officer"]
    propose(make_case(state=S.PAYMENT_METHOD), officer)
    browser.get("/proposals")                      # warm: the calendar's and names' process caches
    with statements() as few:
        assert browser.get("/proposals").status_code == 200
    for n in range(6):
        case = make_case(state=S.PAID_BY_ACCOUNT if n % 2 else S.PAYMENT_METHOD, commune=TAN_VAN if n % 3 else BINH_GIA)
        propose(case, officer if not n % 3 else people["tan_van_officer"], "terminate" if n % 2 else "suspend")
    case = make_case(state=S.PAID_BY_ACCOUNT)
    propose(case, officer, "change_account")
    browser.get("/proposals")
    with statements() as many:
        page = browser.get("/proposals")
    assert len(rows_of(text_of(page))) == 8
    assert many["n"] == few["n"], (few["n"], many["n"])


# --- Deciding from the list ----------------------------------------------------------------

def post_decisions(browser, ids, decision: str, reason: str, query: str = ""):
    token = csrf_token(browser.get("/proposals").get_data(as_text=True))
    return browser.post(f"/proposals/decisions{query}", data={
        "csrf_token": token, "proposal": [str(i) for i in ids], "decision": decision, "reason": reason})


def test_a_supervisor_approves_several_at_once(people, three_pending, make_client):
    (first, p1), _, (third, p3) = three_pending
    browser = make_client(people["supervisor"])
    seq = last_seq()
    assert 'name="proposal" value="%d"' % p1 in browser.get("/proposals").get_data(as_text=True)

    response = post_decisions(browser, [p1, p3], "approve", "Đúng quy định")

    assert response.status_code == 200
    page = text_of(response)
    assert "Đã phê duyệt 2 đề xuất; 0 đề xuất không xử lý được." in page
    assert f"{first.id} — Lục Văn Một" in page and f"{third.id} — Mông Văn Ba" in page
    for case in (first, third):
        assert case_row(case.id)["status"] == S.SUSPENDED
        decided = proposals_of(case.id)[0]
        assert (decided.status, decided.decided_by_id, decided.decision_reason) == (
            ProposalStatus.APPROVED, people["supervisor"].id, "Đúng quy định")
    records = audit_records(seq)
    assert sorted((r.action, r.proposal_id) for r in records) == [("proposal.approve", p1), ("proposal.approve", p3)]
    assert all(r.reason == "Đúng quy định" and r.actor_id == people["supervisor"].id for r in records)
    report = verify_chain(db.session)
    assert report.ok


def test_a_refusal_of_one_does_not_undo_the_others(people, make_case, make_client):
    """Own proposal (four eyes), a case changed since (stale), already decided by someone else:
    each refused with its reason; the fourth is approved."""
    supervisor = people["supervisor"]
    own_case, stale_case, decided_case, good_case = (make_case(state=S.PAYMENT_METHOD, phone="0912345678")
                                                     for _ in range(4))
    own = propose(own_case, supervisor)
    stale = propose(stale_case, people["officer"])
    decided = propose(decided_case, people["officer"])
    good = propose(good_case, people["officer"])
    officer = make_client(people["officer"])
    assert fill_and_submit(officer, f"/cases/{stale_case.id}/edit", {"phone": "0987654321"}).status_code == 302
    assert post_decisions(make_client(people["other_supervisor"]), [decided], "reject", "Không đủ hồ sơ").status_code == 200
    before = {c.id: case_row(c.id) for c in (own_case, stale_case, decided_case)}
    browser = make_client(supervisor)
    seq = last_seq()

    response = post_decisions(browser, [own, stale, decided, good], "approve", "Đồng ý")

    page = text_of(response)
    assert "Đã phê duyệt 1 đề xuất; 3 đề xuất không xử lý được." in page
    refused = page.split('id="refused"')[1]
    assert OWN_PROPOSAL in refused and CASE_CHANGED in refused and "Đề xuất này đã được xử lý." in refused
    assert case_row(good_case.id)["status"] == S.SUSPENDED
    for case_id, row in before.items():
        assert case_row(case_id) == row
    statuses = {p: db.session.get(Proposal, p).status for p in (own, stale, decided, good)}
    assert statuses == {own: ProposalStatus.PENDING, stale: ProposalStatus.PENDING,
                        decided: ProposalStatus.REJECTED, good: ProposalStatus.APPROVED}
    assert [(r.action, r.proposal_id) for r in audit_records(seq)] == [("proposal.approve", good)]
    assert verify_chain(db.session).ok


def test_a_batch_rejection(people, three_pending, make_client):
    (first, p1), _, (third, p3) = three_pending
    before = {c.id: case_row(c.id) for c in (first, third)}
    page = text_of(post_decisions(make_client(people["supervisor"]), [p1, p3], "reject", "Thiếu quyết định"))
    assert "Đã từ chối 2 đề xuất; 0 đề xuất không xử lý được." in page
    for case in (first, third):
        assert case_row(case.id) == before[case.id]
        assert proposals_of(case.id)[0].status is ProposalStatus.REJECTED


def test_the_row_button_decides_that_proposal_only(people, three_pending, make_client):
    (first, p1), _, (third, p3) = three_pending
    browser = make_client(people["supervisor"])
    page = browser.get("/proposals").get_data(as_text=True)
    assert f'formaction="/proposals/decisions?single={p3}"' in page

    response = post_decisions(browser, [p1, p3], "approve", "Đồng ý", query=f"?single={p3}")

    assert "Đã phê duyệt 1 đề xuất" in text_of(response)
    assert proposals_of(third.id)[0].status is ProposalStatus.APPROVED
    assert proposals_of(first.id)[0].status is ProposalStatus.PENDING


def test_a_supervisor_is_not_offered_their_own_proposal(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    own = propose(case, people["supervisor"])
    page = text_of(make_client(people["supervisor"]).get("/proposals"))
    assert rows_of(page) == [own]
    assert f'value="{own}"' not in page and f"single={own}" not in page
    assert "Đề xuất do bạn lập: lãnh đạo khác phê duyệt." in page
    other = text_of(make_client(people["other_supervisor"]).get("/proposals"))
    assert f'name="proposal" value="{own}"' in other


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_batch_needs_a_reason(reason, people, three_pending, make_client):
    (_, p1), _, (_, p3) = three_pending
    browser = make_client(people["supervisor"])
    seq = last_seq()
    response = post_decisions(browser, [p1, p3], "approve", reason)
    assert response.status_code == 302
    assert NEEDS_REASON in text_of(browser.get(response.headers["Location"]))
    assert all(db.session.get(Proposal, p).status is ProposalStatus.PENDING for p in (p1, p3))
    assert last_seq() == seq


def test_a_reason_too_long_is_refused_in_vietnamese(people, three_pending, make_client):
    (_, p1), _, _ = three_pending
    browser = make_client(people["supervisor"])
    response = post_decisions(browser, [p1], "approve", "x" * 501)
    assert response.status_code == 302
    assert "Không được dài quá 500 ký tự." in text_of(browser.get(response.headers["Location"]))
    assert db.session.get(Proposal, p1).status is ProposalStatus.PENDING


def test_a_batch_needs_a_choice_and_has_a_cap(people, three_pending, make_client):
    browser = make_client(people["supervisor"])
    response = post_decisions(browser, [], "approve", "Đồng ý")
    assert "Chưa chọn đề xuất nào." in text_of(browser.get(response.headers["Location"]))
    (_, p1), _, _ = three_pending
    response = post_decisions(browser, [p1] + list(range(10_000, 10_000 + inbox.MAX_BATCH)), "approve", "Đồng ý")
    assert response.status_code == 302
    message = text_of(browser.get(response.headers["Location"]))
    assert f"Mỗi lần chỉ xử lý được tối đa {inbox.MAX_BATCH} đề xuất; bạn đã chọn {inbox.MAX_BATCH + 1}." in message
    assert db.session.get(Proposal, p1).status is ProposalStatus.PENDING
    response = post_decisions(browser, [p1], "maybe", "Đồng ý")
    assert "Hãy chọn «Phê duyệt» hoặc «Từ chối»." in text_of(browser.get(response.headers["Location"]))


def test_proposals_out_of_scope_are_not_found(people, three_pending, make_client):
    _, (second, p2), (_, p3) = three_pending
    before = case_row(second.id)
    page = text_of(post_decisions(make_client(people["supervisor"]), [p2, p3, 987654], "approve", "Đồng ý"))
    assert "Đã phê duyệt 1 đề xuất; 2 đề xuất không xử lý được." in page
    assert page.count("Không tìm thấy đề xuất này trong phạm vi của bạn.") == 2
    assert "Hà Thị Hai" not in page
    assert case_row(second.id) == before and db.session.get(Proposal, p2).status is ProposalStatus.PENDING


@pytest.mark.parametrize("who", ["officer", "ha_noi"])
def test_who_may_not_decide_in_batch(who, people, three_pending, make_client):
    (_, p1), _, _ = three_pending
    browser = make_client(people[who])
    response = post_decisions(browser, [p1], "approve", "Đồng ý")
    if who == "officer":
        assert response.status_code == 403
        assert "Chỉ lãnh đạo phê duyệt mới được duyệt hoặc từ chối đề xuất." in text_of(response)
        assert 'name="proposal"' not in browser.get("/proposals").get_data(as_text=True)
    else:
        assert "Không tìm thấy đề xuất này trong phạm vi của bạn." in text_of(response)
    assert db.session.get(Proposal, p1).status is ProposalStatus.PENDING


def test_no_csrf_no_decision(people, three_pending, make_client):
    (_, p1), _, _ = three_pending
    browser = make_client(people["supervisor"])
    response = browser.post("/proposals/decisions", data={"proposal": [str(p1)], "decision": "approve",
                                                          "reason": "Đồng ý"})
    assert response.status_code == 400
    assert db.session.get(Proposal, p1).status is ProposalStatus.PENDING


def test_get_on_the_decisions_route_is_not_a_500(people, make_client):
    assert make_client(people["supervisor"]).get("/proposals/decisions").status_code == 405


def test_an_approval_for_a_later_month_says_when(people, make_case, make_client):
    case = make_case(state=S.PAYMENT_METHOD)
    later = (date.today().replace(day=1) + timedelta(days=62)).replace(day=1)
    proposal = propose(case, people["officer"], effective_month=later.isoformat())
    page = text_of(post_decisions(make_client(people["supervisor"]), [proposal], "approve", "Đồng ý"))
    assert f"Đã phê duyệt, có hiệu lực từ tháng {later.strftime('%m/%Y')}" in page
    assert db.session.get(Proposal, proposal).status is ProposalStatus.SCHEDULED
    assert case_row(case.id)["status"] == S.PAYMENT_METHOD


def test_the_inbox_shows_a_held_back_edit_as_old_and_new(people, make_case, make_client):
    case = make_case(state=S.PAID_BY_ACCOUNT)
    propose(case, people["officer"], "amend_protected_fields")
    page = text_of(make_client(people["supervisor"]).get("/proposals"))
    assert "Sửa mức trợ cấp hoặc số CCCD" in page
    assert "Số CCCD" in page and "→" in page
    assert "national_id" not in page


# --- PostgreSQL: two supervisors decide overlapping batches at the same moment -----------------

@pytest.mark.postgresql
def test_overlapping_batches_decide_each_proposal_once(app, people, make_user, make_case):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from cases.inbox import decide_many
    from cases.models import User
    ids = [propose(make_case(state=S.PAYMENT_METHOD), people["officer"]) for _ in range(6)]
    deciders = [people["supervisor"].id, people["other_supervisor"].id, people["province"].id]
    batches = [ids, list(reversed(ids)), ids[2:] + ids[:2]]
    barrier, seq = threading.Barrier(len(deciders)), last_seq()

    def run(task) -> int:
        user_id, batch = task
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                actor = actor_of(user)
                db.session.commit()
                barrier.wait(timeout=60)
                with write_intent():
                    result = decide_many(db.session, actor, user, batch, "approve", f"Đồng ý ({user.username})")
                    db.session.commit()
                return len(result.done)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(deciders)) as pool:
        done = list(pool.map(run, zip(deciders, batches)))

    assert sum(done) == len(ids)
    assert all(db.session.get(Proposal, i).status is ProposalStatus.APPROVED for i in ids)
    records = audit_records(seq)
    assert sorted(r.proposal_id for r in records) == sorted(ids)
    assert all(r.action == "proposal.approve" for r in records)
    assert verify_chain(db.session).ok
