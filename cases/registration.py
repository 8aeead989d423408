"""Registering a beneficiary and editing a case's data."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, reference
from cases.access import may_see_commune
from cases.audit import Actor
from cases.changes import check_version, diff, snapshot, touch, unique_or, utcnow
from cases.checks import CheckFailed, check_birth_date, check_mobile, check_national_id
from cases.errors import DomainError, NotPermitted
from cases.models import Case, Commune, PolicyGroup, User, Village
from cases.roles import Role
from workflow import engine
from workflow.states import CaseState

CASE_WRITERS = frozenset({Role.OFFICER, Role.SUPERVISOR})
DUPLICATE_ID = "Số CCCD này vừa được ghi cho một hồ sơ khác đang hưởng trợ cấp."

# The fields a person's data form may set; state, payment and decisions move through transitions.
PERSON_FIELDS = (
    "full_name", "birth_date", "sex", "national_id", "phone", "ethnicity",
    "commune_id", "village_id", "address_detail",
    "policy_group", "category_code", "monthly_amount", "benefit_decision_number", "benefit_start_month",
    "guardian_name", "guardian_national_id", "guardian_relation", "guardian_phone",
    "special_very_old", "special_gravely_ill", "special_cannot_travel", "special_nobody_to_authorise",
    "notes",
)


def require_writer(user: User) -> None:
    if not may_register(user):
        raise NotPermitted("Tài khoản của bạn chỉ được xem, không được thay đổi hồ sơ.")


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
              today: date) -> dict:
    """Change a case's person data; returns {field: [before, after]} (empty: nothing changed).

    :raise StaleCase: the case changed since the form was rendered.
    :raise DomainError: a check fails, or the case is terminated (final).
    """
    require_writer(user)
    check_version(case, version)
    if not may_edit(user, case):
        raise DomainError("Hồ sơ đã thôi hưởng; không sửa được nữa.")
    merged = {k: getattr(case, k) for k in PERSON_FIELDS} | {k: v for k, v in data.items() if k in PERSON_FIELDS}
    values = _checked(session, user, merged, today, case_id=case.id)
    before = snapshot(case)
    for key, value in values.items():
        setattr(case, key, value)
    changes = diff(before, snapshot(case))
    if changes:
        touch(case, user)
        with unique_or(DUPLICATE_ID, "national_id"):
            session.flush()
        audit.record(session, actor, "case.edit", case=case, detail={"changes": changes})
    return changes


def _checked(session: Session, user: User, values: dict, today: date, case_id: int | None) -> dict:
    # A field left empty on a form arrives as "": store it as no value. Otherwise every empty
    # text field is an "edit" (None → "") on each save, and a second case saved without an ID
    # number collides with the first on the unique index of live ID numbers ("" = "").
    values = {k: (v.strip() or None) if type(v) is str else v for k, v in values.items()}  # not str enums
    commune = session.get(Commune, values.get("commune_id"))
    if commune is None or not may_see_commune(user, commune):
        raise DomainError("Xã/phường không thuộc phạm vi bạn quản lý.", "commune_id")
    values["province_id"] = commune.province_id
    if values.get("village_id"):
        village = session.get(Village, values["village_id"])
        if village is None or village.commune_id != commune.id:
            raise DomainError("Thôn/khối không thuộc xã/phường đã chọn.", "village_id")
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
        ensure_unique_national_id(session, values["national_id"], case_id)
    values["monthly_amount"] = monthly_amount(values, today)
    return values


def ensure_unique_national_id(session: Session, national_id: str, case_id: int | None) -> None:
    """:raise DomainError: another live (not terminated) case carries this ID number."""
    other = session.execute(
        select(Case.id, Case.commune_id)
        .where(Case.national_id == national_id, Case.status != CaseState.TERMINATED, Case.id != (case_id or 0))
    ).first()
    if other is not None:
        commune = session.get(Commune, other.commune_id)
        raise DomainError(f"Số CCCD {national_id} đã có trong hồ sơ số {other.id} ({commune.name}) "
                          "đang hưởng trợ cấp.", "national_id")


def monthly_amount(values: dict, today: date) -> int:
    """BTXH: base amount in force × the category's coefficient; NCC: as entered."""
    category = reference.categories().get(values.get("category_code") or "")
    group = values["policy_group"]
    if category is None or category.group is not group:
        raise DomainError("Diện đối tượng không đúng với nhóm chính sách.", "category_code")
    if group is PolicyGroup.NCC:
        amount = values.get("monthly_amount")
        if not amount or amount <= 0:
            raise DomainError("Người có công: cần nhập mức trợ cấp hàng tháng.", "monthly_amount")
        return int(amount)
    start = values.get("benefit_start_month")
    return reference.btxh_monthly_amount(category.code, max(today, start) if start else today)
