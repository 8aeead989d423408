"""How a test case reaches a given state: the transitions, and their data, that lead there."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from cases.actions import fire_transition
from cases.audit import Actor
from cases.models import Case, PaymentProvider
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

SYSTEM = Actor.system("test")

ROUTES: dict[S | None, list[str]] = {
    None: [],
    S.IDENTITY_VERIFICATION: [],
    S.PAYMENT_METHOD: ["verify_identity"],
    S.ACCOUNT_OPENING: ["verify_identity", "choose_account"],
    S.PAID_BY_ACCOUNT: ["verify_identity", "choose_account", "confirm_account_payment"],
    S.PAID_IN_CASH: ["verify_identity", "choose_cash"],
    S.SUSPENDED: ["verify_identity", "suspend"],
    S.TERMINATED: ["terminate"],
}


def payload_for(session, case: Case, trigger: str) -> dict:
    """Valid form data for `trigger` on `case`, as a form would post it (JSON-safe)."""
    from tests.conftest import national_id_for
    provider = session.scalar(select(PaymentProvider.id).where(PaymentProvider.province_id == case.province_id))
    today = date.today().isoformat()
    reason_group = "TT02" if case.policy_group.value == "btxh" else "PL02"
    return {
        "verify_identity": lambda: {"national_id": case.national_id or national_id_for(case.birth_date, case.sex),
                                    "source": "police_list", "verified_on": today,
                                    "full_name": None, "birth_date": None, "sex": ""},
        "record_identity_problem": lambda: {"problem": "no_id_card", "follow_up_on": today},
        "choose_account": lambda: {"holder": "self", "holder_name": None, "holder_national_id": None,
                                   "provider_id": provider, "account_number": "1234567890",
                                   "consent_date": today},
        "choose_cash": lambda: {"reason": "special_case", "proxy_name": None},
        # The number chosen, when one was: replacing it is `change_account`, which needs approval.
        "record_account_opened": lambda: {"provider_id": case.provider_id or provider,
                                          "account_number": case.account_number or "9876543210",
                                          "opened_on": today},
        "confirm_account_payment": lambda: {"month_paid": date.today().replace(day=1).isoformat(),
                                            "reference": "REF-1"},
        "report_payment_failure": lambda: {"reason": "wrong_number"},
        "switch_to_account": lambda: {},
        "switch_to_cash": lambda: {"reason": "Đối tượng muốn nhận tại nhà"},
        "suspend": lambda: {"reason_code": "TT02.D2.K3.a" if reason_group == "TT02" else "PL02.D54.K1",
                            "effective_month": date.today().replace(day=1).isoformat(), "decision_number": "5/QĐ"},
        "resume": lambda: {"decision_number": "6/QĐ", "effective_month": date.today().replace(day=1).isoformat(),
                           "arrears_months": 1},
        "terminate": lambda: {"reason_code": "TT02.D2.K1.a" if reason_group == "TT02" else "ND131.D122",
                              # the last day of last month: the benefit stops from this month,
                              # so an approval takes effect at once (one for a later month waits:
                              # tests/test_effective_decisions.py)
                              "event_date": (date.today().replace(day=1) - timedelta(days=1)).isoformat(),
                              "decision_number": "7/QĐ"},
        "reopen_identity": lambda: {"finding": "Sai năm sinh"},
        "change_account": lambda: {"holder": "self", "holder_name": None, "holder_national_id": None,
                                   "provider_id": provider, "account_number": "5555666677",
                                   "reason": "Đối tượng đổi sang tài khoản mới"},
        # A new ID number: the one change every case past registration can take (a BTXH amount is
        # computed, not entered).
        "amend_protected_fields": lambda: {"national_id": national_id_for(case.birth_date, case.sex)},
    }[trigger]()


def walk(session, case: Case, state: S | None) -> None:
    """Fire the route to `state` directly (no proposals), with audit records as the system."""
    for trigger in ROUTES[state]:
        fire_transition(session, SYSTEM, None, case, TRANSITIONS[trigger], payload_for(session, case, trigger))
