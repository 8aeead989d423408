"""Who may see which cases. Every query that lists, counts, shows or exports cases starts here."""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from cases.models import Case, Commune, Proposal, User
from cases.roles import Role

CASE_READERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})


class OutOfScope(NotFound):
    """A case the user may not see answers exactly like a case that does not exist."""

    def __init__(self, user: User, case_id: int):
        super().__init__()
        self.user, self.case_id = user, case_id


def commune_ids(user: User) -> list[int] | None:
    """The communes a commune-scoped user answers for; None for a province-wide user."""
    if user.province_id is not None:
        return None
    cached = getattr(user, "_scope_commune_ids", None)
    if cached is None:
        cached = [c.id for c in user.communes]
        user._scope_commune_ids = cached
    return cached


def _scope_on(user: User, province_clause, commune_col) -> ColumnElement[bool]:
    if not user.is_active or user.role not in CASE_READERS:
        return false()
    if user.province_id is not None:
        return province_clause
    ids = commune_ids(user)
    return commune_col.in_(ids) if ids else false()


def case_scope(user: User) -> ColumnElement[bool]:
    """The WHERE clause restricting `cases` to what `user` may see."""
    return _scope_on(user, Case.province_id == user.province_id, Case.commune_id)


def scoped_cases(user: User, *columns) -> Select:
    """SELECT over the cases in `user`'s scope (whole `Case` rows unless columns are given)."""
    return select(*(columns or (Case,))).where(case_scope(user))


def proposal_scope(user: User) -> ColumnElement[bool]:
    """The WHERE clause restricting `proposals` to the cases `user` may see."""
    province_communes = select(Commune.id).where(Commune.province_id == user.province_id)
    return _scope_on(user, Proposal.commune_id.in_(province_communes), Proposal.commune_id)


def get_case(session: Session, user: User, case_id: int) -> Case:
    """The case `case_id` if `user` may see it.

    :raise OutOfScope: (404) no such case, or not in the user's scope.
    """
    case = session.execute(scoped_cases(user).where(Case.id == case_id)).scalar_one_or_none()
    if case is None:
        raise OutOfScope(user, case_id)
    return case


def communes_in_scope(session: Session, user: User) -> list[Commune]:
    if user.province_id is not None:
        return list(session.scalars(select(Commune).where(Commune.province_id == user.province_id).order_by(Commune.name)))
    return sorted(user.communes, key=lambda c: c.name)


def may_see_commune(user: User, commune: Commune) -> bool:
    if user.province_id is not None:
        return commune.province_id == user.province_id
    return commune.id in (commune_ids(user) or [])
