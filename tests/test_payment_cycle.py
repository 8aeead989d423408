"""The payment cycle on the home page and in the digest (issue 18, item 5): a provider's month
walked by hand from no list to drafted, signed, sent, its return received and reconciled with a
row left waiting — what the province's users read at each stage, the due dates of the rules
(before the 25th of the month before; the return before the 20th), the reminder in the digest
while a step is due within three working days or late, and none once it is done.

Today is injected: Thursday 19 November 2026 (December's list due before 25/11, November's return
before 20/11); Tuesday 24 November is a public holiday (Ngày Văn hóa Việt Nam)."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select, update

import views.queues
from cases.models import PaymentLine, PaymentList, PaymentProvider, User
from cases.models.lists import ListJobState
from cases.payments.cycle import CycleStage, cycle_of, list_due_before, return_due_before
from cases.payments.lists import draft_list, record_download, sign_list
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, OTHER_PROVINCE
from tests.helpers import fresh, statements, text_of
from tests.test_escalation import entered
from tests.test_watchers import digests, run as run_day
from tests.test_payment_returns import provider, run, the_return
from workflow.states import CaseState as S

NOVEMBER, DECEMBER = date(2026, 11, 1), date(2026, 12, 1)
TODAY = date(2026, 11, 19)
BASE = "https://ansinh.example.vn"
POST = "Bưu điện tỉnh Lạng Sơn"


@pytest.fixture
def people(make_user):
    found = {"officer": make_user(Role.OFFICER, province=LANG_SON),
             "supervisor": make_user(Role.SUPERVISOR, province=LANG_SON),
             "commune_officer": make_user(Role.OFFICER, communes=(BINH_GIA,)),
             "supervisor_ha_noi": make_user(Role.SUPERVISOR, province=OTHER_PROVINCE)}
    with write_intent():
        for user in found.values():
            db.session.execute(update(User).where(User.id == user.id).values(email=f"{user.username}@example.vn"))
        db.session.commit()
    return found


@pytest.fixture
def cash(people, make_case):
    """Two people paid in cash: on the post office's list."""
    return {name: make_case(S.PAID_IN_CASH, by=people["commune_officer"], full_name=f"Nông Thị {name}").id
            for name in ("An", "Bình")}


def on(monkeypatch, day: date) -> None:
    """The home page's today."""
    monkeypatch.setattr(views.queues, "local_today", lambda: day)


def draft(people, month: date, short_name: str = "BUUDIEN-LS") -> int:
    with write_intent():
        plist = draft_list(db.session, actor_of(people["officer"]), people["officer"], provider(short_name), month)
        db.session.commit()
        return plist.id


def sign(people, list_id: int) -> None:
    with write_intent():
        sign_list(db.session, actor_of(people["supervisor"]), people["supervisor"], list_id, b"xlsx")
        db.session.commit()


def send(people, list_id: int, on_day: date) -> None:
    """The first download: the list goes to the provider."""
    with write_intent():
        plist = db.session.get(PaymentList, list_id)
        paid_by = db.session.get(PaymentProvider, plist.provider_id)
        at = datetime.combine(on_day, datetime.min.time())
        record_download(db.session, actor_of(people["officer"]), plist, paid_by, at)
        db.session.commit()


def sent_november(people) -> int:
    november = draft(people, NOVEMBER)
    sign(people, november)
    send(people, november, date(2026, 10, 20))
    return november


def lines_of(list_id: int) -> dict[int, PaymentLine]:
    found = db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == list_id))
    return {line.case_id: line for line in found}


def reconcile(app, people, cash, list_id: int, stranger: bool = False) -> None:
    """The post office's return: both paid; with `stranger`, Bình's row names someone not on the
    list instead (it waits to be resolved by hand)."""
    lines = lines_of(list_id)
    world = {"lines": lines, "cases": cash}
    replies = {"An": ("Đã chi trả", None, "BD-1")} | ({} if stranger else {"Bình": ("Đã chi trả", None, "BD-2")})
    extra = [(9, 999_999, "Người Lạ", "020050999999", None, lines[cash["Bình"]].amount, "Đã chi trả", None, None)]
    job = run(app, people["officer"], list_id, the_return(world, replies, extra=extra if stranger else ()))
    assert job.state is ListJobState.DONE, job.error


def cycle_rows(page: str) -> list[list[str]]:
    """The cycle's table on the home page as a reader sees it: a row per provider and month, its
    cells' words."""
    found = re.search(r'aria-labelledby="h-cycle">(.*?)</section>', page, re.S)
    if found is None:
        return []
    body = found.group(1).split("<tbody>", 1)[1]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def home(make_client, user) -> str:
    return text_of(make_client(user).get("/"))


def test_the_due_dates_come_from_the_month():
    assert list_due_before(DECEMBER) == date(2026, 11, 25)
    assert list_due_before(date(2027, 1, 1)) == date(2026, 12, 25)
    assert return_due_before(DECEMBER) == date(2026, 12, 20)


def test_the_home_page_follows_the_cycle_stage_by_stage(app, people, cash, make_client, monkeypatch):
    on(monkeypatch, TODAY)
    supervisor = people["supervisor"]
    assert cycle_rows(home(make_client, supervisor)) == []          # no list yet: the cycle has not begun

    november = sent_november(people)
    assert cycle_rows(home(make_client, supervisor)) == [
        [POST, "12/2026", "Chưa lập danh sách", "trước 25/11/2026 sắp đến hạn"],
        [POST, "11/2026", "Đã gửi, chờ tệp trả về", "trước 20/11/2026 sắp đến hạn"]]

    december = draft(people, DECEMBER)
    page = home(make_client, supervisor)
    assert cycle_rows(page)[0] == [POST, "12/2026", "Đã lập, chờ ký duyệt", "trước 25/11/2026 sắp đến hạn"]
    assert f'href="/payments/{december}"' in page and f'href="/payments/{november}"' in page

    sign(people, december)
    assert cycle_rows(home(make_client, supervisor))[0][2:] == ["Đã ký duyệt, chưa gửi", "trước 25/11/2026 sắp đến hạn"]

    send(people, december, TODAY)
    assert cycle_rows(home(make_client, supervisor))[0][2:] == ["Đã gửi, chờ tệp trả về", "trước 20/12/2026"]

    reconcile(app, people, cash, november, stranger=True)
    assert cycle_rows(home(make_client, supervisor))[1] == [
        POST, "11/2026", "Đã đối chiếu — 1 dòng trả về chờ xử lý", "—"]
    assert f'href="/payments/{november}/return"' in home(make_client, supervisor)
    # The officers see the same; Agribank, with no list ever, takes no part.
    assert [row[0] for row in cycle_rows(home(make_client, people["officer"]))] == [POST, POST]


def test_the_cycle_begins_with_a_providers_first_list(people, cash, make_client, monkeypatch):
    """A province starting with December's list has no November list to be late with."""
    on(monkeypatch, TODAY)
    draft(people, DECEMBER)
    assert cycle_rows(home(make_client, people["supervisor"])) == [
        [POST, "12/2026", "Đã lập, chờ ký duyệt", "trước 25/11/2026 sắp đến hạn"]]


def test_a_return_uploaded_but_not_imported_is_received_not_reconciled(app, people, cash, make_client, monkeypatch):
    on(monkeypatch, TODAY)
    november = sent_november(people)
    paid = ("Đã chi trả", None, None)
    data = the_return({"lines": lines_of(november), "cases": cash}, {"An": paid, "Bình": paid})
    run(app, people["officer"], november, data, confirm=False)       # previewed, waiting for the user
    assert cycle_rows(home(make_client, people["supervisor"]))[1][2:] == [
        "Đã nhận tệp trả về, chưa đối chiếu xong", "trước 20/11/2026 sắp đến hạn"]


def test_a_late_step_is_marked_in_colour_and_words(people, cash, make_client, monkeypatch):
    sent_november(people)
    draft(people, DECEMBER)
    on(monkeypatch, date(2026, 11, 26))
    page = home(make_client, people["supervisor"])
    assert cycle_rows(page) == [
        [POST, "12/2026", "Đã lập, chờ ký duyệt", "trước 25/11/2026 quá hạn"],
        [POST, "11/2026", "Đã gửi, chờ tệp trả về", "trước 20/11/2026 quá hạn"]]
    assert page.count('<td class="overdue-3">') == 2


def test_last_months_return_stays_in_sight_until_it_is_reconciled(app, people, cash, make_client, monkeypatch):
    november = sent_november(people)
    on(monkeypatch, date(2026, 12, 2))              # November is over; its return never came
    assert cycle_rows(home(make_client, people["supervisor"])) == [
        [POST, "01/2027", "Chưa lập danh sách", "trước 25/12/2026"],
        [POST, "12/2026", "Chưa lập danh sách", "trước 25/11/2026 quá hạn"],
        [POST, "11/2026", "Đã gửi, chờ tệp trả về", "trước 20/11/2026 quá hạn"]]
    reconcile(app, people, cash, november)
    assert [row[1] for row in cycle_rows(home(make_client, people["supervisor"]))] == ["01/2027", "12/2026"]


@pytest.mark.parametrize(("today", "soon", "late"), [
    (date(2026, 11, 17), False, False),     # four working days left (18, 19, 20, 23; the 24th a holiday)
    (date(2026, 11, 18), True, False),      # three
    (date(2026, 11, 24), True, False),      # the last day, a holiday
    (date(2026, 11, 25), False, True),      # "before the 25th": the 25th is late
])
def test_a_step_is_due_soon_within_three_working_days(people, cash, today, soon, late):
    sent_november(people)
    fresh()
    (december, _november) = cycle_of(db.session, provider("BUUDIEN-LS").province_id, today)
    assert (december.month, december.stage, december.due_before) == (DECEMBER, CycleStage.NOT_DRAFTED,
                                                                     date(2026, 11, 25))
    assert (december.due_soon, december.overdue) == (soon, late)


def test_commune_users_and_other_provinces_see_no_cycle(people, cash, make_client, monkeypatch):
    on(monkeypatch, TODAY)
    sent_november(people)
    for who in ("commune_officer", "supervisor_ha_noi"):
        page = home(make_client, people[who])
        assert "Kỳ chi trả" not in page and cycle_rows(page) == []


def test_the_home_page_runs_a_fixed_number_of_statements_whatever_the_lists(people, make_case, make_client,
                                                                              monkeypatch):
    on(monkeypatch, TODAY)
    browser = make_client(people["supervisor"])
    seen = []
    for more in (1, 4):
        for _ in range(more):
            make_case(S.PAID_IN_CASH, by=people["commune_officer"])
        draft(people, DECEMBER), draft(people, DECEMBER, "AGRIBANK-LS")
        browser.get("/")
        with statements() as counter:
            assert browser.get("/").status_code == 200
        seen.append(counter["n"])
    assert seen[0] == seen[1]


# --- the digest ------------------------------------------------------------------------------

def test_the_digest_reminds_the_province_of_what_is_due_and_then_stops(app, people, cash):
    november = sent_november(people)
    december = draft(people, DECEMBER)

    counts = run_day(TODAY)

    sent = digests(TODAY)
    assert set(sent) == {people["officer"].id, people["supervisor"].id}       # not the commune's, nor Hà Nội's
    assert counts["digests"] == 2
    body = sent[people["supervisor"].id].body_text
    assert sent[people["supervisor"].id].subject == "[AnSinh] 2 việc của kỳ chi trả đến hạn cần xử lý — ngày 19/11/2026"
    assert body.splitlines()[1:7] == [
        "",
        "Kỳ chi trả: việc đến hạn",
        f"- Danh sách chi trả tháng 12/2026 của {POST} cần được ký duyệt và gửi trước 25/11/2026.",
        f"  {BASE}/payments/{december}",
        f"- {POST} cần gửi lại danh sách đã chi trả, chưa chi trả tháng 11/2026 trước 20/11/2026.",
        f"  {BASE}/payments/{november}"]
    assert "hồ sơ quá hạn" not in body
    assert run_day(TODAY)["already_written"] == 2 and len(digests(TODAY)) == 2                # once a day per user

    sign(people, december)
    send(people, december, TODAY)
    reconcile(app, people, cash, november)
    tomorrow = date(2026, 11, 20)
    assert run_day(tomorrow)["digests"] == 0 and digests(tomorrow) == {}            # both steps done: nothing to say


def test_a_late_step_is_said_late_in_the_digest(people, cash):
    sent_november(people)
    late = date(2026, 11, 26)
    run_day(late)
    body = digests(late)[people["officer"].id].body_text
    assert (f"- QUÁ HẠN: Danh sách chi trả tháng 12/2026 của {POST} cần được lập, ký duyệt và gửi trước "
            f"25/11/2026.") in body
    assert f"  {BASE}/payments?month=2026-12" in body
    assert f"- QUÁ HẠN: {POST} cần gửi lại danh sách đã chi trả, chưa chi trả tháng 11/2026 trước 20/11/2026." in body


def test_the_reminder_joins_the_escalations_in_one_digest_in_the_readers_language(people, cash, make_case):
    sent_november(people)
    with write_intent():
        db.session.execute(update(User).where(User.id == people["officer"].id).values(locale="en"))
        db.session.commit()
    stalled = make_case(S.PAYMENT_METHOD, by=people["commune_officer"])
    entered(stalled, datetime(2026, 10, 1, 9))

    run_day(TODAY)

    body = digests(TODAY)[people["officer"].id].body_text
    assert "Dec 2026" in body and "25 Nov 2026" in body                        # the reader's dates
    assert f"{BASE}/cases/{stalled.id}" in body                                # and the escalated case
    assert body.index("Dec 2026") < body.index(f"{BASE}/cases/{stalled.id}")   # the near dates first
