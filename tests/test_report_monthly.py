"""The monthly reports on time (issue 17, item 7): the scheduler's job archives last month's report
for each province in use and each of its communes with cases, emails their supervisors a link,
does nothing twice; the supervisor's home page shows a report waiting for its signature, and a late
one."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from cases.models import ArchivedReport, OutboxMessage
from cases.changes import local_today
from cases.reports.monthly import due, notices_for, produce_monthly_reports
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import BINH_GIA, LANG_SON, TAN_VAN

NOW = datetime(2026, 12, 1, 22)


@pytest.fixture
def lang_son(make_case, make_user):
    make_case(commune=BINH_GIA)
    make_case(commune=TAN_VAN)
    return {
        "province": make_user(Role.SUPERVISOR, province=LANG_SON, username="lanhdao.tinh"),
        "binh_gia": make_user(Role.SUPERVISOR, communes=(BINH_GIA,), username="lanhdao.binhgia"),
    }


def run(today: date) -> dict:
    with write_intent():
        counts = produce_monthly_reports(db.session, today, "https://ansinh.example", NOW)
        db.session.commit()
    return counts


def test_last_months_reports_are_archived_and_announced_once(lang_son):
    for user in lang_son.values():
        with write_intent():
            db.session.merge(user).email = f"{user.username}@example.org"
            db.session.commit()
    counts = run(date(2026, 12, 2))
    # Lạng Sơn, Bình Gia and Tân Văn: the communes with cases.
    # November and the twelve months before it recorded; Lạng Sơn, Bình Gia and Tân Văn reported.
    assert counts == {"reports": 3, "already": 0, "emails": 2, "months_recorded": 13}
    archived = db.session.scalars(select(ArchivedReport).order_by(ArchivedReport.id)).all()
    assert [(r.period, r.unit_kind.value, r.produced_by_id, r.signed_at) for r in archived] == [
        ("2026-11", "province", None, None), ("2026-11", "commune", None, None), ("2026-11", "commune", None, None)]
    mails = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {m.to_address for m in mails} == {"lanhdao.tinh@example.org", "lanhdao.binhgia@example.org"}
    assert all("https://ansinh.example/reports/archive/" in m.body_text for m in mails)
    assert "Tháng 11/2026" in mails[0].subject
    # The next day's run finds them done.
    assert run(date(2026, 12, 3)) == {"reports": 0, "already": 3, "emails": 0, "months_recorded": 0}
    assert db.session.scalar(select(func.count()).select_from(ArchivedReport)) == 3


def test_after_the_due_day_the_job_does_nothing(lang_son):
    assert run(date(2026, 12, 20)) == {"reports": 0, "already": 0, "emails": 0, "months_recorded": 0}


def test_the_supervisors_home_shows_the_report_to_sign_then_late(lang_son, make_client):
    supervisor = lang_son["province"]
    waiting = notices_for(db.session, supervisor, date(2026, 12, 2))
    assert [(n.unit_name, n.period.code, n.late, n.report_id) for n in waiting] == [("Tỉnh Lạng Sơn", "2026-11", False, None)]
    page = make_client(supervisor).get("/").get_data(as_text=True)
    assert "Báo cáo chờ ký duyệt" in page and due(local_today()).period.label in page and "chưa lập" in page
    run(date(2026, 12, 2))
    late = notices_for(db.session, supervisor, date(2026, 12, 16))
    assert late[0].late and late[0].report_id is not None
    commune = notices_for(db.session, lang_son["binh_gia"], date(2026, 12, 13))
    assert [(n.unit_name, n.late) for n in commune] == [("Xã Bình Gia", True)]
