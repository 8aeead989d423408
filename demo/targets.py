"""Lạng Sơn's targets, from the Sở Y tế's letter 805/SYT-XH of 18/3/2026 (after the province's
Decision 155/QĐ-UBND): in each commune and ward, at least 60 % of the beneficiaries of a monthly
benefit paid through an account by the end of 2026, "tiến tới đạt mục tiêu 100 %". The letter gives
no date for 100 %; the demo takes the end of 2027.

One province-wide target for both policy groups applies to every commune (`cases.reports.targets`).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.models import Province, ReportTarget, TargetGroup
from cases.reports.target_admin import put_target
from demo.province import DEMO_ACTOR

LANG_SON_TARGETS = ((600, date(2026, 12, 31)), (1000, date(2027, 12, 31)))


def load_demo_targets(session: Session, province: Province) -> int:
    """Add the letter's targets the province lacks (an administrator's later change is kept);
    returns how many were added. Flushes, never commits."""
    have = set(session.scalars(select(ReportTarget.due_on).where(
        ReportTarget.province_id == province.id, ReportTarget.commune_id.is_(None),
        ReportTarget.policy_group == TargetGroup.ALL)))
    added = 0
    for share_per_mille, due_on in LANG_SON_TARGETS:
        if due_on not in have:
            put_target(session, DEMO_ACTOR, None, province.id, None, TargetGroup.ALL, share_per_mille, due_on)
            added += 1
    return added
