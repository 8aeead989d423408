"""The queue page: search by folded name and case number, filters in the URL, counts per tab and
for the filter (from the maintained counts table), keyset paging both ways, over-SLA tiers, and a
fixed number of SQL statements whatever the filter."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from cases.models import Case, CaseCount, PolicyGroup
from cases.organisation import commune_by_code
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, TAN_VAN, submit
from tests.test_migrations import database  # noqa: F401,F811 - a database of its own, for the upgrade test
from tests.helpers import text_of, transition_form, statements
from workflow.states import CaseState as S




def row_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'name="case" value="(\d+)"', page)]


@pytest.fixture(autouse=True)
def _fresh_counts():
    """Until tests/conftest.py::clean_tables() empties case_counts too: on PostgreSQL it deletes the
    cases with triggers off (session_replication_role), so their counts outlive them."""
    from tests.helpers_queues import forget_counts
    forget_counts()


@pytest.fixture
def officer(make_user, make_client):
    return make_client(make_user(Role.OFFICER, communes=(BINH_GIA,)))


def test_tabs_and_total_count_from_the_counts_table(make_case, officer, make_user, make_client):
    for _ in range(3):
        make_case()
    moved = make_case(state=S.PAYMENT_METHOD)
    make_case(commune=TAN_VAN)

    page = text_of(officer.get("/cases"))

    assert re.search(r"Chờ xác thực danh tính\s*<span class=\"count\">3</span>", page)
    assert re.search(r"Chờ đăng ký phương thức chi trả\s*<span class=\"count\">1</span>", page)
    assert "Trang 1 / 1" in page and "3 hồ sơ" in page
    province = text_of(make_client(make_user(Role.SUPERVISOR, province=LANG_SON)).get("/cases"))
    assert re.search(r"Chờ xác thực danh tính\s*<span class=\"count\">4</span>", province)
    counted = dict(db.session.execute(select(CaseCount.status, func.sum(CaseCount.n)).group_by(CaseCount.status)).all())
    actual = dict(db.session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
    assert {S(k): v for k, v in counted.items() if v} == actual
    assert moved.id


def test_the_counts_follow_set_based_updates(make_case):
    for _ in range(2):
        make_case()
    with write_intent():
        # As a scheduled decision run or an import would: one UPDATE over many rows.
        db.session.execute(update(Case).values(commune_id=commune_by_code(db.session, TAN_VAN).id))
        db.session.commit()
    rows = db.session.execute(select(CaseCount.commune_id, CaseCount.n).where(CaseCount.n > 0)).all()
    assert rows == [(commune_by_code(db.session, TAN_VAN).id, 2)]


def test_pages_go_forward_and_back_by_keyset(make_case, officer, app, monkeypatch):
    monkeypatch.setitem(app.config, "QUEUE_PAGE_SIZE", 2)
    cases = [make_case(full_name=f"Người Số {i}") for i in range(5)]

    first = text_of(officer.get("/cases"))
    assert row_ids(first) == [c.id for c in cases[:2]] and "Trang 1 / 3" in first and "5 hồ sơ" in first
    second_url = re.search(r'href="([^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = text_of(officer.get(second_url))
    assert row_ids(second) == [c.id for c in cases[2:4]] and "Trang 2 / 3" in second
    back_url = re.search(r'href="([^"]*before=[^"]+)"', second).group(1).replace("&amp;", "&")
    back = text_of(officer.get(back_url))
    assert row_ids(back) == [c.id for c in cases[:2]] and "Trang 1 / 3" in back
    assert 'rel="prev"' not in back  # no page before the first


def test_over_sla_rows_are_marked_by_tier_in_words(make_case, officer):
    fresh, late, very_late = make_case(), make_case(), make_case()
    now = datetime.utcnow()
    with write_intent():
        for case, days in ((late, 20), (very_late, 60)):
            db.session.execute(update(Case).where(Case.id == case.id).values(state_entered_at=now - timedelta(days=days)))
        db.session.commit()

    page = text_of(officer.get("/cases"))
    assert "Quá hạn gấp ba" in page and 'overdue overdue-3' in page
    assert re.search(r'overdue-1|overdue-2', page)
    over = text_of(officer.get("/cases?deadline=over"))
    assert set(row_ids(over)) == {late.id, very_late.id}
    assert fresh.id not in row_ids(over)


def test_filters_narrow_the_queue(make_case, officer, make_user, make_client):
    special = make_case(special_gravely_ill=True)
    ncc = make_case(policy_group=PolicyGroup.NCC, category_code="PL02.D3.c", monthly_amount=1_731_000)
    proposed = make_case(state=S.PAID_BY_ACCOUNT)
    suspend = submit(make_client(make_user(Role.OFFICER)), f"/cases/{proposed.id}/actions/suspend",
                     transition_form(proposed, "suspend"))
    assert suspend.status_code == 302

    assert row_ids(text_of(officer.get("/cases?special=1"))) == [special.id]
    assert row_ids(text_of(officer.get("/cases?state=paid_by_account&pending=1"))) == [proposed.id]
    assert ncc.id not in row_ids(text_of(officer.get("/cases?group=btxh")))


@pytest.mark.parametrize("query", [
    "state=nonsense", "commune=1e30", "commune=99999999999", "village=-1", "group=x", "category=<b>",
    "provider=abc", "method=gold", "deadline=yesterday", "special=yes", "after=garbage", "before=n~x_1e9",
    "page=0", "page=999999999999", "q=%00%00", "q=" + "a" * 500, "state=all&q=&deadline=soon"])
def test_odd_filters_are_ignored_never_a_500(query, make_case, officer):
    make_case()
    assert officer.get(f"/cases?{query}").status_code == 200


FILTERS = ["", "state=payment_method", "commune={commune}", "village={village}", "group=btxh", "category=D5.K5a.1",
           "provider={provider}", "method=account", "special=1", "deadline=over", "deadline=soon", "pending=1", "mine=1",
           "q=hoang", "q=hoang&state=all", "q=12345", "state=all&deadline=over",
           "q=hoang&special=1&deadline=over&pending=1&mine=1&group=btxh"]


@pytest.mark.parametrize("rows", [1, 6])
def test_the_queue_runs_a_fixed_number_of_statements_whatever_the_filter(rows, make_case, make_user, make_client,
                                                                         app, monkeypatch):
    from cases.models import PaymentProvider, Village
    monkeypatch.setitem(app.config, "QUEUE_PAGE_SIZE", 3)
    for _ in range(rows):
        make_case()
    browser = make_client(make_user(Role.SUPERVISOR, province=LANG_SON))
    values = {"commune": commune_by_code(db.session, BINH_GIA).id,
              "village": db.session.scalar(select(Village.id).limit(1)),
              "provider": db.session.scalar(select(PaymentProvider.id).limit(1))}
    browser.get("/cases")  # the calendar's swaps are read once a minute: read them now
    counts = {}
    for query in FILTERS:
        with statements() as counter:
            assert browser.get(f"/cases?{query.format(**values)}").status_code == 200
        counts[query] = counter["n"]
    assert len(set(counts.values())) == 1, counts


def test_the_upgrade_folds_the_names_and_counts_the_cases_already_there(database):  # noqa: F811
    """Migration 0012 on a filled database: the folded name and the counts are there at once, and
    the triggers keep the counts from then on."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from tests.test_migrations import fill_revision_0002
    app = create_app({"ANSINH_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision="0002")
        fill_revision_0002()
        upgrade()
        assert tuple(db.session.execute(text("SELECT name_folded, name_given_first FROM cases WHERE id = 1")).one()) == (
            "hoang van thu", "thu hoang van")
        assert db.session.execute(text("SELECT commune_id, status, policy_group, province_id, n FROM case_counts")
                                  ).all() == [(1, "paid_by_account", "ncc", 1, 1)]
        db.session.execute(text("UPDATE cases SET status = 'suspended' WHERE id = 1"))
        db.session.commit()
        assert db.session.execute(text("SELECT status, n FROM case_counts WHERE n > 0")).all() == [("suspended", 1)]
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
