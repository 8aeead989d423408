"""Bulk actions on the cases ticked in a queue: each case through the engine (or, for an
assignment, through its own change and audit record), in a savepoint of its own, so the refusal
of one case undoes that case alone. The view commits once for all.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from cases import audit
from cases.access import may_see_commune, scoped_cases
from cases.actions import start_transition
from cases.audit import Actor
from cases.changes import touch, write_case
from cases.errors import DomainError, NotPermitted
from cases.models import Case, User, user_communes
from cases.models.case import IdentitySource
from cases.roles import Role

MAX_CASES = 200
ACTION_LABELS = {"verify": _l("Ghi nhận đã xác thực danh tính (công an đã trả lời)"),
                 "assign": _l("Giao cho cán bộ"), "suspend": _l("Đề xuất tạm dừng trợ cấp")}


@dataclass(frozen=True)
class Outcome:
    case_id: int
    full_name: str
    done: bool
    message: str


class TooMany(DomainError):
    pass


def checked_ids(raw: list[str]) -> list[int]:
    """The distinct case ids ticked, in order; refuses an empty or an oversized request.

    :raise DomainError: nothing ticked, or more than MAX_CASES.
    """
    ids = list(dict.fromkeys(int(v) for v in raw if v.isascii() and v.isdigit() and 0 < len(v) < 10))
    if not ids:
        raise DomainError(_("Chưa chọn hồ sơ nào."))
    if len(ids) > MAX_CASES:
        raise TooMany(_("Mỗi lần chỉ xử lý được tối đa %(n)s hồ sơ; đã chọn %(chosen)s.", n=MAX_CASES,
                        chosen=len(ids)))
    return ids


def record_identity_verified(session: Session, actor: Actor, user: User, case_ids: list[int],
                             source: IdentitySource, verified_on: date) -> list[Outcome]:
    """Verify each case's identity with its registered ID number (the police called back on the
    list); a case without a registered number is refused with that reason."""
    def verify(case: Case) -> str:
        if not case.national_id:
            raise DomainError(_("Hồ sơ chưa có số CCCD; hãy xác thực trên trang hồ sơ."))
        start_transition(session, actor, user, case, "verify_identity", {
            "national_id": case.national_id, "source": source.value, "verified_on": verified_on.isoformat()},
            case.version)
        return _("Đã xác thực danh tính.")
    return _each(session, user, case_ids, verify)


def propose_suspension(session: Session, actor: Actor, user: User, case_ids: list[int], reason_code: str,
                       effective_month: date, decision_number: str, reason: str | None) -> list[Outcome]:
    """Propose a suspension of each case with one legal reason and effective month for all."""
    payload = {"reason_code": reason_code, "effective_month": effective_month.replace(day=1).isoformat(),
               "decision_number": decision_number}

    def suspend(case: Case) -> str:
        start_transition(session, actor, user, case, "suspend", dict(payload), case.version, reason=reason)
        return _("Đã lập đề xuất, chờ lãnh đạo phê duyệt.")
    return _each(session, user, case_ids, suspend)


def assign(session: Session, actor: Actor, user: User, case_ids: list[int], officer: User | None) -> list[Outcome]:
    """Give each case to `officer` (None: take it back from whoever had it), who must be an
    active officer answering for the case's commune.

    :raise NotPermitted: the user may not assign (not an officer or supervisor).
    """
    if user.role not in (Role.OFFICER, Role.SUPERVISOR):
        raise NotPermitted(_("Chỉ cán bộ và lãnh đạo được giao hồ sơ."))

    def give(case: Case) -> str:
        if officer is not None and not (officer.is_active and officer.role is Role.OFFICER
                                        and may_see_commune(officer, case.commune)):
            # Not named: the id came from the form and may be anyone's, in any province.
            raise DomainError(_("Cán bộ được chọn không phụ trách xã của hồ sơ này."))
        before = case.assigned_to_id
        case.assigned_to_id = officer.id if officer is not None else None
        touch(case, user)
        write_case(session, case)
        audit.record(session, actor, "case.assign", case=case, detail={
            "changes": {"assigned_to_id": [before, case.assigned_to_id]},
            "assigned_to": officer.username if officer is not None else None})
        return _("Đã giao cho %(name)s.", name=officer.full_name) if officer else _("Đã bỏ giao.")
    return _each(session, user, case_ids, give)


def assignable_officers(session: Session, commune_id: int | None) -> list[tuple[int, str]]:
    """(id, full name) of the active officers answering for `commune_id` (the commune the queue is
    filtered on, whom the assign action offers); none without a commune. One statement either way,
    on the officers of one commune: a province's list would be long and slow to read and to draw."""
    statement = (select(User.id, User.full_name).join(user_communes, user_communes.c.user_id == User.id)
                 .where(user_communes.c.commune_id == (commune_id or 0), User.role == Role.OFFICER,
                        User.active.is_(True))
                 .order_by(User.full_name).limit(200))
    return [(r.id, r.full_name) for r in session.execute(statement)]


def _each(session: Session, user: User, case_ids: list[int], act: Callable[[Case], str]) -> list[Outcome]:
    found = {c.id: c for c in session.scalars(
        scoped_cases(user).options(selectinload(Case.commune)).where(Case.id.in_(case_ids)))}
    outcomes = []
    for case_id in case_ids:
        case = found.get(case_id)
        if case is None:
            outcomes.append(Outcome(case_id, "", False, _("Không tìm thấy hồ sơ trong phạm vi của bạn.")))
            continue
        outcomes.append(_one(session, case, act))
    return outcomes


def _one(session: Session, case: Case, act: Callable[[Case], str]) -> Outcome:
    """`act` on `case` inside a savepoint: on a refusal the case and its staged audit record are
    put back as they were, and the others stand."""
    case_id, name = case.id, case.full_name
    try:
        with audit.savepoint(session):
            message = act(case)
    except (DomainError, NotPermitted, StaleDataError) as refusal:
        text = getattr(refusal, "message", None) or _("Hồ sơ vừa được người khác thay đổi; hãy thử lại.")
        return Outcome(case_id, name, False, text)
    return Outcome(case_id, name, True, message)

