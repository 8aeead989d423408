"""Counts as of the end of a month: from `case_stays` by one indexed range query, and, once the month
has ended, recorded in `report_month_counts` so a report reads a few rows per commune instead of
scanning the stays again (a year's trend needs twelve month ends; a province of 200,000 cases has
about a million stays).

A recorded month is final: the triggers date every stay at the moment of the change, never before,
so nothing written later falls inside a month that has ended. The bulk loaders that invent a past
(the demo and the benchmark generator) record the months after they load.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.models import CaseStay, RecordedMonth, ReportMonthCount
from cases.reports.periods import add_months, end_of
from workflow.states import CaseState
from workflow.table import RECEIVING

COUNTS = ("receiving", "with_account", "paid_by_account", "paid_in_cash", "suspended")
_RECEIVING = tuple(state.value for state in RECEIVING)
_STAY = CaseStay.__table__.c
_MONTHS = ReportMonthCount.__table__
_RECORDED = RecordedMonth.__table__


@dataclass(frozen=True)
class Scope:
    """Where to count: one commune, one province, or (both None) the country."""
    province_id: int | None = None
    commune_id: int | None = None


def month_end(first_day: date) -> datetime:
    """The moment the month beginning `first_day` ends (midnight after its last day, Vietnam's
    time), in UTC without zone."""
    return end_of(add_months(first_day, 1) - timedelta(days=1))


def as_of_statement(moment: datetime, scope: Scope) -> Select:
    """The as-of query: per commune and policy group, the cases in each kind of count at `moment` —
    the stays with `valid_from <= moment < valid_to`, a range on the index inside a province."""
    spans = and_(_STAY.valid_to > moment, _STAY.valid_from <= moment)
    receiving = _STAY.status.in_(_RECEIVING)
    statement = (select(_STAY.commune_id, _STAY.policy_group, func.min(_STAY.province_id).label("province_id"),
                        _count(receiving).label("receiving"),
                        _count(and_(receiving, _STAY.has_account)).label("with_account"),
                        _count(_STAY.status == CaseState.PAID_BY_ACCOUNT.value).label("paid_by_account"),
                        _count(_STAY.status == CaseState.PAID_IN_CASH.value).label("paid_in_cash"),
                        _count(_STAY.status == CaseState.SUSPENDED.value).label("suspended"))
                 .where(spans).group_by(_STAY.commune_id, _STAY.policy_group))
    if scope.province_id is not None:
        statement = statement.where(_STAY.province_id == scope.province_id)
    if scope.commune_id is not None:
        statement = statement.where(_STAY.commune_id == scope.commune_id)
    return statement


def _count(condition: ColumnElement[bool]):
    return func.count().filter(condition)


def record_month(session: Session, month: date, now: datetime | None = None) -> int:
    """Record the whole country's counts as of the end of `month` (first day), replacing any
    recorded before; returns the rows written. Flushes, never commits.

    :raise ValueError: the month has not ended yet (its counts could still change).
    """
    now = now or utcnow()
    if month_end(month) > now:
        raise ValueError(f"{month:%Y-%m} has not ended yet")
    session.execute(delete(_MONTHS).where(_MONTHS.c.month == month))
    session.execute(delete(_RECORDED).where(_RECORDED.c.month == month))
    session.execute(insert(_RECORDED).values(month=month, recorded_at=now))
    counted = as_of_statement(month_end(month), Scope()).subquery()
    written = session.execute(insert(_MONTHS).from_select(
        ["month", "commune_id", "policy_group", "province_id", *COUNTS],
        select(literal(month).label("month"), counted.c.commune_id, counted.c.policy_group, counted.c.province_id,
               *(counted.c[name] for name in COUNTS))))
    return written.rowcount


def recorded_months(session: Session, months: Iterable[date]) -> set[date]:
    """Which of `months` are recorded (for the whole country: a month is recorded all at once)."""
    wanted = sorted(set(months))
    return set(session.scalars(select(_RECORDED.c.month).where(_RECORDED.c.month.in_(wanted))))


def record_missing_months(session: Session, last: date, count: int = 13, now: datetime | None = None) -> list[date]:
    """Record the `count` month ends up to `last`'s month that are not recorded yet (the monthly
    job catches up this way after an upgrade or a stop); returns the months recorded."""
    now = now or utcnow()
    months = [add_months(last.replace(day=1), -n) for n in range(count)]
    missing = sorted(m for m in set(months) - recorded_months(session, months) if month_end(m) <= now)
    for month in missing:
        record_month(session, month, now)
    return missing


def counts_at(session: Session, months: Iterable[date], scope: Scope) -> dict[date, list]:
    """{month: rows (commune_id, policy_group, province_id, *COUNTS)} as of each month's end: read
    from the recorded months, counted from the stays for the others."""
    months = sorted(set(months))
    recorded = recorded_months(session, months)
    found: dict[date, list] = {month: [] for month in months}
    if recorded:
        statement = select(_MONTHS.c.month, _MONTHS.c.commune_id, _MONTHS.c.policy_group, _MONTHS.c.province_id,
                           *(_MONTHS.c[name] for name in COUNTS)).where(_MONTHS.c.month.in_(sorted(recorded)))
        if scope.province_id is not None:
            statement = statement.where(_MONTHS.c.province_id == scope.province_id)
        if scope.commune_id is not None:
            statement = statement.where(_MONTHS.c.commune_id == scope.commune_id)
        for row in session.execute(statement):
            found[row.month].append(tuple(row)[1:])
    for month in months:
        if month not in recorded:
            found[month] = [tuple(row) for row in session.execute(as_of_statement(month_end(month), scope))]
    return found
