"""Counts for the queues and the home page, from the maintained `case_counts` table.

The table holds one row per commune, state and policy group (kept by triggers, migration 0012),
so a province's tabs sum a few hundred small rows whatever the number of cases. A filter the
table cannot answer (a village, a category, a search ...) is counted on the cases themselves,
capped at COUNT_CAP: past it the page says "more than 10,000" instead of counting a million.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from cases.access import CASE_READERS, commune_ids
from cases.models import CaseCount, PolicyGroup, User
from workflow.states import CaseState

COUNT_CAP = 10_000


def count_scope(user: User) -> ColumnElement[bool]:
    """`case_counts` rows of the communes `user` may see (the same rule as `access.case_scope`)."""
    if not user.is_active or user.role not in CASE_READERS:
        return false()
    if user.province_id is not None:
        return CaseCount.province_id == user.province_id
    ids = commune_ids(user)
    return CaseCount.commune_id.in_(ids) if ids else false()


_TOTAL = "*total*"   # the key of the capped count's row beside the states' rows


def queue_counts(session: Session, user: User, commune_id: int | None = None,
                 policy_group: PolicyGroup | None = None, cases: Select | None = None
                 ) -> tuple[dict[CaseState, int], tuple[int, bool] | None]:
    """({state: cases} in the user's scope — one commune, one policy group when given — every
    state present; and, when `cases` (a SELECT over cases) is given, its (count, capped): read
    at most COUNT_CAP + 1 of its rows, capped True past COUNT_CAP). One statement either way.
    """
    statement = (select(CaseCount.status.label("key"), func.sum(CaseCount.n).label("n"))
                 .where(count_scope(user)).group_by(CaseCount.status))
    if commune_id is not None:
        statement = statement.where(CaseCount.commune_id == commune_id)
    if policy_group is not None:
        statement = statement.where(CaseCount.policy_group == policy_group.value)
    if cases is not None:
        limited = cases.with_only_columns(literal_column("1")).order_by(None).limit(COUNT_CAP + 1).subquery()
        statement = union_all(statement, select(literal(_TOTAL).label("key"), func.count().label("n"))
                              .select_from(limited))
    found = {key: int(n or 0) for key, n in session.execute(statement)}
    total = found.pop(_TOTAL, None)
    tabs = {state: found.get(state.value, 0) for state in CaseState}
    return tabs, (None if total is None else (min(total, COUNT_CAP), total > COUNT_CAP))


def state_counts(session: Session, user: User, commune_id: int | None = None,
                 policy_group: PolicyGroup | None = None) -> dict[CaseState, int]:
    """{state: cases} in the user's scope (see `queue_counts`)."""
    return queue_counts(session, user, commune_id, policy_group)[0]


def capped_count(session: Session, cases: Select) -> tuple[int, bool]:
    """(count, capped) of the rows `cases` (a SELECT over cases) yields, reading at most
    COUNT_CAP + 1 of them; capped is True when there are more than COUNT_CAP."""
    limited = cases.with_only_columns(literal_column("1")).order_by(None).limit(COUNT_CAP + 1).subquery()
    n = session.execute(select(func.count()).select_from(limited)).scalar_one()
    return min(n, COUNT_CAP), n > COUNT_CAP
