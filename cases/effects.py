"""What each transition records on the case, from its form's data.

A payload is the form's data made JSON-safe (dates as ISO strings), the same whether the
transition fires at once or waits in a proposal for approval; each effect checks what the form
could not (rules that need the case or the database) and raises `DomainError` on a refusal.
An effect may return notes for the transition's audit record (an ID-number correction).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask_babel import gettext as _

from sqlalchemy.orm import Session

from cases import reference
from cases.changes import local_today
from cases.checks import CheckFailed, check_national_id
from cases.entry import DuplicateNationalId, check_category_age, ensure_unique_national_id, monthly_amount
from cases.errors import DomainError
from cases.models import AccountHolder, Case, PaymentMethod, PolicyGroup, Sex, User
from cases.models.case import IdentitySource
from cases.organisation import provider_serving

Effect = Callable[[Session, Case, dict], dict | None]
EFFECTS: dict[str, Effect] = {}


def effect(trigger: str):
    def register(func: Effect) -> Effect:
        EFFECTS[trigger] = func
        return func
    return register


def apply(session: Session, case: Case, trigger: str, payload: dict, reader: User | None = None) -> dict:
    """Record `payload` on `case`; returns the effect's notes for the audit record.

    :raise DomainError: the data fails a rule; a duplicate ID number is worded for `reader`.
    """
    try:
        return EFFECTS[trigger](session, case, payload) or {}
    except DuplicateNationalId as duplicate:
        raise duplicate.told_to(reader) from None


def _date(payload: dict, key: str) -> date | None:
    value = payload.get(key)
    return date.fromisoformat(value) if value else None


def _month(payload: dict, key: str) -> date | None:
    value = _date(payload, key)
    return value.replace(day=1) if value else None


def month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _provider(session: Session, case: Case, provider_id) -> int:
    serving = provider_serving(session, int(provider_id), case.province_id) if provider_id else None
    if serving is None:
        raise DomainError(_("Tổ chức chi trả không phục vụ tỉnh của hồ sơ này."), "provider_id")
    return serving


def _checked_id(number: str, birth_date: date | None, sex: Sex | None, field: str) -> str:
    try:
        return check_national_id(number, birth_date, sex)
    except CheckFailed as failure:
        raise DomainError(str(failure), field) from None


@effect("verify_identity")
def verify_identity(session: Session, case: Case, p: dict) -> dict:
    """A number other than the registered one is recorded only as an explicit correction with a
    reason (finding 8: a mistyped number silently replaced the registered one)."""
    verified_on = _date(p, "verified_on")
    if verified_on is not None and verified_on > local_today():
        raise DomainError(_("Ngày xác thực không được sau ngày hôm nay."), "verified_on")
    if p.get("full_name"):
        case.full_name = p["full_name"].strip()
    if p.get("birth_date"):
        case.birth_date = _date(p, "birth_date")
        # A corrected birth date must still fit the category's age rule, as at registration.
        check_category_age(case.category_code, case.birth_date, local_today())
    if p.get("sex"):
        case.sex = Sex(p["sex"])
    number = _checked_id(p["national_id"], case.birth_date, case.sex, "national_id")
    notes: dict = {}
    if case.national_id is not None and number != case.national_id:
        notes["id_correction"] = {"reason": _correction_reason(p)}
    if number != case.national_id:  # the unique index already vouches for the number on record
        ensure_unique_national_id(session, number, case.id)
    case.national_id = number
    case.identity_source = IdentitySource(p["source"])
    case.identity_verified_on = verified_on
    case.identity_problem = None
    case.identity_follow_up_on = None
    return notes


def _correction_reason(p: dict) -> str:
    if not p.get("id_correction"):
        raise DomainError(_("Số CCCD đã đối chiếu khác số đang ghi trong hồ sơ. Nếu số trong hồ sơ bị ghi sai, "
                            "hãy đánh dấu «Đính chính số CCCD» và ghi lý do; nếu không, hãy nhập đúng số "
                            "đang ghi."), "national_id")
    reason = (p.get("correction_reason") or "").strip()
    if not reason:
        raise DomainError(_("Cần ghi lý do đính chính số CCCD."), "correction_reason")
    return reason


@effect("record_identity_problem")
def record_identity_problem(session: Session, case: Case, p: dict) -> None:
    case.identity_problem = p["problem"]
    case.identity_follow_up_on = _date(p, "follow_up_on")


def _record_account(session: Session, case: Case, p: dict) -> None:
    holder = AccountHolder(p["holder"])
    if holder is AccountHolder.SELF:
        case.account_holder_name, case.account_holder_national_id = case.full_name, case.national_id
    else:
        if not p.get("holder_name") or not p.get("holder_national_id"):
            raise DomainError(_("Tài khoản của người giám hộ/người được ủy quyền: cần họ tên và số CCCD của họ."),
                              "holder_name")
        case.account_holder_name = p["holder_name"].strip()
        case.account_holder_national_id = _checked_id(p["holder_national_id"], None, None, "holder_national_id")
    case.account_holder = holder
    case.provider_id = _provider(session, case, p.get("provider_id"))
    case.account_number = p.get("account_number") or None


@effect("choose_account")
def choose_account(session: Session, case: Case, p: dict) -> None:
    _record_account(session, case, p)
    case.consent_date = _date(p, "consent_date")
    case.payment_method = PaymentMethod.ACCOUNT


_ACCOUNT = ("account_holder", "account_holder_name", "account_holder_national_id", "provider_id", "account_number")


@effect("change_account")
def change_account(session: Session, case: Case, p: dict) -> None:
    before = [getattr(case, k) for k in _ACCOUNT]
    _record_account(session, case, p)
    if [getattr(case, k) for k in _ACCOUNT] == before:
        raise DomainError(_("Tài khoản nhập vào giống tài khoản đang ghi trong hồ sơ; không có gì để thay đổi."),
                          "account_number")


@effect("amend_protected_fields")
def amend_protected_fields(session: Session, case: Case, p: dict) -> None:
    """The money and identity changes an edit held back, applied on approval with the edit's own
    checks re-run on the case as it is now (`workflow.four_eyes`)."""
    if "birth_date" in p:
        case.birth_date = _date(p, "birth_date")
    if "sex" in p:
        case.sex = Sex(p["sex"])
    if "national_id" in p:
        number = _checked_id(p["national_id"], case.birth_date, case.sex, "national_id") if p["national_id"] else None
        if number is not None and number != case.national_id:
            ensure_unique_national_id(session, number, case.id)
        case.national_id = number
    basis = {k: p[k] for k in ("category_code", "monthly_amount") if k in p}
    if "policy_group" in p:
        basis["policy_group"] = PolicyGroup(p["policy_group"])
    if "benefit_start_month" in p:
        basis["benefit_start_month"] = _date(p, "benefit_start_month")
    if basis:
        for key, value in basis.items():
            setattr(case, key, value)
        case.monthly_amount = monthly_amount(
            {k: getattr(case, k) for k in ("policy_group", "category_code", "monthly_amount", "benefit_start_month")},
            local_today())


@effect("choose_cash")
def choose_cash(session: Session, case: Case, p: dict) -> None:
    case.payment_method = PaymentMethod.CASH
    case.cash_reason = p["reason"] + (f": {p['note']}" if p.get("note") else "")
    if p.get("proxy_name"):
        case.guardian_name = p["proxy_name"].strip()
        case.guardian_relation = "người được ủy quyền nhận thay"


@effect("record_account_opened")
def record_account_opened(session: Session, case: Case, p: dict) -> None:
    case.provider_id = _provider(session, case, p.get("provider_id"))
    case.account_number = p["account_number"]
    case.account_opened_on = _date(p, "opened_on")


@effect("confirm_account_payment")
def confirm_account_payment(session: Session, case: Case, p: dict) -> None:
    if not case.account_number:
        raise DomainError(_("Chưa có số tài khoản: hãy ghi nhận tài khoản đã mở trước khi xác nhận chi trả."))
    case.last_paid_month = _month(p, "month_paid")
    case.last_payment_reference = p.get("reference") or None
    case.payment_failure_reason = None


@effect("report_payment_failure")
def report_payment_failure(session: Session, case: Case, p: dict) -> None:
    case.payment_failure_reason = p["reason"] + (f": {p['note']}" if p.get("note") else "")


@effect("switch_to_account")
def switch_to_account(session: Session, case: Case, p: dict) -> None:
    case.payment_method = None  # the person chooses again, in payment_method
    case.cash_reason = None


@effect("switch_to_cash")
def switch_to_cash(session: Session, case: Case, p: dict) -> None:
    case.payment_method = PaymentMethod.CASH
    case.cash_reason = p["reason"]


def _legal_reason(case: Case, code: str, allowed: dict) -> str:
    if code not in {r.code for r in allowed[case.policy_group]}:
        raise DomainError(_("Căn cứ pháp lý không áp dụng cho nhóm đối tượng của hồ sơ này."), "reason_code")
    return code


@effect("suspend")
def suspend(session: Session, case: Case, p: dict) -> None:
    case.status_reason_code = _legal_reason(case, p["reason_code"], reference.suspension_reasons())
    case.status_effective_month = _month(p, "effective_month")
    case.status_decision_number = p["decision_number"]


@effect("resume")
def resume(session: Session, case: Case, p: dict) -> None:
    case.status_reason_code = None
    case.status_effective_month = _month(p, "effective_month")
    case.status_decision_number = p["decision_number"]


@effect("terminate")
def terminate(session: Session, case: Case, p: dict) -> None:
    case.status_reason_code = _legal_reason(case, p["reason_code"], reference.termination_reasons())
    # The benefit stops from the month after the event (Decree 20/2021 Art. 8(2)).
    case.status_effective_month = month_after(_date(p, "event_date"))
    case.status_decision_number = p["decision_number"]


@effect("reopen_identity")
def reopen_identity(session: Session, case: Case, p: dict) -> None:
    case.identity_problem = p["finding"]
    case.identity_verified_on = None
