"""A transition that waits for a second pair of eyes (four-eyes approval)."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.case import Case
from cases.models.types import enum_column
from cases.models.users import User
from extensions import db


class ProposalStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"          # approved and in effect
    REJECTED = "rejected"
    # Approved for a month not yet begun: waits for the scheduler on `takes_effect_on`, then
    # becomes APPROVED, or NOT_APPLIED when the case changed meanwhile (flagged to supervisors).
    SCHEDULED = "scheduled"
    NOT_APPLIED = "not_applied"
    # Taken back by its proposer while it was still pending; the case never moved.
    WITHDRAWN = "withdrawn"


# A case takes one open proposal at most: one waiting for a decision, or one waiting for its month.
OPEN = "status IN ('pending', 'scheduled')"
PENDING_ONLY = "status = 'pending'"


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        # A case takes one open proposal at most (pending, or approved and waiting for its month).
        Index("uq_proposals_open_case", "case_id", unique=True, sqlite_where=text(OPEN), postgresql_where=text(OPEN)),
        Index("ix_proposals_status_commune", "status", "commune_id", "proposed_at"),
        # A case's pending proposal, and the pending marks of a queue page (case_id IN (...)):
        # with status in the key, SQLite's planner stops preferring the status index above.
        Index("ix_proposals_case_status", "case_id", "status", "proposed_at"),
        # The approvals inbox (cases.inbox): what waits in each commune, of each kind, oldest first.
        # Partial, so it holds the few proposals waiting, not the decided hundreds of thousands
        # (migration 0013).
        Index("ix_proposals_pending_commune", "commune_id", "trigger", "proposed_at", "id",
              sqlite_where=text(PENDING_ONLY), postgresql_where=text(PENDING_ONLY)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))  # for the supervisors' list
    trigger: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)      # the form's data, as submitted
    reason: Mapped[str | None] = mapped_column(String(500))
    case_version: Mapped[int]                        # the case as the proposer saw it
    status: Mapped[ProposalStatus] = mapped_column(enum_column(ProposalStatus, "proposal_status"))
    # None for a proposal the system raised (the payment watcher's three unpaid months):
    # `raised_by` then names the job, and nobody may withdraw it; any supervisor may decide it.
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    raised_by: Mapped[str | None] = mapped_column(String(40))
    proposed_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    # A decision for a later month: the day it takes effect, when the scheduler settled it (applied
    # or not), and, when not applied, why (Vietnamese, shown to supervisors).
    takes_effect_on: Mapped[date | None]
    settled_at: Mapped[datetime | None]
    not_applied_reason: Mapped[str | None] = mapped_column(String(500))

    # Read-only, as on the case: services set the ids, and the unit of work need not weigh these.
    case: Mapped[Case] = relationship(viewonly=True)
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id], viewonly=True)
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], viewonly=True)

    @property
    def proposer_name(self) -> str:
        """Who proposed it, for the audit trail: a username, or `system:<job>` for the system."""
        return self.proposed_by.username if self.proposed_by is not None else f"system:{self.raised_by}"

    @property
    def awaits_decision_number(self) -> bool:
        """A status decision proposed without its decision number (the system's proposals: the
        number exists only once the commune's chairman decides): the approver supplies it."""
        return self.trigger in DECIDED_BY_NUMBER and not (self.payload or {}).get("decision_number")


# The transitions that record the number of the decision behind them (suspend, resume, terminate).
DECIDED_BY_NUMBER = frozenset({"suspend", "resume", "terminate"})
