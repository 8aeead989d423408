"""Job runs in the database: one row per (job, slot), claimed by inserting it, so the unique
index decides which scheduler runs a slot; and the runs administrators ask for, which the active
scheduler claims by a conditional UPDATE.

Claims are short transactions of their own on the engine, committed before the job begins, so
every scheduler sees them at once; how a run ended is flushed in the job's own session and
committed with its work.
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cases import audit
from cases.audit import Actor
from cases.changes import utcnow
from cases.models.scheduling import JobRun, RunOutcome
from extensions import write_intent

_runs = JobRun.__table__
_ERROR_LENGTH = _runs.c.error.type.length


def manual_slot(moment: datetime) -> str:
    return f"manual:{moment:%Y-%m-%dT%H:%M:%S.%f}"


def claim_slot(engine: Engine, job: str, slot: str, holder: str, now: datetime | None = None) -> int | None:
    """Insert the run of `job` for `slot` as running; its id, or None when the slot was taken
    already (by this scheduler or another: the unique index decides)."""
    now = now or utcnow()
    try:
        with write_intent(), engine.begin() as conn:
            result = conn.execute(insert(_runs).values(job=job, slot=slot, outcome=RunOutcome.RUNNING.value,
                                                       requested_at=now, started_at=now, holder=holder))
    except IntegrityError:
        return None
    return result.inserted_primary_key[0]


def claim_request(engine: Engine, run_id: int, holder: str, now: datetime | None = None) -> bool:
    """Begin a requested run; False when another scheduler began it first."""
    with write_intent(), engine.begin() as conn:
        return conn.execute(update(_runs).where(_runs.c.id == run_id, _runs.c.outcome == RunOutcome.REQUESTED.value)
                            .values(outcome=RunOutcome.RUNNING.value, started_at=now or utcnow(),
                                    holder=holder)).rowcount == 1


def abandon_runs_of_others(engine: Engine, holder: str, now: datetime | None = None) -> int:
    """Runs left `running` by a scheduler that has lost the lease (it died mid-run) are marked
    failed, so the page tells the truth. Their slot is not run again: the next slot does the
    work, as every job computes what is due from the state of the data."""
    with write_intent(), engine.begin() as conn:
        return conn.execute(update(_runs).where(_runs.c.outcome == RunOutcome.RUNNING.value, _runs.c.holder != holder)
                            .values(outcome=RunOutcome.FAILED.value, ended_at=now or utcnow(),
                                    error="interrupted: the scheduler running it stopped before it ended")).rowcount


def finish(session: Session, run_id: int, counts: dict | None, error: str | None = None,
           now: datetime | None = None) -> None:
    """Record how the run ended, flushed in `session`: the caller commits it with the job's work."""
    session.execute(
        update(JobRun).where(JobRun.id == run_id)
        .values(outcome=RunOutcome.FAILED if error else RunOutcome.OK, ended_at=now or utcnow(),
                counts=json.dumps(counts, sort_keys=True) if counts else None,
                error=error[:_ERROR_LENGTH] if error else None)
        .execution_options(synchronize_session=False))


def request_run(session: Session, actor: Actor, job: str, now: datetime | None = None) -> bool:
    """Ask the active scheduler to run `job` now (the web app never runs jobs); flushed, audited.
    False when a request for it is already waiting (a second click adds nothing)."""
    waiting = session.scalar(select(JobRun.id).where(JobRun.job == job, JobRun.outcome == RunOutcome.REQUESTED))
    if waiting is not None:
        return False
    now = now or utcnow()
    session.add(JobRun(job=job, slot=manual_slot(now), outcome=RunOutcome.REQUESTED, requested_at=now,
                       requested_by=actor.username))
    session.flush()
    audit.record(session, actor, "job.run_requested", detail={"job": job})
    return True


def prune_runs(session: Session, jobs: list[str], before: datetime) -> int:
    """Delete the finished runs of `jobs` that began before `before` (one set-based DELETE): the
    minutely checkpoint alone would add 1,440 rows a day."""
    return session.execute(delete(JobRun).where(
        JobRun.job.in_(jobs), JobRun.started_at < before,
        JobRun.outcome.in_([RunOutcome.OK, RunOutcome.FAILED])).execution_options(synchronize_session=False)).rowcount


def requested_runs(session: Session) -> list[tuple[int, str]]:
    """(id, job) of the runs asked for and not begun yet, oldest first."""
    return [tuple(row) for row in session.execute(
        select(JobRun.id, JobRun.job).where(JobRun.outcome == RunOutcome.REQUESTED).order_by(JobRun.id))]


def has_run(session: Session, job: str, slot: str) -> bool:
    return session.scalar(select(JobRun.id).where(JobRun.job == job, JobRun.slot == slot)) is not None


def recent_runs(session: Session, jobs: list[str], per_job: int = 10) -> list[JobRun]:
    """The last runs of each job, newest first (each job its own: a minutely job must not push a
    nightly one off the page)."""
    return [run for job in jobs for run in session.scalars(
        select(JobRun).where(JobRun.job == job).order_by(JobRun.id.desc()).limit(per_job))]


def last_run(session: Session, job: str) -> JobRun | None:
    return session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id.desc()).limit(1)).first()
