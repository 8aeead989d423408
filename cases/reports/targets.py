"""The targets and bands in force for a report (what an administrator set: `ReportTarget`,
`ReportBands`).

A province sets a series of targets (60 % by 31/12/2026, then 100 % by 31/12/2027); one in force
at a date is the earliest whose due date has not passed, or, when all have, the last. A commune's
own target not yet due comes before its province's (a milestone set for one commune). A row is judged by one target: its
target for both groups together when there is one, else for BTXH, else for NCC.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import ReportBands, ReportTarget
from cases.models.reports import DEFAULT_AVERAGE_FROM, DEFAULT_HIGH_FROM
from cases.reports.figures import Band, Target

_JUDGED_BY = ("all", "btxh", "ncc")      # which target judges a row, in order of preference


class TargetsInForce:
    """The targets of some provinces, read once, and which is in force on one date."""

    def __init__(self, series: dict[tuple[int, int | None, str], list[ReportTarget]], on: date):
        self._series, self._on = series, on

    def for_commune(self, province_id: int, commune_id: int | None) -> Target | None:
        """The target judging `commune_id` (None: the province as a whole) on the date: its own
        target not yet due, else its province's not yet due (a commune's milestone passed, the
        province's target takes over), else the last of its own, else the last of its province's."""
        for group in _JUDGED_BY:
            own = self._series.get((province_id, commune_id, group), []) if commune_id is not None else []
            province = self._series.get((province_id, None, group), [])
            for targets in (own, province):
                current = next((t for t in targets if t.due_on >= self._on), None)
                if current is not None:
                    return _target(current)
            if own or province:
                return _target((own or province)[-1])
        return None


def _target(row: ReportTarget) -> Target:
    return Target(row.policy_group.value, row.share_per_mille, row.due_on, row.commune_id is not None)


def targets_in_force(session: Session, province_ids: Iterable[int], on: date) -> TargetsInForce:
    """The targets in force on `on` for the provinces and their communes."""
    series: dict[tuple[int, int | None, str], list[ReportTarget]] = defaultdict(list)
    rows = session.scalars(select(ReportTarget).where(ReportTarget.province_id.in_(list(province_ids)))
                           .order_by(ReportTarget.due_on))
    for target in rows:
        series[(target.province_id, target.commune_id, target.policy_group.value)].append(target)
    return TargetsInForce(dict(series), on)


def thresholds(session: Session, province_id: int) -> tuple[int, int]:
    """(high from, average from) in per mille for the province: what its administrator set, or the
    defaults."""
    bands = session.get(ReportBands, province_id)
    if bands is None:
        return DEFAULT_HIGH_FROM, DEFAULT_AVERAGE_FROM
    return bands.high_from_per_mille, bands.average_from_per_mille


def band(paid_by_account: int, receiving: int, limits: tuple[int, int]) -> Band | None:
    """The band of a share (None: nobody receiving). Compared unrounded, in integers."""
    if not receiving:
        return None
    if not paid_by_account:
        return Band.NOT_STARTED
    high_from, average_from = limits
    if paid_by_account * 1000 >= high_from * receiving:
        return Band.HIGH
    if paid_by_account * 1000 >= average_from * receiving:
        return Band.AVERAGE
    return Band.LOW
