"""The case lifecycle as one table.

Everything else — the engine, the actions on a case page, the queues' state filter, the SLA
clock, and later the escalation sweep, reports and diagrams — is derived from `STATES` and
`TRANSITIONS` below. A transition not listed here cannot happen.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l, ngettext

from cases.roles import Role
from workflow.states import CaseState as S

OFFICE = frozenset({Role.OFFICER, Role.SUPERVISOR})


@dataclass(frozen=True)
class Sla:
    """How long a case may sit in a state before someone must act."""
    amount: int
    unit: str                  # "working_days" (holidays and Tết excluded), "days" or "months"

    @property
    def label(self) -> str:
        """`10 ngày làm việc`, in the reader's language (plural in English)."""
        return _SLA_AMOUNTS[self.unit](self.amount)


# Labels are lazy: the table is built at import, and each reader sees their own language.
SLA_UNIT_LABELS = {"working_days": _l("ngày làm việc"), "days": _l("ngày"), "months": _l("tháng")}
_SLA_AMOUNTS = {
    "working_days": lambda n: ngettext("%(num)d ngày làm việc", "%(num)d ngày làm việc", n),
    "days": lambda n: ngettext("%(num)d ngày", "%(num)d ngày", n),
    "months": lambda n: ngettext("%(num)d tháng", "%(num)d tháng", n),
}


@dataclass(frozen=True)
class StateSpec:
    state: S
    label: str                 # screen label (vi)
    sla: Sla | None            # None: no deadline (paid, or final)
    receiving: bool            # the person is receiving a monthly benefit in this state


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[S, ...]
    # None: the case stays where it is (an internal transition that records something).
    # RETURN: back to the state the case was suspended from (resume).
    dest: S | str | None
    label: str                 # the action's name on screen (vi)
    # Class name in forms.transitions. None: no form and no button of its own; another screen
    # starts it (the case's edit form proposes `amend_protected_fields`).
    form: str | None
    roles: frozenset[Role]
    needs_approval: bool
    records: str               # what the form records, for the reader and the diagram


RETURN = "return_to_suspended_from"

_STATES = [
    StateSpec(S.IDENTITY_VERIFICATION, _l("Chờ xác thực danh tính"), Sla(10, "working_days"), True),
    StateSpec(S.PAYMENT_METHOD, _l("Chờ đăng ký phương thức chi trả"), Sla(10, "working_days"), True),
    StateSpec(S.ACCOUNT_OPENING, _l("Đang mở tài khoản"), Sla(20, "working_days"), True),
    StateSpec(S.PAID_BY_ACCOUNT, _l("Chi trả qua tài khoản"), None, True),
    StateSpec(S.PAID_IN_CASH, _l("Chi trả tiền mặt"), Sla(90, "days"), True),     # re-engage
    StateSpec(S.SUSPENDED, _l("Tạm dừng"), Sla(3, "months"), False),              # review
    StateSpec(S.TERMINATED, _l("Thôi hưởng"), None, False),                       # final
]
STATES: dict[S, StateSpec] = {spec.state: spec for spec in _STATES}
# A proposal waiting for a supervisor escalates on this, with the same tiers as a case.
PROPOSAL_SLA = Sla(5, "working_days")

INITIAL_STATE = S.IDENTITY_VERIFICATION
RECEIVING = tuple(s.state for s in _STATES if s.receiving)
AFTER_IDENTITY = tuple(s for s in RECEIVING if s is not S.IDENTITY_VERIFICATION)
NOT_TERMINATED = tuple(s for s in S if s is not S.TERMINATED)
# A live case that has left registration: its money and identity change only with four eyes
# (workflow.four_eyes says which fields).
PAST_REGISTRATION = tuple(s for s in NOT_TERMINATED if s is not INITIAL_STATE)

_T = TransitionSpec
_TRANSITIONS = [
    _T("verify_identity", (S.IDENTITY_VERIFICATION,), S.PAYMENT_METHOD,
       _l("Xác thực danh tính"), "VerifyIdentityForm", OFFICE, False,
       "ID number, source, date, corrections to name / birth date / sex"),
    _T("record_identity_problem", (S.IDENTITY_VERIFICATION,), None,
       _l("Ghi nhận vướng mắc xác thực"), "IdentityProblemForm", OFFICE, False,
       "problem, follow-up date"),
    _T("choose_account", (S.PAYMENT_METHOD,), S.ACCOUNT_OPENING,
       _l("Đăng ký nhận qua tài khoản"), "ChooseAccountForm", OFFICE, False,
       "account holder, provider, account number if any, consent date"),
    _T("choose_cash", (S.PAYMENT_METHOD,), S.PAID_IN_CASH,
       _l("Đăng ký nhận tiền mặt"), "ChooseCashForm", OFFICE, True,
       "reason (special case, declines, other), proxy if any"),
    _T("record_account_opened", (S.ACCOUNT_OPENING,), None,
       _l("Ghi nhận đã mở tài khoản"), "AccountOpenedForm", OFFICE, False,
       "provider, account number, date opened"),
    _T("confirm_account_payment", (S.ACCOUNT_OPENING,), S.PAID_BY_ACCOUNT,
       _l("Xác nhận chi trả qua tài khoản"), "ConfirmPaymentForm", OFFICE, False,
       "month paid, provider reference"),
    _T("report_payment_failure", (S.PAID_BY_ACCOUNT,), S.ACCOUNT_OPENING,
       _l("Báo chi trả không thành công"), "PaymentFailureForm", OFFICE, False,
       "reason (account closed, wrong number, name mismatch)"),
    _T("switch_to_account", (S.PAID_IN_CASH,), S.PAYMENT_METHOD,
       _l("Chuyển sang nhận qua tài khoản"), "SwitchToAccountForm", OFFICE, False, "note"),
    _T("switch_to_cash", (S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT), S.PAID_IN_CASH,
       _l("Chuyển sang nhận tiền mặt"), "SwitchToCashForm", OFFICE, True, "reason"),
    _T("suspend", RECEIVING, S.SUSPENDED,
       _l("Tạm dừng trợ cấp"), "SuspendForm", OFFICE, True,
       "legal reason code, effective month, decision number"),
    _T("resume", (S.SUSPENDED,), RETURN,
       _l("Tiếp tục hưởng trợ cấp"), "ResumeForm", OFFICE, True,
       "decision number, effective month, months of arrears"),
    _T("terminate", NOT_TERMINATED, S.TERMINATED,
       _l("Thôi hưởng trợ cấp"), "TerminateForm", OFFICE, True,
       "legal reason code, event date (effective the month after), decision number"),
    _T("reopen_identity", AFTER_IDENTITY, S.IDENTITY_VERIFICATION,
       _l("Xác thực lại danh tính"), "ReopenIdentityForm", OFFICE, True, "what was found wrong"),
    # Four eyes on money and identity (issue 14): the case stays where it is.
    _T("change_account", (S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT), None,
       _l("Thay đổi tài khoản nhận trợ cấp"), "ChangeAccountForm", OFFICE, True,
       "account holder, provider, account number, reason"),
    _T("amend_protected_fields", PAST_REGISTRATION, None,
       _l("Sửa mức trợ cấp hoặc số CCCD"), None, OFFICE, True,
       "the new monthly amount or ID number held back from an edit of the case's data"),
]
TRANSITIONS: dict[str, TransitionSpec] = {t.trigger: t for t in _TRANSITIONS}
