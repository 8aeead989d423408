"""The home page per role: queues with counts, what is late, the proposals waiting on the user,
the share paid by account; a fixed number of statements whatever the number of cases."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from cases.home import account_share
from cases.models import Case
from cases.roles import Role
from extensions import db, write_intent
from tests.conftest import LANG_SON, TAN_VAN, submit
from tests.helpers import text_of, transition_form
from tests.helpers import statements
from tests.helpers_queues import forget_counts
from workflow.states import CaseState as S


@pytest.fixture(autouse=True)
def _fresh_counts():
    forget_counts()


def count_after(page: str, label: str) -> str:
    found = re.search(re.escape(label) + r'</a>\s*<span class="n">([^<]+)</span>', page)
    assert found, label
    return found.group(1).strip()


def test_an_officer_sees_their_queues_and_what_is_late(make_case, make_user, make_client):
    officer = make_user(Role.OFFICER)
    make_case(), make_case(), make_case(state=S.PAID_BY_ACCOUNT), make_case(commune=TAN_VAN)
    late = make_case()
    with write_intent():
        db.session.execute(update(Case).where(Case.id == late.id).values(state_entered_at=datetime.utcnow() - timedelta(days=40)))
        db.session.commit()
    paid = make_case(state=S.PAID_BY_ACCOUNT)
    assert submit(make_client(officer), f"/cases/{paid.id}/actions/suspend", transition_form(paid, "suspend")).status_code == 302

    page = text_of(make_client(officer).get("/"))

    assert count_after(page, "Chờ xác thực danh tính") == "3"
    assert count_after(page, "Chi trả qua tài khoản") == "2"
    assert count_after(page, "Quá hạn") == "1"
    assert count_after(page, "Đề xuất tôi lập, đang chờ duyệt") == "1"
    assert "Đề xuất tôi cần quyết định" not in page
    assert "/cases?deadline=over" in page or "deadline=over" in page
    assert "chưa đặt chỉ tiêu" in page
    assert "40 %" in page or "40%" in page   # 2 paid by account of 5 receiving


def test_a_supervisor_sees_the_proposals_to_decide(make_case, make_user, make_client):
    officer, supervisor = make_user(Role.OFFICER), make_user(Role.SUPERVISOR, province=LANG_SON)
    paid = make_case(state=S.PAID_BY_ACCOUNT)
    assert submit(make_client(officer), f"/cases/{paid.id}/actions/suspend", transition_form(paid, "suspend")).status_code == 302

    page = text_of(make_client(supervisor).get("/"))

    assert count_after(page, "Đề xuất tôi cần quyết định") == "1"
    assert "/proposals" in page


@pytest.mark.parametrize("role, expected", [(Role.ADMIN, "Người dùng"), (Role.AUDITOR, "Nhật ký kiểm tra")])
def test_admins_and_auditors_get_a_home_page(role, expected, make_user, make_client):
    user = make_user(role, province=LANG_SON)
    answer = make_client(user).get("/")
    assert answer.status_code == 200 and expected in text_of(answer)


def test_the_share_paid_by_account_is_of_the_cases_receiving_a_benefit():
    counts = {s: 0 for s in S} | {S.PAID_BY_ACCOUNT: 3, S.PAID_IN_CASH: 1, S.SUSPENDED: 10, S.TERMINATED: 5}
    assert account_share(counts) == 0.75
    assert account_share({s: 0 for s in S}) is None


def test_the_home_page_runs_a_fixed_number_of_statements(make_case, make_user, make_client):
    supervisor = make_client(make_user(Role.SUPERVISOR, province=LANG_SON))
    supervisor.get("/")
    seen = []
    for more in (0, 3):
        for _ in range(more):
            make_case(), make_case(commune=TAN_VAN, state=S.PAID_BY_ACCOUNT)
        with statements() as counter:
            assert supervisor.get("/").status_code == 200
        seen.append(counter["n"])
    assert seen[0] == seen[1]
