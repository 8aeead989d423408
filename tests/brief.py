"""BRIEF section 3, written out by hand, for the tests to hold the code to.

Everything the workflow tests expect comes from here, not from `workflow.table`, so a table that
drifts from the brief fails them.
"""
from __future__ import annotations

from workflow.states import CaseState as S

RETURNS = "the state it was suspended from"
RECEIVING = (S.IDENTITY_VERIFICATION, S.PAYMENT_METHOD, S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT, S.PAID_IN_CASH)
# "Left registration": live, and no longer waiting for identity verification.
PAST_REGISTRATION = (S.PAYMENT_METHOD, S.ACCOUNT_OPENING, S.PAID_BY_ACCOUNT, S.PAID_IN_CASH, S.SUSPENDED)

# (state, trigger) -> where the case goes.
BRIEF_MOVES: dict[tuple[S, str], S | str] = {
    (S.IDENTITY_VERIFICATION, "verify_identity"): S.PAYMENT_METHOD,
    (S.IDENTITY_VERIFICATION, "record_identity_problem"): S.IDENTITY_VERIFICATION,
    (S.PAYMENT_METHOD, "choose_account"): S.ACCOUNT_OPENING,
    (S.PAYMENT_METHOD, "choose_cash"): S.PAID_IN_CASH,
    (S.ACCOUNT_OPENING, "record_account_opened"): S.ACCOUNT_OPENING,
    (S.ACCOUNT_OPENING, "confirm_account_payment"): S.PAID_BY_ACCOUNT,
    (S.PAID_BY_ACCOUNT, "report_payment_failure"): S.ACCOUNT_OPENING,
    (S.PAID_IN_CASH, "switch_to_account"): S.PAYMENT_METHOD,
    (S.ACCOUNT_OPENING, "switch_to_cash"): S.PAID_IN_CASH,
    (S.PAID_BY_ACCOUNT, "switch_to_cash"): S.PAID_IN_CASH,
    **{(s, "suspend"): S.SUSPENDED for s in RECEIVING},
    (S.SUSPENDED, "resume"): RETURNS,
    **{(s, "terminate"): S.TERMINATED for s in S if s is not S.TERMINATED},
    **{(s, "reopen_identity"): S.IDENTITY_VERIFICATION for s in RECEIVING if s is not S.IDENTITY_VERIFICATION},
    # Issue 14, item 7: four eyes on money and identity; the case stays where it is.
    (S.ACCOUNT_OPENING, "change_account"): S.ACCOUNT_OPENING,
    (S.PAID_BY_ACCOUNT, "change_account"): S.PAID_BY_ACCOUNT,
    **{(s, "amend_protected_fields"): s for s in PAST_REGISTRATION},
}
BRIEF_NEEDS_APPROVAL = {"choose_cash", "switch_to_cash", "suspend", "resume", "terminate", "reopen_identity",
                        "change_account", "amend_protected_fields"}
# Started from the case's edit form (changes held back for approval), never by a button of its own.
BRIEF_FROM_EDIT_FORM = {"amend_protected_fields"}
BRIEF_STATE_LABELS = {
    S.IDENTITY_VERIFICATION: "Chờ xác thực danh tính",
    S.PAYMENT_METHOD: "Chờ đăng ký phương thức chi trả",
    S.ACCOUNT_OPENING: "Đang mở tài khoản",
    S.PAID_BY_ACCOUNT: "Chi trả qua tài khoản",
    S.PAID_IN_CASH: "Chi trả tiền mặt",
    S.SUSPENDED: "Tạm dừng",
    S.TERMINATED: "Thôi hưởng",
}
