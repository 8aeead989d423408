"""The scheduler process: APScheduler's BlockingScheduler, in Asia/Ho_Chi_Minh, with every job
going through one wrapper (`Runner.fire`): is this process the lease holder? claim the slot;
run the job in an app context; commit its work and the run's record once.

Every process polls (`Runner.poll`): it takes or renews the lease, and the one that holds it
runs each daily job whose current slot has no run yet (the catch-up: at start, on taking over
from one that died, after a missed run time) and what administrators asked for. What a job finds
to do is computed from the data, so one run does whatever was missed.
"""
from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Callable

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from cases.changes import utcnow
from cases.models.scheduling import RunOutcome
from config.safe_logging import mask_numbers
from extensions import db, write_intent
from scheduler.jobs import ZONE, Job, JobFailed, jobs_for
from scheduler.lease import Lease, new_holder_id
from scheduler.runs import (abandon_runs_of_others, claim_request, claim_slot, finish, has_run, manual_slot,
                            requested_runs)

log = logging.getLogger("ansinh.scheduler")

Submit = Callable[..., object]


def _inline(fn, *args):
    return fn(*args)


class Runner:
    """What one scheduler process does, apart from the timing (tests call it directly, with an
    injected clock)."""

    def __init__(self, app: Flask, holder: str | None = None, clock: Callable[[], datetime] = utcnow,
                 lease_seconds: float | None = None):
        self.app, self.clock = app, clock
        self.holder = holder or new_holder_id()
        with app.app_context():
            self.engine = db.engine
        self.lease = Lease(self.engine, self.holder, lease_seconds or app.config["SCHEDULER_LEASE_SECONDS"], clock)
        self.jobs: dict[str, Job] = {job.id: job for job in jobs_for(app)}
        self.active = False
        self._working_lists = threading.Lock()

    def poll(self, submit: Submit = _inline) -> None:
        """Take or renew the lease; as the holder, run the slots that have no run yet and the
        runs administrators asked for. `submit(fn, *args)` hands a run to the executor."""
        was_active, self.active = self.active, self._take_lease()
        if self.active and not was_active:
            log.info("scheduler %s is the active one until %s UTC", self.holder, self.lease.held_until)
            abandoned = abandon_runs_of_others(self.engine, self.holder, self.clock())
            if abandoned:
                log.warning("%d run(s) of a scheduler that stopped marked as interrupted", abandoned)
        elif was_active and not self.active:
            log.warning("scheduler %s lost the lease; standing by", self.holder)
        if self.active:
            # Every poll, not only at start: a run time missed beyond the misfire grace (a host
            # that slept) is caught up too. The unique slot keeps it from running twice.
            for job in self.due_for_catch_up():
                log.info("catching up %s: its current slot has no run", job.id)
                submit(self.fire, job.id)
            for run_id, job_id in self._requested():
                if job_id in self.jobs and claim_request(self.engine, run_id, self.holder, self.clock()):
                    submit(self.execute, job_id, run_id)

    def _take_lease(self) -> bool:
        try:
            return self.lease.acquire()
        except SQLAlchemyError:
            log.warning("scheduler %s could not reach the database to renew its lease", self.holder, exc_info=True)
            self.lease.held_until = None
            return False

    def due_for_catch_up(self) -> list[Job]:
        """The jobs whose current slot (by the calendar) has no run yet."""
        now = self.clock()
        with self.app.app_context():
            return [job for job in self.jobs.values() if job.catch_up and not has_run(db.session, job.id, job.slot_of(now))]

    def fire(self, job_id: str) -> RunOutcome | None:
        """A run time of `job_id` has come: run its slot if this process holds the lease and no
        scheduler has run the slot yet. The outcome, or None when it did not run."""
        if not self._take_lease():
            self.active = False
            return None
        now = self.clock()
        slot = self.jobs[job_id].slot_of(now)
        run_id = claim_slot(self.engine, job_id, slot, self.holder, now)
        if run_id is None:
            log.info("%s %s was run already; skipped", job_id, slot)
            return None
        return self.execute(job_id, run_id)

    def run_now(self, job_id: str, slot: str | None = None) -> RunOutcome | None:
        """Run `job_id` at once, whoever holds the lease (`flask scheduler run-once`), recorded
        under `slot` (default: a manual slot of its own); None when the slot has a run already."""
        now = self.clock()
        run_id = claim_slot(self.engine, job_id, slot or manual_slot(now), self.holder, now)
        return None if run_id is None else self.execute(job_id, run_id)

    def execute(self, job_id: str, run_id: int) -> RunOutcome:
        """Run the job in an app context of its own and commit its work with the run's record;
        a failure is recorded, logged and never escapes (the scheduler goes on)."""
        job = self.jobs[job_id]
        with self.app.app_context(), write_intent():
            try:
                counts = job.run(self.app)
            except JobFailed as failed:     # the work is done and what it found is kept
                finish(db.session, run_id, failed.counts, str(failed), self.clock())
                outcome = RunOutcome.FAILED
            except Exception as error:  # noqa: BLE001 - one job's failure must not stop the scheduler
                db.session.rollback()
                log.exception("job %s (run %d) failed", job_id, run_id)
                finish(db.session, run_id, None, describe(error), self.clock())
                outcome = RunOutcome.FAILED
            else:
                finish(db.session, run_id, counts, None, self.clock())
                outcome = RunOutcome.OK
            db.session.commit()
        log.info("job %s (run %d): %s", job_id, run_id, outcome.value)
        return outcome

    def work_lists(self) -> int:
        """As the lease holder: put back in their queue the list jobs of a worker that stopped,
        then preview or import the queued ones, one after another (cases.lists.jobs); the number
        worked. One at a time: a call while another works returns at once."""
        if not self.lease.holds() or not self._working_lists.acquire(blocking=False):
            return 0
        from cases.lists import jobs as list_jobs
        try:
            with self.app.app_context(), write_intent():
                stale_after = timedelta(seconds=self.app.config.get("LIST_STALE_SECONDS", 300))
                list_jobs.requeue_stale(db.session, self.clock(), stale_after)
                db.session.commit()
            return list_jobs.work_queued(self.app, self.holder, stop=lambda: not self.lease.holds())
        except SQLAlchemyError:
            log.warning("scheduler %s could not work the list jobs", self.holder, exc_info=True)
            return 0
        finally:
            self._working_lists.release()

    def _requested(self) -> list[tuple[int, str]]:
        with self.app.app_context():
            return requested_runs(db.session)


def describe(error: Exception) -> str:
    """An English line for the run's record: the error's kind and first line, numbers masked
    (a database error may quote the values it refused; SQL parameters are left out)."""
    cause = error.orig if isinstance(error, SQLAlchemyError) and getattr(error, "orig", None) else error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return mask_numbers(f"{type(cause).__name__}: {first_line}".split(" [SQL:")[0])


def run(app: Flask) -> None:
    """Run the scheduler until SIGINT or SIGTERM; release the lease on the way out."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    logging.getLogger("apscheduler").setLevel(logging.WARNING)     # lines per poll otherwise; ours say what matters
    runner = Runner(app)
    scheduler = BlockingScheduler(timezone=ZONE, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": app.config["SCHEDULER_MISFIRE_GRACE_SECONDS"]})

    # Runs handed over by a poll go to a pool of their own, not back through `add_job`: a poll
    # calling `add_job` while a SIGTERM's `shutdown` held the scheduler's lock and waited for that
    # very poll hung the process for good.
    runs = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scheduler-run")

    def submit(fn, *args):
        runs.submit(fn, *args)                      # now, in threads of their own: polls keep renewing the lease

    for job in runner.jobs.values():
        scheduler.add_job(runner.fire, job.trigger(), args=[job.id], id=job.id, name=job.id)
    scheduler.add_job(runner.poll, IntervalTrigger(seconds=app.config["SCHEDULER_POLL_SECONDS"], timezone=ZONE),
                      args=[submit], id="_poll", name="lease and requests", next_run_time=datetime.now(ZONE))
    # Two instances allowed, so a tick during a long import returns at once (work_lists) instead
    # of APScheduler logging a skipped run every few seconds.
    scheduler.add_job(runner.work_lists, IntervalTrigger(seconds=app.config.get("LIST_POLL_SECONDS", 2), timezone=ZONE),
                      id="_lists", name="list jobs", max_instances=2)
    signal.signal(signal.SIGTERM, _exit)
    log.info("scheduler %s starting with jobs %s", runner.holder, ", ".join(runner.jobs))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        runs.shutdown(wait=True)
        runner.lease.release()
        log.info("scheduler %s stopped; lease released", runner.holder)


def _exit(_signum, _frame):
    raise SystemExit(0)
