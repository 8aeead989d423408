"""What the scheduler keeps in the database: the lease that lets one scheduler act at a time, and
one row per job run, unique per (job, slot) so no slot runs twice."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.types import enum_column
from extensions import db


class SchedulerLease(db.Model):
    """Who may act as the scheduler (`holder`, host:pid:random) until when (UTC). A holder keeps
    it by renewing it before `expires_at`; anyone may take it once it has expired."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]


class RunOutcome(str, enum.Enum):
    REQUESTED = "requested"     # asked for from the administrators' page; the scheduler has not begun it
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"


class JobRun(db.Model):
    """One run of a scheduled job for one slot (a daily job: the local date; the checkpoint: the
    minute; a run asked for by hand: `manual:<UTC time>`). The unique (job, slot) decides which of
    two schedulers runs a slot. `error` is English and carries no personal data."""

    __tablename__ = "job_runs"
    # The poll looks for requested runs every few seconds: an index, not a scan of a year of runs.
    __table_args__ = (UniqueConstraint("job", "slot", name="uq_job_runs_job_slot"),
                      Index("ix_job_runs_outcome", "outcome"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    slot: Mapped[str] = mapped_column(String(60))
    outcome: Mapped[RunOutcome] = mapped_column(enum_column(RunOutcome, "run_outcome"))
    requested_at: Mapped[datetime]                      # UTC: when claimed, or asked for by hand
    requested_by: Mapped[str | None] = mapped_column(String(80))  # the administrator's username
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    holder: Mapped[str | None] = mapped_column(String(200))       # the scheduler that ran it
    counts: Mapped[str | None] = mapped_column(Text)               # JSON: what the run did
    error: Mapped[str | None] = mapped_column(String(500))
