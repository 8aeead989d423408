"""The national benchmark: synthetic cases over all 3,321 communes (or one province's).

Commune caseloads differ thirtyfold in the real lists, from about 50 in a city ward to 1,500 in
a large merged rural commune; sizes are drawn log-uniformly in that range and scaled to the
count asked for, so a few communes carry long queues, as they will in production.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.changes import local_today
from cases.models import Case, Commune, Province
from cases.models.organisation import CODE_LIST_2025
from demo.places import ensure_province_providers, ensure_village_sets, province_codes
from demo.synthetic import GenerationReport, generate

HUGE = 5_000_000
SMALLEST_COMMUNE, LARGEST_COMMUNE = 50, 1500


@dataclass(frozen=True)
class BenchOutcome:
    existing: int                        # cases in the database before
    report: GenerationReport | None      # None: there were enough already


def commune_weights(seed: int, count: int) -> list[float]:
    """Relative caseloads, log-uniform between the smallest and the largest commune."""
    rng = Random(f"{seed}:commune-sizes")
    low, high = math.log(SMALLEST_COMMUNE), math.log(LARGEST_COMMUNE)
    return [math.exp(rng.uniform(low, high)) for _ in range(count)]


def bench_communes(session: Session, province_code: str | None = None) -> list[Commune]:
    """All communes in the 2025 list, or those of one province, in code order.

    :raise ValueError: no such province, or no communes loaded (run `flask org load`).
    """
    statement = select(Commune).where(Commune.code_list == CODE_LIST_2025).order_by(Commune.code)
    if province_code:
        statement = statement.join(Province).where(Province.code == province_code)
    communes = list(session.scalars(statement))
    if not communes:
        raise ValueError(f"no communes for province {province_code}" if province_code
                         else "no communes: run `flask org load` first")
    return communes


def fill(session: Session, case_count: int, *, province_code: str | None = None, seed: int = 1) -> BenchOutcome:
    """Bring the database to `case_count` cases; reuse the cases, users, villages and providers
    already there. Flushes, never commits.
    """
    existing = session.scalar(select(func.count()).select_from(Case))
    if existing >= case_count:
        return BenchOutcome(existing, None)
    communes = bench_communes(session, province_code)
    provinces = session.scalars(select(Province).where(Province.id.in_({c.province_id for c in communes})))
    for province in provinces:
        ensure_province_providers(session, province)
    ensure_village_sets(session, communes, province_codes(session, {c.province_id for c in communes}), seed)
    report = generate(session, communes, case_count - existing, seed=seed, today=local_today(),
                      weights=commune_weights(seed, len(communes)), system_name="bench")
    return BenchOutcome(existing, report)
