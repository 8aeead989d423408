"""Who may see which cases. Every query that lists, counts, shows or exports cases starts here."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, any_, bindparam, false, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import NotFound

from cases.errors import NotPermitted
from cases.models import Case, Commune, Proposal, User
from cases.roles import Role

CASE_READERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})


class OutOfScope(NotFound):
    """A case the user may not see answers exactly like a case that does not exist."""

    def __init__(self, user: User, case_id: int):
        super().__init__()
        self.user, self.case_id = user, case_id


class ProposalOutOfScope(NotFound):
    """A proposal the user may not see (or that does not exist): a 404, audited like a case."""

    def __init__(self, user: User, proposal_id: int):
        super().__init__()
        self.user, self.proposal_id = user, proposal_id


def require_admin(user: User, task: str) -> None:
    """The one check of the administrators' screens and services (users, calendar, jobs, mail).

    :raise NotPermitted: (403) `user` is not an active administrator; the message names `task`.
    """
    if not user.is_active or user.role is not Role.ADMIN:
        raise NotPermitted(_("Chỉ quản trị hệ thống được %(task)s.", task=task))


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
    return _scope_on(user, commune_of_province(Proposal.commune_id, user.province_id), Proposal.commune_id)


class commune_of_province(FunctionElement):
    """`commune_of_province(column, province_id)`: the commune in `column` belongs to the province.

    `column IN (SELECT id FROM communes WHERE province_id = …)`, except on PostgreSQL, where it is
    `column = ANY(ARRAY(SELECT …))`: there the planner probes an index on the commune once per
    commune of the province, where with IN it preferred reading every open proposal of the country
    through another partial index (the inbox's first page: 23 ms → 2 ms at a million cases)."""
    # No Boolean type: SQLAlchemy would write `… = 1` after it on SQLite, and the planner could no
    # longer use an index for the IN.
    name = "commune_of_province"
    inherit_cache = True


def _communes_of(element):
    column, province_id = list(element.clauses)
    return column, select(Commune.id).where(Commune.province_id == province_id)


@compiles(commune_of_province)
def _in_communes(element, compiler, **kw):
    column, communes = _communes_of(element)
    return compiler.process(column.in_(communes), **kw)


@compiles(commune_of_province, "postgresql")
def _any_of_communes(element, compiler, **kw):
    column, communes = _communes_of(element)
    return compiler.process(column == any_(func.array(communes.scalar_subquery())), **kw)


# The one case, in a province or in some communes: built once, so each request only binds its
# values (building and keying a fresh statement cost more than the indexed lookup itself).
_CASE_IN_PROVINCE = select(Case).where(Case.id == bindparam("case_id"), Case.province_id == bindparam("province_id"))
_CASE_IN_COMMUNES = select(Case).where(Case.id == bindparam("case_id"),
                                       Case.commune_id.in_(bindparam("commune_ids", expanding=True)))


def _one_in_scope(session: Session, user: User, in_province: Select, in_communes: Select, **values):
    """Run the province or the communes form of a one-row lookup, as the user's scope says
    (the same rule as `_scope_on`); None when out of scope or absent."""
    if not user.is_active or user.role not in CASE_READERS:
        return None
    if user.province_id is not None:
        return session.execute(in_province, {**values, "province_id": user.province_id}).scalar()
    ids = commune_ids(user)
    return session.execute(in_communes, {**values, "commune_ids": ids}).scalar() if ids else None


def get_case(session: Session, user: User, case_id: int) -> Case:
    """The case `case_id` if `user` may see it (the same scope as `case_scope`).

    :raise OutOfScope: (404) no such case, or not in the user's scope.
    """
    case = _one_in_scope(session, user, _CASE_IN_PROVINCE, _CASE_IN_COMMUNES, case_id=case_id)
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


# A proposal with its case and proposer (a decision needs both), in a province or in some communes.
_PROPOSAL = select(Proposal).options(joinedload(Proposal.case), joinedload(Proposal.proposed_by))
_PROPOSAL_IN_PROVINCE = _PROPOSAL.where(
    Proposal.id == bindparam("proposal_id"),
    Proposal.commune_id.in_(select(Commune.id).where(Commune.province_id == bindparam("province_id"))))
_PROPOSAL_IN_COMMUNES = _PROPOSAL.where(Proposal.id == bindparam("proposal_id"),
                                        Proposal.commune_id.in_(bindparam("commune_ids", expanding=True)))


def get_proposal(session: Session, user: User, proposal_id: int) -> Proposal:
    """The proposal `proposal_id`, with its case and proposer, if `user` may see its case.

    :raise ProposalOutOfScope: (404) no such proposal, or not in the user's scope.
    """
    proposal = _one_in_scope(session, user, _PROPOSAL_IN_PROVINCE, _PROPOSAL_IN_COMMUNES, proposal_id=proposal_id)
    if proposal is None:
        raise ProposalOutOfScope(user, proposal_id)
    return proposal
