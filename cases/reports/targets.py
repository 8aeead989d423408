"""The targets and bands in force for a report (what an administrator set: `ReportTarget`,
`ReportBands`).

A province sets a series of targets (60 % by 31/12/2026, then 100 % by 31/12/2027); one in force
at a date is the earliest whose due date has not passed, or, when all have, the last. A target set
for a commune replaces its province's for the same group. A row is judged by one target: its
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
    """The targets in force on one date for some provinces, by (province, commune or None, group)."""

    def __init__(self, chosen: dict[tuple[int, int | None, str], Target]):
        self._chosen = chosen

    def for_commune(self, province_id: int, commune_id: int | None) -> Target | None:
        """The target judging `commune_id` (None: the province as a whole)."""
        for group in _JUDGED_BY:
            found = (self._chosen.get((province_id, commune_id, group)) if commune_id is not None else None) \
                or self._chosen.get((province_id, None, group))
            if found is not None:
                return found
        return None


def targets_in_force(session: Session, province_ids: Iterable[int], on: date) -> TargetsInForce:
    """The targets in force on `on` for the provinces and their communes."""
    series: dict[tuple[int, int | None, str], list[ReportTarget]] = defaultdict(list)
    rows = session.scalars(select(ReportTarget).where(ReportTarget.province_id.in_(list(province_ids)))
                           .order_by(ReportTarget.due_on))
    for target in rows:
        series[(target.province_id, target.commune_id, target.policy_group.value)].append(target)
    chosen = {}
    for key, targets in series.items():
        current = next((t for t in targets if t.due_on >= on), targets[-1])
        chosen[key] = Target(key[2], current.share_per_mille, current.due_on, key[1] is not None)
    return TargetsInForce(chosen)


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
