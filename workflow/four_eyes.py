"""Which of a case's fields change only with a second person's approval, and from which states.

Beside the table of transitions: a case that has left registration pays money to a person
identified by a number, into an account. Changing the amount, the number or the account there
is proposed and approved like a transition (BRIEF issue 14, findings 7 and 8): the edit form holds
these changes back as one `amend_protected_fields` proposal, `change_account` changes the
account, and a transition that needs no approval may record them the first time but never
replace what is recorded.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from workflow.states import CaseState
from workflow.table import PAST_REGISTRATION

AMEND_TRIGGER = "amend_protected_fields"

# Field → how a screen names it (lazy: in the reader's language).
FIELD_LABELS: dict[str, str] = {
    "monthly_amount": _l("mức trợ cấp hàng tháng"),
    "national_id": _l("số CCCD"),
    "account_holder": _l("chủ tài khoản"),
    "account_holder_name": _l("họ tên chủ tài khoản"),
    "account_holder_national_id": _l("số CCCD chủ tài khoản"),
    # The provider routes the money as much as the number does: the same number at another bank
    # is another account.
    "provider_id": _l("tổ chức chi trả"),
    "account_number": _l("số tài khoản"),
}
PROTECTED_FIELDS = tuple(FIELD_LABELS)
PROTECTED_FROM: tuple[CaseState, ...] = PAST_REGISTRATION

# What a held value is checked against travels with it: a category saved at once beside its amount
# held back, or a birth date beside the ID number whose digits encode it, would leave the case
# disagreeing with itself until a supervisor decides (and for good if they reject).
TRAVELS_WITH = {
    "monthly_amount": ("policy_group", "category_code", "benefit_start_month"),
    "national_id": ("birth_date", "sex"),
}


def held_for_approval(state: CaseState, changes: dict) -> dict:
    """The part of an edit's `changes` ({field: new value}) that must wait for approval."""
    if state not in PROTECTED_FROM:
        return {}
    held = {k: v for k, v in changes.items() if k in PROTECTED_FIELDS}
    for field in list(held):
        held |= {k: v for k, v in changes.items() if k in TRAVELS_WITH.get(field, ())}
    return held


def replaced_without_approval(state: CaseState, changes: dict) -> list[str]:
    """The protected fields whose recorded value `changes` ({field: [before, after]}) replaces.

    Recording a value the first time (before is None) is not a replacement: choosing an account
    for the first time is an officer's work alone, changing it is not.
    """
    if state not in PROTECTED_FROM:
        return []
    return [k for k in PROTECTED_FIELDS if k in changes and changes[k][0] is not None]


def labels(fields) -> str:
    """`mức trợ cấp hàng tháng, số CCCD`: the protected fields among `fields`, as a screen says them."""
    return ", ".join(str(FIELD_LABELS[k]) for k in PROTECTED_FIELDS if k in fields)
