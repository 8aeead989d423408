"""Producing a report: the counts as of the month ends it needs, then the arithmetic of the letters.

A report needs the end of the period, the end of the previous period (the change), and the ends of
the twelve months up to the period's end (the trend; the one three months back gives the pace of
the projection): all month ends, read from the recorded months, or counted from the stays for a
month not recorded yet (`cases.reports.month_counts`).
"""
from __future__ import annotations

import math
import operator
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.errors import DomainError
from cases.models import Commune, Province
from cases.reports import targets as targets_
from cases.reports.figures import (ALREADY_MET, GROUPS, NO_TARGET, NOBODY_RECEIVING, NOT_AT_THIS_PACE, Counts, Report, Row, Target,
                                   TrendPoint, share)
from cases.reports.month_counts import Scope, as_of_statement, counts_at
from cases.reports.periods import Period, add_months
from cases.collector import collector_paused

COUNTRY_CODE = "VN"
TREND_MONTHS = 12
PACE_MONTHS = 3            # the projection's pace: the change over the last three months


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
class Months:
    """The month ends one report counts at (each month by its first day)."""
    end: date
    previous: date
    pace_from: date
    trend: tuple[date, ...]            # twelve months, the period's last month last

    @classmethod
    def of(cls, period: Period) -> Months:
        last = period.last_month
        return cls(last, period.previous().last_month, add_months(last, -PACE_MONTHS),
                   tuple(add_months(last, -n) for n in range(TREND_MONTHS - 1, -1, -1)))

    @property
    def all(self) -> list[date]:
        return sorted({*self.judged, *self.trend})

    @property
    def judged(self) -> set[date]:
        """The months a row is judged at (its share, change and pace); the trend's others are only
        the unit's, so a commune's tally keeps only these."""
        return {self.end, self.previous, self.pace_from}


def scope_of(unit: Unit) -> Scope:
    if unit.kind == "commune":
        return Scope(unit.province_id, unit.id)
    return Scope(unit.province_id if unit.kind == "province" else None)


def aggregate_statement(period: Period, unit: Unit) -> Select:
    """The bare as-of query at the period's end, over the stays (what a report would cost with no
    month recorded; the benchmark sets the report's time beside it)."""
    return as_of_statement(period.as_of, scope_of(unit))


_ZERO = (0, 0, 0, 0, 0)


class _Tally:
    """One commune's (or the unit's) counts: (group, month) → (receiving, with account, paid by
    account, paid in cash, suspended), "all" the two groups together."""

    def __init__(self):
        self.at: dict[tuple[str, date], tuple[int, ...]] = {}

    def add(self, group: str, month: date, numbers) -> None:
        """Adds to `group` and to both groups together (summed once here, rather than at each of
        the dozen readings of a row)."""
        numbers = tuple(numbers)
        for key in ((group, month), ("all", month)):
            before = self.at.get(key)
            self.at[key] = numbers if before is None else tuple(map(operator.add, before, numbers))

    def numbers(self, group: str, month: date) -> tuple[int, ...]:
        return self.at.get((group, month), _ZERO)

    def pair(self, group: str, month: date) -> tuple[int, int]:
        """(receiving, paid through an account) of `group` ("all": both)."""
        numbers = self.numbers(group, month)
        return numbers[0], numbers[2]

    def counts(self, group: str, month: date) -> Counts:
        receiving, with_account, paid, _cash, _suspended = self.numbers(group, month)
        return Counts(receiving, with_account, paid)


def produce_report(session: Session, period: Period, unit: Unit, now: datetime | None = None) -> Report:
    """The report for `period` and `unit`, counted as of the end of the period.

    The collector is paused throughout (cases.collector): a country's report reads some
    80,000 counted rows and makes thousands of tallies and rows, none of them cyclic, which would
    otherwise set off full collections of the whole heap.
    """
    with collector_paused():
        months = Months.of(period)
        tallies: dict[int, _Tally] = defaultdict(_Tally)
        total = _Tally()
        judged = months.judged
        for month, rows in counts_at(session, months.all, scope_of(unit)).items():
            if month in judged:
                for commune_id, group, _province_id, *numbers in rows:
                    tallies[commune_id].add(group, month, numbers)
            for group in {row[1] for row in rows}:       # the unit's: each column of a month's rows summed at once
                _commune_ids, _groups, _province_ids, *numbers = zip(*(row for row in rows if row[1] == group))
                total.add(group, month, map(sum, numbers))
        communes = _communes(session, unit)
        provinces = sorted({c.province_id for c in communes}) if unit.kind == "country" else [unit.province_id]
        in_force = targets_.targets_in_force(session, provinces, period.last_day)
        limits = {p: targets_.thresholds(session, p) for p in provinces}
        judge = _Judge(months)
        empty = _Tally()
        rows = [judge.row(commune.id, commune.code, commune.name, tallies.get(commune.id, empty),
                          in_force.for_commune(commune.province_id, commune.id), limits[commune.province_id])
                for commune in communes]
        province_limits = limits[unit.province_id] if unit.province_id else targets_.thresholds(session, 0)
        unit_target = in_force.for_commune(unit.province_id, None) if unit.kind == "province" else (
            rows[0].target if unit.kind == "commune" and rows else None)
        total_row = judge.row(None, unit.code, unit.name, total, unit_target, province_limits)
        trend = tuple(TrendPoint(month, *total.pair("all", month)) for month in months.trend)
        return Report(
            period=period.code, unit_kind=unit.kind, unit_id=unit.id or 0, unit_code=unit.code, unit_name=unit.name,
            province_id=unit.province_id or 0, province_name=unit.province_name, as_of=period.as_of,
            produced_at=now or utcnow(), rows=tuple(rows), total=total_row, trend=trend,
            thresholds=province_limits)


class _Judge:
    """Turns a tally into a row: shares, the target met or not, bands, change and projection."""

    def __init__(self, months: Months):
        self.end, self.previous, self.pace_from = months.end, months.previous, months.pace_from

    def row(self, commune_id: int | None, code: str, name: str, tally: _Tally, target: Target | None,
            limits: tuple[int, int]) -> Row:
        group = target.group if target else "all"
        receiving, paid = tally.pair(group, self.end)
        now_share, before = share(paid, receiving), share(*self._swap(tally.pair(group, self.previous)))
        met = None if target is None or not receiving else paid * 1000 >= target.share_per_mille * receiving
        _receiving, _account, _paid, cash, suspended = tally.numbers("all", self.end)
        return Row(
            commune_id=commune_id, code=code, name=name,
            btxh=tally.counts("btxh", self.end), ncc=tally.counts("ncc", self.end),
            paid_in_cash=cash, suspended=suspended, target=target, met=met,
            bands={g: targets_.band(*self._swap(tally.pair(g, self.end)), limits) for g in GROUPS},
            change=None if now_share is None or before is None else now_share - before,
            previous_share=before, projected=self._projection(tally, group, target, met))

    @staticmethod
    def _swap(pair: tuple[int, int]) -> tuple[int, int]:
        receiving, paid = pair
        return paid, receiving

    def _projection(self, tally: _Tally, group: str, target: Target | None, met: bool | None) -> str:
        """The month the share reaches the target at the pace of the last three months."""
        if not tally.pair(group, self.end)[0]:
            return NOBODY_RECEIVING
        if target is None:
            return NO_TARGET
        if met:
            return ALREADY_MET
        receiving, paid = tally.pair(group, self.end)
        earlier_receiving, earlier_paid = tally.pair(group, self.pace_from)
        now = Fraction(paid * 100, receiving)
        earlier = Fraction(earlier_paid * 100, earlier_receiving) if earlier_receiving else Fraction(0)
        pace = (now - earlier) / PACE_MONTHS
        if pace <= 0:
            return NOT_AT_THIS_PACE
        months = math.ceil((Fraction(target.share_per_mille, 10) - now) / pace)
        if months > 1200:        # a century away: never, for anyone reading the report
            return NOT_AT_THIS_PACE
        month = add_months(self.end, months)
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
