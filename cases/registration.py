"""Registering a beneficiary and editing a case's data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from cases import audit
from cases.access import may_see_commune
from cases.actions import PENDING_EXISTS, pending_proposal, propose
from cases.audit import Actor
from cases.changes import check_version, diff, snapshot, touch, unique_or, utcnow
from cases.checks import CheckFailed, check_birth_date, check_mobile, check_national_id
from cases.entry import DUPLICATE_ID, check_category_age, ensure_unique_national_id, monthly_amount
from cases.errors import DomainError, NotPermitted
from cases.models import Case, Commune, Proposal, User, Village
from cases.roles import Role
from workflow import engine, four_eyes
from workflow.states import CaseState

CASE_WRITERS = frozenset({Role.OFFICER, Role.SUPERVISOR})

# The fields a person's data form may set; state, payment and decisions move through transitions.
PERSON_FIELDS = (
    "full_name", "birth_date", "sex", "national_id", "phone", "ethnicity",
    "commune_id", "village_id", "address_detail",
    "policy_group", "category_code", "monthly_amount", "benefit_decision_number", "benefit_start_month",
    "guardian_name", "guardian_national_id", "guardian_relation", "guardian_phone",
    "special_very_old", "special_gravely_ill", "special_cannot_travel", "special_nobody_to_authorise",
    "notes",
)


@dataclass(frozen=True)
class Edit:
    """What an edit did: the changes saved now, and the proposal holding back the rest."""
    saved: dict                  # {field: [before, after]}
    held: dict                   # {field: proposed value}, waiting for approval
    proposal: Proposal | None

    def __bool__(self) -> bool:
        return bool(self.saved) or self.proposal is not None


def require_writer(user: User) -> None:
    if not may_register(user):
        raise NotPermitted(_("Tài khoản của bạn chỉ được xem, không được thay đổi hồ sơ."))


def may_register(user: User) -> bool:
    return user.role in CASE_WRITERS


def may_edit(user: User, case: Case) -> bool:
    """A terminated case is final; its data stays as it was decided."""
    return user.role in CASE_WRITERS and case.status is not CaseState.TERMINATED


def register_case(session: Session, actor: Actor, user: User, data: dict, today: date) -> Case:
    """Open a case for a new beneficiary, in the workflow's initial state.

    :raise NotPermitted: the user may not write, or not in that commune.
    :raise DomainError: the data fails an entry check (the message names the field).
    """
    require_writer(user)
    values = _checked(session, user, {k: data.get(k) for k in PERSON_FIELDS}, today, case_id=None)
    now = utcnow()
    case = Case(**values, created_at=now, created_by_id=user.id, updated_at=now, updated_by_id=user.id)
    engine.start(case)
    session.add(case)
    with unique_or(DUPLICATE_ID, "national_id"):
        session.flush()
    audit.record(session, actor, "case.create", case=case, detail={"fields": snapshot(case)})
    return case


def edit_case(session: Session, actor: Actor, user: User, case: Case, data: dict, version: int | None,
              today: date, reason: str | None = None) -> Edit:
    """Change a case's person data. On a case past registration, changes to its money or identity
    (`workflow.four_eyes`) are held back as one proposal for a supervisor; the rest is saved now.

    :raise StaleCase: the case changed since the form was rendered.
    :raise DomainError: a check fails, the case is terminated (final), or changes would need
        approval while another proposal is pending. Nothing is saved then.
    """
    require_writer(user)
    check_version(case, version)
    if not may_edit(user, case):
        raise DomainError(_("Hồ sơ đã thôi hưởng; không sửa được nữa."))
    merged = {k: getattr(case, k) for k in PERSON_FIELDS} | {k: v for k, v in data.items() if k in PERSON_FIELDS}
    values = _checked(session, user, merged, today, case_id=case.id, before=case)
    held = four_eyes.held_for_approval(case.status, {k: v for k, v in values.items() if getattr(case, k) != v})
    if held and pending_proposal(session, case.id) is not None:
        raise DomainError(PENDING_EXISTS, next(iter(held)))
    before = snapshot(case)
    for key, value in values.items():
        if key not in held:
            setattr(case, key, value)
    saved = diff(before, snapshot(case))
    if saved:
        touch(case, user)
        with unique_or(DUPLICATE_ID, "national_id"):
            session.flush()
        audit.record(session, actor, "case.edit", case=case, detail={"changes": saved})
    # Proposed after the save, so the proposal is for the case as it now stands (its version).
    proposal = propose(session, actor, user, case, four_eyes.AMEND_TRIGGER, _json_safe(held), reason) if held else None
    return Edit(saved, held, proposal)


def _checked(session: Session, user: User, values: dict, today: date, case_id: int | None,
             before: Case | None = None) -> dict:
    # A field left empty on a form arrives as "": store it as no value. Otherwise every empty
    # text field is an "edit" (None → "") on each save, and a second case saved without an ID
    # number collides with the first on the unique index of live ID numbers ("" = "").
    values = {k: (v.strip() or None) if type(v) is str else v for k, v in values.items()}  # not str enums
    commune = session.get(Commune, values.get("commune_id"))
    if commune is None or not may_see_commune(user, commune):
        raise DomainError(_("Xã/phường không thuộc phạm vi bạn quản lý."), "commune_id")
    values["province_id"] = commune.province_id
    if values.get("village_id"):
        village = session.get(Village, values["village_id"])
        if village is None or village.commune_id != commune.id:
            raise DomainError(_("Thôn/khối không thuộc xã/phường đã chọn."), "village_id")
    else:
        values["village_id"] = None
    try:
        check_birth_date(values["birth_date"], today)
        if values.get("national_id"):
            values["national_id"] = check_national_id(values["national_id"], values["birth_date"], values["sex"])
        for field in ("phone", "guardian_phone"):
            if values.get(field):
                values[field] = check_mobile(values[field])
        if values.get("guardian_national_id"):
            values["guardian_national_id"] = check_national_id(values["guardian_national_id"], None, None)
    except CheckFailed as failure:
        raise DomainError(str(failure)) from None
    if values.get("national_id"):
        ensure_unique_national_id(session, values["national_id"], case_id, user)
    # The age rule is checked when the category or the birth date is entered or changed: a person
    # who has since grown past their category's age is a review for the officer, not a reason to
    # refuse every other correction to the case.
    if before is None or (before.category_code, before.birth_date) != (values["category_code"], values["birth_date"]):
        check_category_age(values.get("category_code"), values["birth_date"], today)
    values["monthly_amount"] = monthly_amount(values, today)
    return values


def _json_safe(values: dict) -> dict:
    """Held values as a proposal's payload stores them (dates as ISO strings, enums as values)."""
    return {k: v.isoformat() if isinstance(v, date) else getattr(v, "value", v) for k, v in values.items()}
