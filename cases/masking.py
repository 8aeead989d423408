"""Personal numbers (ID and account numbers): masked wherever they are shown or exported, and
revealed in full only by an explicit, audited request of a user who needs it.

This is the one place that knows which fields are personal numbers and how they are masked;
the pages (through the Jinja filters), the case history and every export call it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from cases import audit
from cases.audit import Actor
from cases.errors import NotPermitted
from cases.models import Case, User
from cases.roles import Role

# The keys that hold a personal number: the case's columns, and the transition forms' fields
# (`holder_national_id` is the choose-account form's name for the account holder's ID).
PERSONAL_NUMBERS = frozenset({"national_id", "guardian_national_id", "account_holder_national_id",
                              "holder_national_id", "account_number"})
# The case's columns a user may ask to see in full.
REVEALABLE = ("national_id", "guardian_national_id", "account_holder_national_id", "account_number")
# Those who work with the person or check the work; an administrator runs the system, not cases.
REVEALERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR})

KEPT_DIGITS = 4
# The same width whatever the number: the mask does not tell an ID from an account number's length.
MASK = "•" * 8


def mask_number(value: Any) -> str:
    """`••••••••1234`: the last four characters, enough to tell two people apart on a list.
    A value under eight characters is masked whole (four of six would be most of it)."""
    if value is None or value == "":
        return "—"
    text = str(value)
    return MASK + text[-KEPT_DIGITS:] if len(text) >= 2 * KEPT_DIGITS else MASK


def mask_field(name: str, value: Any) -> Any:
    """`value` masked when `name` is a personal number's field, else as it is."""
    if name in PERSONAL_NUMBERS and value not in (None, ""):
        return mask_number(value)
    return value


def mask_detail(detail: Any) -> Any:
    """An audit record's detail with every personal number masked, at any depth: `changes`
    ({field: [before, after]}), `data` (a form's payload) and `fields` (a case at creation)."""
    if isinstance(detail, dict):
        return {key: _mask_under(key, value) if key in PERSONAL_NUMBERS else mask_detail(value)
                for key, value in detail.items()}
    if isinstance(detail, list):
        return [mask_detail(item) for item in detail]
    return detail


def _mask_under(key: str, value: Any) -> Any:
    if isinstance(value, list):  # [before, after]
        return [mask_field(key, item) for item in value]
    return mask_field(key, value)


class NothingToReveal(NotFound):
    """No such number on the case (an unknown field, or an empty one): a 404."""


def may_reveal(user: User) -> bool:
    return user.is_authenticated and user.role in REVEALERS


def reveal(session: Session, actor: Actor, user: User, case: Case, field: str) -> str:
    """The full number in `case`'s `field`, with an audit record of who saw which of the case's
    numbers (never the number itself). The caller has checked the case is in the user's scope.

    :raise NotPermitted: (403) the user's role does not see full numbers.
    :raise NothingToReveal: (404) `field` is not a revealable number, or the case has none.
    """
    if not may_reveal(user):
        raise NotPermitted("Vai trò của bạn không được xem số CCCD hoặc số tài khoản đầy đủ.")
    value = getattr(case, field) if field in REVEALABLE else None
    if not value:
        raise NothingToReveal()
    audit.record(session, actor, "case.reveal", case=case, detail={"field": field})
    return value


def numbers_on_form(form_data: dict[str, Any]) -> list[str]:
    """The personal numbers a form about to be shown carries in full (prefilled to be edited)."""
    return sorted(name for name, value in form_data.items() if name in PERSONAL_NUMBERS and value)


def record_numbers_shown(session: Session, actor: Actor, case: Case, fields: list[str], purpose: str) -> None:
    """A form that shows numbers in full (the edit form, the identity check) is a reveal too:
    the same record as `reveal`, naming the form."""
    audit.record(session, actor, "case.reveal", case=case, detail={"fields": fields, "form": purpose})
