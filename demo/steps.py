"""What each step of a synthetic history records: the form's data and the fields it sets.

Mirrors `cases.effects` (same payload keys as the forms post, same fields set), so a synthetic
history reads like one the application wrote, and a pending proposal built here can be
approved through `cases.actions.approve`. Case values are kept JSON-ready: dates as ISO
strings, enums as their values.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from random import Random

from cases import reference
from cases.effects import month_after
from cases.models import PolicyGroup, Sex
from demo.names import GUARDIAN_RELATIONS_CHILD
from demo.people import Weighted, full_name

SELF, GUARDIAN, PROXY = "self", "guardian", "proxy"


@dataclass(frozen=True)
class Bank:
    id: int
    short_name: str


@dataclass(slots=True)
class StepContext:
    rng: Random
    day: str                      # the step's local date, ISO
    banks: tuple[Bank, ...]
    true_national_id: str | None  # what the police list will confirm
    next_trigger: str | None      # the step after this one in the route, if any


Step = Callable[[dict, StepContext], tuple[dict, dict]]   # (case, context) -> (payload, updates)
STEPS: dict[str, Step] = {}


def step(trigger: str):
    def register(func: Step) -> Step:
        STEPS[trigger] = func
        return func
    return register


def _weighted_codes(reasons: list[reference.ReasonCode], weights: dict[str, float]) -> Weighted[str]:
    return Weighted((r.code, weights.get(r.code, 1)) for r in reasons)


# Most suspensions are three unpaid months; most terminations are a death.
SUSPENSION_CODES = {group: _weighted_codes(reasons, {"TT02.D2.K3.a": 6, "TT02.D2.K3.b": 3, "PL02.D54.K1": 4,
                                                     "PL02.D54.K2": 3})
                    for group, reasons in reference.suspension_reasons().items()}
TERMINATION_CODES = {group: _weighted_codes(reasons, {"TT02.D2.K1.a": 14, "TT02.D2.K1.b": 3, "ND131.D122": 20})
                     for group, reasons in reference.termination_reasons().items()}
IDENTITY_SOURCES = Weighted((("police_list", 6), ("population_db", 3), ("vneid", 1)))
IDENTITY_PROBLEMS = Weighted((("data_mismatch", 5), ("not_found", 3), ("other", 1)))
PAYMENT_FAILURES = Weighted((("wrong_number", 4), ("name_mismatch", 3), ("account_closed", 2)))
SWITCH_TO_CASH_REASONS = ("Đối tượng ốm nặng, không ra ngân hàng được", "Đối tượng muốn nhận tại nhà",
                          "Người được ủy quyền đi làm ăn xa", "Thẻ ngân hàng bị khóa, chưa làm lại được")
REOPEN_FINDINGS = ("Sai năm sinh so với CSDL dân cư", "Trùng số CCCD với hồ sơ khác",
                   "Họ tên trên CCCD khác hồ sơ hưởng")
_ACCOUNT_DIGITS = {"AGRIBANK": ("8", 12), "VIETINBANK": ("10", 10), "BIDV": ("5", 13)}


def month_start(day: str) -> str:
    return day[:8] + "01"


def decision_number(rng: Random) -> str:
    return f"{rng.randint(1, 999)}/QĐ-UBND"


def account_number(rng: Random, bank: Bank) -> str:
    lead, digits = _ACCOUNT_DIGITS.get(bank.short_name.split("-")[0], ("9", 11))
    return f"{lead}{rng.randrange(10 ** digits):0{digits}d}"


def holder_for(case: dict, rng: Random) -> str:
    if case["guardian_name"] is None:
        return SELF
    if case["guardian_relation"] in GUARDIAN_RELATIONS_CHILD:
        return GUARDIAN
    return PROXY if rng.random() < 0.5 else SELF


@step("verify_identity")
def verify_identity(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    source = IDENTITY_SOURCES.pick(ctx.rng)
    payload = {"national_id": ctx.true_national_id, "source": source, "verified_on": ctx.day,
               "full_name": "", "birth_date": None, "sex": ""}
    return payload, {"national_id": ctx.true_national_id, "identity_source": source,
                     "identity_verified_on": ctx.day, "identity_problem": None, "identity_follow_up_on": None}


@step("record_identity_problem")
def record_identity_problem(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    problem = "no_id_card" if case["national_id"] is None else IDENTITY_PROBLEMS.pick(ctx.rng)
    follow_up = date.fromordinal(date.fromisoformat(ctx.day).toordinal() + ctx.rng.randint(7, 30)).isoformat()
    return ({"problem": problem, "follow_up_on": follow_up},
            {"identity_problem": problem, "identity_follow_up_on": follow_up})


@step("choose_account")
def choose_account(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    holder, bank = holder_for(case, ctx.rng), ctx.rng.choice(ctx.banks)
    has_account = ctx.next_trigger != "record_account_opened" and (
        ctx.next_trigger is not None or ctx.rng.random() < 0.4)
    number = account_number(ctx.rng, bank) if has_account else ""
    payload = {"holder": holder, "holder_name": "" if holder == SELF else case["guardian_name"],
               "holder_national_id": "" if holder == SELF else case["guardian_national_id"],
               "provider_id": bank.id, "account_number": number, "consent_date": ctx.day}
    name, national_id = ((case["full_name"], case["national_id"]) if holder == SELF
                         else (case["guardian_name"], case["guardian_national_id"]))
    return payload, {"account_holder_name": name, "account_holder_national_id": national_id,
                     "account_holder": holder, "provider_id": bank.id, "account_number": number or None,
                     "consent_date": ctx.day, "payment_method": "account"}


@step("choose_cash")
def choose_cash(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    special = case["special_very_old"] or case["special_gravely_ill"] or case["special_cannot_travel"]
    reason = "special_case" if special else "declines" if ctx.rng.random() < 0.7 else "other"
    updates = {"payment_method": "cash", "cash_reason": reason}
    proxy = ""
    if case["guardian_name"] is None and special and ctx.rng.random() < 0.3:
        sex = Sex.FEMALE if ctx.rng.random() < 0.5 else Sex.MALE
        proxy = full_name(ctx.rng, case["ethnicity"], sex, ctx.rng.randint(1960, 1995))
        updates |= {"guardian_name": proxy, "guardian_relation": "người được ủy quyền nhận thay"}
    return {"reason": reason, "proxy_name": proxy}, updates


@step("record_account_opened")
def record_account_opened(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    bank = next((b for b in ctx.banks if b.id == case["provider_id"]), ctx.banks[0])
    number = account_number(ctx.rng, bank)
    return ({"provider_id": bank.id, "account_number": number, "opened_on": ctx.day},
            {"provider_id": bank.id, "account_number": number, "account_opened_on": ctx.day})


@step("confirm_account_payment")
def confirm_account_payment(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    month = month_start(ctx.day)
    reference_no = f"CT{month[:4]}{month[5:7]}-{ctx.rng.randrange(1_000_000):06d}"
    return ({"month_paid": month, "reference": reference_no},
            {"last_paid_month": month, "last_payment_reference": reference_no, "payment_failure_reason": None})


@step("report_payment_failure")
def report_payment_failure(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    reason = PAYMENT_FAILURES.pick(ctx.rng)
    return {"reason": reason}, {"payment_failure_reason": reason}


@step("switch_to_account")
def switch_to_account(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    return {}, {"payment_method": None, "cash_reason": None}


@step("switch_to_cash")
def switch_to_cash(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    reason = ctx.rng.choice(SWITCH_TO_CASH_REASONS)
    return {"reason": reason}, {"payment_method": "cash", "cash_reason": reason}


@step("suspend")
def suspend(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    code = SUSPENSION_CODES[PolicyGroup(case["policy_group"])].pick(ctx.rng)
    payload = {"reason_code": code, "effective_month": month_start(ctx.day),
               "decision_number": decision_number(ctx.rng)}
    return payload, {"status_reason_code": code, "status_effective_month": payload["effective_month"],
                     "status_decision_number": payload["decision_number"]}


@step("resume")
def resume(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    payload = {"decision_number": decision_number(ctx.rng), "effective_month": month_start(ctx.day),
               "arrears_months": ctx.rng.randint(0, 3)}
    return payload, {"status_reason_code": None, "status_effective_month": payload["effective_month"],
                     "status_decision_number": payload["decision_number"]}


@step("terminate")
def terminate(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    code = TERMINATION_CODES[PolicyGroup(case["policy_group"])].pick(ctx.rng)
    event = date.fromordinal(date.fromisoformat(ctx.day).toordinal() - ctx.rng.randint(3, 40))
    payload = {"reason_code": code, "event_date": event.isoformat(),
               "decision_number": decision_number(ctx.rng)}
    # The benefit stops from the month after the event (Decree 20/2021 Art. 8(2)).
    return payload, {"status_reason_code": code, "status_effective_month": month_after(event).isoformat(),
                     "status_decision_number": payload["decision_number"]}


@step("reopen_identity")
def reopen_identity(case: dict, ctx: StepContext) -> tuple[dict, dict]:
    finding = ctx.rng.choice(REOPEN_FINDINGS)
    return {"finding": finding}, {"identity_problem": finding, "identity_verified_on": None}


# Why an officer proposes a move that needs approval (the proposal's note).
PROPOSAL_NOTES = {
    "choose_cash": "Đối tượng đăng ký nhận tiền mặt tại điểm chi trả",
    "switch_to_cash": "Đề nghị chuyển sang nhận tiền mặt",
    "suspend": "Đề nghị tạm dừng theo biên bản xác minh của thôn",
    "resume": "Đối tượng đã đủ điều kiện hưởng lại",
    "terminate": "Đề nghị thôi hưởng theo báo cáo của trưởng thôn",
    "reopen_identity": "Phát hiện sai lệch khi đối chiếu danh sách",
}
APPROVAL_NOTE = "Đồng ý"
