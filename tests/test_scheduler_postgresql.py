"""The scheduler on PostgreSQL with real concurrency: two `flask scheduler run` processes on one
database (one acts, the standby takes over within a bounded time when the active one is
killed), and claims raced from threads with connections of their own."""
from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cases.audit import Actor
from cases.models.scheduling import RunOutcome
from extensions import db
from scheduler.lease import Lease
from scheduler.process import Runner
from scheduler.runs import request_run
from tests.test_scheduler import AUDIT, Clock, lease_holder, runs, start_scheduler, stop, wait_for

pytestmark = pytest.mark.postgresql

LEASE, POLL = 2.0, 0.3


def pid_of(holder: str | None) -> int | None:
    return int(holder.split(":")[1]) if holder else None


def test_two_schedulers_run_each_slot_once_and_the_standby_takes_over_when_the_active_one_is_killed(app, tmp_path):
    standby_log = tmp_path / "b.log"
    with (tmp_path / "a.log").open("wb") as a_log, standby_log.open("wb") as b_log:
        active, standby = take_over(app, a_log, b_log, standby_log)
    daily = [r for r in runs(AUDIT) if not r.slot.startswith("manual:")]
    assert len(daily) == 1 and pid_of(daily[0].holder) == active.pid      # the taking over caught up nothing
    (manual,) = [r for r in runs(AUDIT) if r.slot.startswith("manual:")]
    assert pid_of(manual.holder) == standby.pid


def take_over(app, a_log, b_log, standby_log):
    """Start one scheduler, then a standby; kill the first; the standby takes over and acts."""
    active = start_scheduler(app, LEASE, POLL, log=a_log)
    standby = None
    try:
        wait_for(lambda: runs(AUDIT) and runs(AUDIT)[0].outcome is RunOutcome.OK)
        assert pid_of(lease_holder()) == active.pid
        standby = start_scheduler(app, LEASE, POLL, log=b_log)
        wait_for(lambda: "starting with jobs" in standby_log.read_text())
        time.sleep(3 * POLL)                          # a few of the standby's polls
        assert pid_of(lease_holder()) == active.pid   # it stands by

        active.send_signal(signal.SIGKILL)            # no clean shutdown: the lease is left to expire
        killed = time.monotonic()
        wait_for(lambda: pid_of(lease_holder()) == standby.pid, seconds=LEASE + 10 * POLL + 5)
        assert time.monotonic() - killed <= LEASE + 10 * POLL + 5

        request_run(db.session, Actor(None, "quantri", "admin", None), AUDIT)  # the new active one acts on requests
        db.session.commit()
        wait_for(lambda: [r for r in runs(AUDIT) if r.slot.startswith("manual:") and r.outcome is RunOutcome.OK])
    finally:
        stop(active, signal.SIGKILL)
        if standby is not None:
            stop(standby)
    assert standby.returncode == 0, standby_log.read_text()
    return active, standby


def test_schedulers_racing_for_the_lease_give_it_to_one(app):
    clock = Clock("2026-12-01T10:00:00")
    leases = [Lease(db.engine, f"host:{n}:x", 30, clock) for n in range(8)]
    start = threading.Barrier(len(leases))

    def take(lease):
        start.wait()
        return lease.acquire()
    with ThreadPoolExecutor(len(leases)) as pool:
        won = list(pool.map(take, leases))
    assert won.count(True) == 1


def test_schedulers_racing_for_a_slot_run_it_once(app):
    clock = Clock("2026-12-01T02:00:00")
    runners = [Runner(app, f"host:{n}:x", clock) for n in range(4)]
    start = threading.Barrier(len(runners))

    def run(runner):
        start.wait()
        return runner.run_now(AUDIT, "2026-12-01")
    with ThreadPoolExecutor(len(runners)) as pool:
        outcomes = list(pool.map(run, runners))
    assert outcomes.count(RunOutcome.OK) == 1 and outcomes.count(None) == 3
    assert [r.slot for r in runs(AUDIT)] == ["2026-12-01"]
