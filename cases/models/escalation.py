"""An escalation: a case (or a pending proposal) that sat past its deadline, once per tier and stay."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.types import enum_column
from extensions import db
from workflow.states import CaseState

# Proposal rows carry their case too (for the digest and the case page); the two kinds are told
# apart by proposal_id, and each has its own uniqueness.
_CASE_ROWS = text("proposal_id IS NULL")
_PROPOSAL_ROWS = text("proposal_id IS NOT NULL")


class Escalation(db.Model):
    """Tier 1: the commune's officers; 2: the commune's supervisors; 3: the province's."""

    __tablename__ = "escalations"
    __table_args__ = (
        # Once per case, tier and stay in a state: a case that moves on starts a new stay.
        Index("uq_escalations_case_tier_stay", "case_id", "tier", "stay_started_at", unique=True,
              sqlite_where=_CASE_ROWS, postgresql_where=_CASE_ROWS),
        Index("uq_escalations_proposal_tier", "proposal_id", "tier", unique=True,
              sqlite_where=_PROPOSAL_ROWS, postgresql_where=_PROPOSAL_ROWS),
        # The digests of a run.
        Index("ix_escalations_escalated_on", "escalated_on", "tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys (migration 0009): each row is copied from the case or proposal it names by
    # the sweep's INSERT ... SELECT, and cases are never deleted; checking them per row cost
    # PostgreSQL three quarters of a first sweep over a million cases.
    case_id: Mapped[int | None]
    proposal_id: Mapped[int | None]
    tier: Mapped[int]
    state: Mapped[CaseState | None] = mapped_column(enum_column(CaseState, "case_state"))
    stay_started_at: Mapped[datetime]     # UTC: the case's state_entered_at, a proposal's proposed_at
    commune_id: Mapped[int]               # the case's, copied: who hears of it
    province_id: Mapped[int]
    escalated_on: Mapped[date]            # the run's local date
    escalated_at: Mapped[datetime]        # UTC
