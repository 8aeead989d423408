"""Each recipient's digest is written in the recipient's language: the same escalations, read by a
supervisor who chose English and by one who reads Vietnamese, make one English and one
Vietnamese email, whatever language the run itself happens in."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from cases.digests import write_digests
from cases.escalation import escalate_stalled_cases
from cases.models import Case, OutboxMessage, User
from cases.roles import Role
from extensions import db, write_intent
from tests.helpers import fresh
from tests.test_translations import VIETNAMESE
from workflow.states import CaseState as S

TODAY = date(2026, 5, 15)
NOW = datetime(2026, 5, 15, 0, 0)
BASE = "https://ansinh.example.vn"


def set_user(user: User, **values) -> None:
    with write_intent():
        db.session.execute(update(User).where(User.id == user.id).values(**values))
        db.session.commit()


def run_and_write(locale: str = "vi") -> None:
    with write_intent(), force_locale(locale):
        escalate_stalled_cases(db.session, TODAY, NOW)
        write_digests(db.session, TODAY, BASE, NOW)
        db.session.commit()


@pytest.fixture
def scene(make_user, make_case):
    """Two commune supervisors, one English-speaking, and a case far past its deadline (tier 2
    goes to the commune's supervisors)."""
    english = make_user(Role.SUPERVISOR, username="lead.en", full_name="Jane Lead")
    vietnamese = make_user(Role.SUPERVISOR, username="lanhdao.vi", full_name="Nguyễn Văn Lãnh")
    set_user(english, email="jane@example.vn", locale="en")
    set_user(vietnamese, email="lanhdao@example.vn")
    case = make_case(S.PAYMENT_METHOD)
    with write_intent():
        db.session.execute(update(Case).where(Case.id == case.id).values(state_entered_at=datetime(2026, 3, 2, 2)))
        db.session.commit()
    return english, vietnamese, case


def digest_of(user: User) -> OutboxMessage:
    fresh()
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == user.id))


@pytest.mark.parametrize("run_locale", ["vi", "en"])
def test_each_supervisor_reads_the_digest_in_their_language(scene, run_locale):
    english, vietnamese, case = scene
    run_and_write(run_locale)

    mail = digest_of(english)
    assert mail.subject == "[AnSinh] 1 overdue case to deal with — 15 May 2026"
    body = mail.body_text
    assert body.startswith("Dear Jane Lead,")
    assert "On 15 May 2026, 1 case in your area of responsibility was past its deadline:" in body
    assert "Level 2 — past twice the deadline, referred to the commune supervisors" in body
    assert f"- Case {case.id} — {case.full_name} — ID card number" in body
    assert "Awaiting choice of payment method: 51 working days (deadline 10 working days)" in body
    assert "please do not reply" in body
    assert not VIETNAMESE.search(body.replace(case.full_name, ""))

    mail = digest_of(vietnamese)
    assert mail.subject == "[AnSinh] 1 hồ sơ quá hạn cần xử lý — ngày 15/05/2026"
    body = mail.body_text
    assert body.startswith("Kính gửi Nguyễn Văn Lãnh,")
    assert "Mức 2 — quá hai lần thời hạn, chuyển lãnh đạo xã" in body
    assert f"- Hồ sơ số {case.id} — {case.full_name} — CCCD" in body
    assert "Chờ đăng ký phương thức chi trả: 51 ngày làm việc (thời hạn 10 ngày làm việc)" in body
    assert "Dear" not in body and "working day" not in body


def test_a_language_the_app_does_not_offer_falls_back_to_vietnamese(scene):
    english, _vietnamese, _case = scene
    set_user(english, locale="fr")
    run_and_write()
    assert digest_of(english).subject.startswith("[AnSinh] 1 hồ sơ quá hạn")
