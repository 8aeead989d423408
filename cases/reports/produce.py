"""Producing a report: one aggregate over `case_stays`, then the arithmetic of the letters.

The statement counts, per commune and policy group, the cases whose stay spans each moment the
report needs — the end of the period, the end of the previous period (the change), the ends of
the twelve months up to the period's end (the trend; the one three months back gives the pace of
the projection) — as conditional counts in a single pass over the stays that could span any of
them (`valid_to` after the earliest, `valid_from` before the latest), read from the index
`ix_case_stays_as_of` inside a province.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.errors import DomainError
from cases.models import CaseStay, Commune, Province
from cases.reports import targets as targets_
from cases.reports.figures import (ALREADY_MET, GROUPS, NO_TARGET, NOT_AT_THIS_PACE, Counts, Report, Row, Target,
                                   TrendPoint, share)
from cases.reports.periods import Period, add_months, end_of
from workflow.states import CaseState
from workflow.table import RECEIVING

COUNTRY_CODE = "VN"
TREND_MONTHS = 12
PACE_MONTHS = 3            # the projection's pace: the change over the last three months
_RECEIVING = tuple(state.value for state in RECEIVING)


@dataclass(frozen=True)
class Unit:
    kind: str                  # "province", "commune" or "country"
    id: int | None             # None for the country
    code: str
    name: str
    province_id: int | None
    province_name: str


def find_unit(session: Session, code: str) -> Unit:
    """The unit a code names: a province ("20"), a commune ("06112"), or the country ("VN").

    :raise DomainError: no such province or commune.
    """
    code = (code or "").strip()
    if code.upper() == COUNTRY_CODE:
        return Unit("country", None, COUNTRY_CODE, _("Toàn quốc"), None, _("Toàn quốc"))
    if len(code) == 2 and code.isdigit():
        province = session.scalars(select(Province).where(Province.code == code)).first()
        if province is not None:
            return Unit("province", province.id, province.code, province.name, province.id, province.name)
    if len(code) == 5 and code.isdigit():
        commune = session.scalars(select(Commune).where(Commune.code == code)).first()
        if commune is not None:
            return Unit("commune", commune.id, commune.code, commune.name, commune.province_id,
                        commune.province.name)
    raise DomainError(_("Không có tỉnh hoặc xã/phường mã «%(code)s».", code=code[:20]), "unit")


@dataclass(frozen=True)
class Moments:
    """The moments one report counts at."""
    end: datetime
    previous: datetime
    pace_from: datetime
    months: tuple[date, ...]           # the trend's months (first days), the period's last month last

    @classmethod
    def of(cls, period: Period) -> Moments:
        last = period.last_month
        months = tuple(add_months(last, -n) for n in range(TREND_MONTHS - 1, -1, -1))
        return cls(period.as_of, period.previous().as_of, month_end(add_months(last, -PACE_MONTHS)), months)

    @property
    def all(self) -> list[datetime]:
        return sorted({self.end, self.previous, self.pace_from, *(month_end(m) for m in self.months)})


def month_end(first_day: date) -> datetime:
    """The moment the month beginning `first_day` ends (as `Period.as_of`)."""
    return end_of(add_months(first_day, 1) - timedelta(days=1))


def aggregate_statement(period: Period, unit: Unit) -> Select:
    """The one as-of statement: per commune and policy group, at each moment `k` of
    `Moments.of(period).all`, receiving `r{k}` and paid through an account `p{k}`; at the period's
    end also with an account on record `account`, paid in cash `cash` and suspended `suspended`."""
    moments = Moments.of(period)
    stay = CaseStay.__table__.c
    spans = {at: and_(stay.valid_from <= at, stay.valid_to > at) for at in moments.all}
    receiving = stay.status.in_(_RECEIVING)
    columns = [stay.commune_id, stay.policy_group]
    for k, at in enumerate(moments.all):
        columns.append(_count(and_(spans[at], receiving)).label(f"r{k}"))
        columns.append(_count(and_(spans[at], stay.status == CaseState.PAID_BY_ACCOUNT.value)).label(f"p{k}"))
    end = spans[moments.end]
    columns += [
        _count(and_(end, receiving, stay.has_account)).label("account"),
        _count(and_(end, stay.status == CaseState.PAID_IN_CASH.value)).label("cash"),
        _count(and_(end, stay.status == CaseState.SUSPENDED.value)).label("suspended"),
    ]
    statement = (select(*columns).where(stay.valid_to > moments.all[0], stay.valid_from <= moments.all[-1])
                 .group_by(stay.commune_id, stay.policy_group))
    if unit.kind == "province":
        statement = statement.where(stay.province_id == unit.id)
    elif unit.kind == "commune":
        statement = statement.where(stay.province_id == unit.province_id, stay.commune_id == unit.id)
    return statement


def _count(condition: ColumnElement[bool]):
    return func.count().filter(condition)


@dataclass
class _Tally:
    """One commune's (or the unit's) counts from the statement, per policy group."""
    at: dict[tuple[str, int], list[int]]   # (group, moment index) → [receiving, paid]
    account: dict[str, int]
    cash: int = 0
    suspended: int = 0

    @classmethod
    def empty(cls) -> _Tally:
        return cls(defaultdict(lambda: [0, 0]), defaultdict(int))

    def add(self, group: str, row, moments: int) -> None:
        for k in range(moments):
            pair = self.at[(group, k)]
            pair[0] += getattr(row, f"r{k}")
            pair[1] += getattr(row, f"p{k}")
        self.account[group] += row.account
        self.cash += row.cash
        self.suspended += row.suspended

    def merge(self, other: _Tally, moments: int) -> None:
        for (group, k), (r, p) in other.at.items():
            pair = self.at[(group, k)]
            pair[0] += r
            pair[1] += p
        for group, n in other.account.items():
            self.account[group] += n
        self.cash += other.cash
        self.suspended += other.suspended

    def pair(self, group: str, k: int) -> tuple[int, int]:
        """(receiving, paid) of `group` ("all": both) at moment `k`."""
        if group == "all":
            return tuple(a + b for a, b in zip(self.pair("btxh", k), self.pair("ncc", k)))
        r, p = self.at.get((group, k), (0, 0))
        return r, p

    def counts(self, group: str, k: int) -> Counts:
        r, p = self.pair(group, k)
        return Counts(r, self.account.get(group, 0), p)


def produce_report(session: Session, period: Period, unit: Unit, now: datetime | None = None) -> Report:
    """The report for `period` and `unit`, counted as of the end of the period."""
    moments = Moments.of(period)
    index = {at: k for k, at in enumerate(moments.all)}
    tallies: dict[int, _Tally] = defaultdict(_Tally.empty)
    for row in session.execute(aggregate_statement(period, unit)):
        tallies[row.commune_id].add(row.policy_group, row, len(index))
    communes = _communes(session, unit)
    provinces = sorted({c.province_id for c in communes}) if unit.kind == "country" else [unit.province_id]
    in_force = targets_.targets_in_force(session, provinces, period.last_day)
    limits = {p: targets_.thresholds(session, p) for p in provinces}
    judge = _Judge(index, moments, period)
    rows, total = [], _Tally.empty()
    for commune in communes:
        tally = tallies.get(commune.id) or _Tally.empty()
        total.merge(tally, len(index))
        rows.append(judge.row(commune.id, commune.code, commune.name, tally,
                              in_force.for_commune(commune.province_id, commune.id), limits[commune.province_id]))
    province_limits = limits[unit.province_id] if unit.province_id else targets_.thresholds(session, 0)
    unit_target = in_force.for_commune(unit.province_id, None) if unit.kind == "province" else (
        rows[0].target if unit.kind == "commune" and rows else None)
    total_row = judge.row(None, unit.code, unit.name, total, unit_target, province_limits)
    trend = tuple(TrendPoint(month, *total.pair("all", index[month_end(month)])) for month in moments.months)
    return Report(
        period=period.code, unit_kind=unit.kind, unit_id=unit.id or 0, unit_code=unit.code, unit_name=unit.name,
        province_id=unit.province_id or 0, province_name=unit.province_name, as_of=moments.end,
        produced_at=now or utcnow(), rows=tuple(rows), total=total_row, trend=trend,
        thresholds=province_limits)


class _Judge:
    """Turns a tally into a row: shares, the target met or not, bands, change and projection."""

    def __init__(self, index: dict[datetime, int], moments: Moments, period: Period):
        self.end, self.previous = index[moments.end], index[moments.previous]
        self.pace_from = index[moments.pace_from]
        self.last_month = period.last_month

    def row(self, commune_id: int | None, code: str, name: str, tally: _Tally, target: Target | None,
            limits: tuple[int, int]) -> Row:
        group = target.group if target else "all"
        receiving, paid = tally.pair(group, self.end)
        now_share, before = share(paid, receiving), share(*self._swap(tally.pair(group, self.previous)))
        met = None if target is None or not receiving else paid * 1000 >= target.share_per_mille * receiving
        return Row(
            commune_id=commune_id, code=code, name=name,
            btxh=tally.counts("btxh", self.end), ncc=tally.counts("ncc", self.end),
            paid_in_cash=tally.cash, suspended=tally.suspended, target=target, met=met,
            bands={g: targets_.band(*self._swap(tally.pair(g, self.end)), limits) for g in GROUPS},
            change=None if now_share is None or before is None else now_share - before,
            previous_share=before, projected=self._projection(tally, group, target, met))

    @staticmethod
    def _swap(pair: tuple[int, int]) -> tuple[int, int]:
        receiving, paid = pair
        return paid, receiving

    def _projection(self, tally: _Tally, group: str, target: Target | None, met: bool | None) -> str:
        """The month the share reaches the target at the pace of the last three months."""
        if target is None:
            return NO_TARGET
        if met:
            return ALREADY_MET
        receiving, paid = tally.pair(group, self.end)
        if not receiving:
            return NOT_AT_THIS_PACE
        earlier_receiving, earlier_paid = tally.pair(group, self.pace_from)
        now = Fraction(paid * 100, receiving)
        earlier = Fraction(earlier_paid * 100, earlier_receiving) if earlier_receiving else Fraction(0)
        pace = (now - earlier) / PACE_MONTHS
        if pace <= 0:
            return NOT_AT_THIS_PACE
        months = math.ceil((Fraction(target.share_per_mille, 10) - now) / pace)
        if months > 1200:        # a century away: never, for anyone reading the report
            return NOT_AT_THIS_PACE
        month = add_months(self.last_month, months)
        return f"{month.year}-{month.month:02d}"


def _communes(session: Session, unit: Unit) -> list[Commune]:
    statement = select(Commune)
    if unit.kind == "commune":
        statement = statement.where(Commune.id == unit.id)
    elif unit.kind == "province":
        statement = statement.where(Commune.province_id == unit.id).order_by(Commune.code)
    else:
        statement = statement.join(Province).order_by(Province.code, Commune.code)
    return list(session.scalars(statement))
