"""The scheduler (issue 19): one active process by a lease row, each (job, slot) run once,
catch-up after a stop, every run recorded and shown to administrators, who may ask for one now.
Time is an injected clock; no test waits for it."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from cases.changes import to_local, utcnow
from cases.models import AuditCheck
from cases.models.scheduling import JobRun, RunOutcome, SchedulerLease
from cases.roles import Role
from extensions import db, write_intent
from scheduler.jobs import JOBS, Job
from scheduler.lease import Lease
from scheduler.process import Runner
from tests.conftest import LANG_SON, csrf_token
from tests.helpers import audit_records, text_of

AUDIT = "audit_verify_and_anchor"
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """UTC, naive, as the app keeps it; moved by the test."""

    def __init__(self, local: str):
        self.now = datetime.fromisoformat(local) - timedelta(hours=7)   # Asia/Ho_Chi_Minh is UTC+7

    @classmethod
    def at(cls, utc: datetime) -> Clock:
        return cls((utc + timedelta(hours=7)).isoformat())

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def runs(job: str | None = None) -> list[JobRun]:
    db.session.rollback()
    query = select(JobRun).order_by(JobRun.id)
    return list(db.session.scalars(query.where(JobRun.job == job) if job else query))


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


# --- the lease -------------------------------------------------------------------------------

def test_the_lease_is_taken_renewed_refused_to_others_and_taken_over_when_it_expires():
    clock = Clock("2026-12-01T10:00:00")
    first, second = (Lease(db.engine, holder, 30, clock) for holder in ("host-a:1:aa", "host-b:2:bb"))
    assert first.acquire() and first.holds()
    assert not second.acquire() and not second.holds()
    clock.advance(seconds=20)
    assert first.acquire()                          # renewed: valid until 10:00:50
    clock.advance(seconds=20)
    assert not second.acquire()                     # 10:00:40, still first's
    clock.advance(seconds=11)
    assert not first.holds()                        # first stopped renewing: expired at 10:00:50
    assert second.acquire() and second.holds()
    assert not first.acquire()
    lease = db.session.get(SchedulerLease, "scheduler")
    assert lease.holder == "host-b:2:bb" and lease.expires_at == clock() + timedelta(seconds=30)


def test_a_released_lease_is_taken_at_once():
    clock = Clock("2026-12-01T10:00:00")
    first, second = Lease(db.engine, "a", 30, clock), Lease(db.engine, "b", 30, clock)
    assert first.acquire()
    first.release()
    assert second.acquire()


# --- runs: once per slot ---------------------------------------------------------------------

def test_two_schedulers_run_a_slot_once(app):
    clock = Clock("2026-12-01T02:00:00")
    active, standby = Runner(app, "a", clock), Runner(app, "b", clock)
    assert active.fire(AUDIT) is RunOutcome.OK
    assert standby.fire(AUDIT) is None              # no lease
    assert active.fire(AUDIT) is None               # the slot ran already
    clock.advance(minutes=1)
    assert standby.fire(AUDIT) is None
    (run,) = runs(AUDIT)
    assert (run.slot, run.outcome, run.holder) == ("2026-12-01", RunOutcome.OK, "a")
    assert json.loads(run.counts)["checked"] == 0
    assert run.started_at == run.ended_at == datetime(2026, 11, 30, 19, 0)


def test_the_unique_slot_decides_even_between_two_holders(app):
    """Two schedulers that both believe they act (a lease that expired mid-run) still run a slot once."""
    clock = Clock("2026-12-01T02:00:00")
    assert Runner(app, "a", clock).run_now(AUDIT, "2026-12-01") is RunOutcome.OK
    assert Runner(app, "b", clock).run_now(AUDIT, "2026-12-01") is None
    assert len(runs(AUDIT)) == 1


@pytest.mark.parametrize("local, slot", [
    ("2026-12-01T02:00:00", "2026-12-01"), ("2026-12-01T23:59:00", "2026-12-01"),
    ("2026-12-02T01:59:59", "2026-12-01"), ("2026-12-01T00:30:00", "2026-11-30")])
def test_a_daily_slot_is_the_local_date_of_the_last_run_time(local, slot):
    assert JOBS[AUDIT].slot_of(Clock(local)()) == slot


def test_the_next_run_comes_from_the_trigger():
    assert JOBS[AUDIT].next_run(Clock("2026-12-01T02:00:00")()).strftime("%d/%m/%Y %H:%M") == "02/12/2026 02:00"
    assert JOBS["sqlite_checkpoint"].slot_of(Clock("2026-12-01T10:07:42")()) == "2026-12-01T10:07"


# --- catch-up ----------------------------------------------------------------------------------

def test_a_scheduler_stopped_across_run_times_catches_up_once(app):
    clock = Clock("2026-12-01T02:00:00")
    before = Runner(app, "a", clock)
    before.poll()                                   # starts: the day's slot has no run yet
    assert [r.slot for r in runs(AUDIT)] == ["2026-12-01"]
    before.lease.release()                          # stopped on 1 December ...
    clock.advance(days=2, hours=7)                  # ... and started again on 3 December at 09:00
    after = Runner(app, "b", clock)
    # every daily job: its slot of 3 December has no run (the minutely ones are never caught up)
    assert [job.id for job in after.due_for_catch_up()] == [
        job.id for job in JOBS.values() if job.slot_length == timedelta(days=1)]
    assert AUDIT in [job.id for job in after.due_for_catch_up()]
    after.poll()
    after.poll()
    Runner(app, "c", clock).poll()                  # a standby: does nothing
    assert [(r.slot, r.outcome) for r in runs(AUDIT)] == [("2026-12-01", RunOutcome.OK), ("2026-12-03", RunOutcome.OK)]
    assert db.session.scalar(select(func.count()).select_from(AuditCheck).where(AuditCheck.kind == "verify")) == 2


def test_a_run_time_missed_while_running_is_caught_up_at_the_next_poll(app):
    """The host slept through 02:00 past the misfire grace: APScheduler skips that run, the poll does not."""
    clock = Clock("2026-12-01T10:00:00")
    runner = Runner(app, "a", clock)
    runner.poll()
    clock.advance(hours=17, seconds=5)              # 2 December, 03:00:05, no cron fire seen
    runner.poll()
    runner.poll()
    assert [r.slot for r in runs(AUDIT)] == ["2026-12-01", "2026-12-02"]


def test_a_second_start_on_the_same_day_runs_nothing(app):
    clock = Clock("2026-12-01T08:00:00")
    first = Runner(app, "a", clock)
    first.poll()
    first.lease.release()
    clock.advance(hours=3)
    second = Runner(app, "b", clock)
    assert second.due_for_catch_up() == []
    second.poll()
    assert len(runs(AUDIT)) == 1


def test_a_standby_taking_over_marks_the_dead_ones_run_interrupted(app):
    clock = Clock("2026-12-01T10:00:00")
    dead = Runner(app, "dead", clock)
    dead.poll()
    from scheduler.runs import claim_slot
    claim_slot(db.engine, AUDIT, "manual:x", "dead", clock())   # it died in the middle of this run
    clock.advance(seconds=31)
    Runner(app, "b", clock).poll()
    (run,) = [r for r in runs(AUDIT) if r.slot == "manual:x"]
    assert run.outcome is RunOutcome.FAILED and "interrupted" in run.error


# --- failures ------------------------------------------------------------------------------------

def test_a_failing_job_is_recorded_and_the_scheduler_goes_on(app):
    clock = Clock("2026-12-01T10:00:00")
    runner = Runner(app, "a", clock)

    def boom(_app):
        db.session.execute(text("SELECT 1"))
        raise RuntimeError("the mail server said no to 020150001234")
    runner.jobs["boom"] = Job("boom", "Thử", "mỗi phút", {"minute": "*"}, timedelta(minutes=1), boom, catch_up=False)
    assert runner.fire("boom") is RunOutcome.FAILED
    (failed,) = runs("boom")
    assert failed.outcome is RunOutcome.FAILED and failed.ended_at is not None
    assert failed.error == "RuntimeError: the mail server said no to *********234"
    clock.advance(minutes=1)
    assert runner.fire(AUDIT) is RunOutcome.OK


def test_a_broken_chain_fails_the_run_and_keeps_its_check(app, make_case):
    make_case()
    from tests.conftest import bypass_audit_trigger
    from extensions import write_intent
    with write_intent():
        bypass_audit_trigger()
        db.session.execute(text("UPDATE audit_records SET reason = 'sửa lén' WHERE seq = 1"))
        db.session.commit()
    assert Runner(app, "a", Clock("2026-12-01T10:00:00")).run_now(AUDIT) is RunOutcome.FAILED
    (run,) = runs(AUDIT)
    assert run.error.startswith("audit chain broken at record 1")
    check = db.session.scalars(select(AuditCheck).where(AuditCheck.kind == "verify")).one()
    assert not check.ok and check.broken_seq == 1


# --- SQLite housekeeping -----------------------------------------------------------------------

def test_the_checkpoint_job_moves_the_wal_on_sqlite(app):
    if not is_sqlite():
        assert "sqlite_checkpoint" not in Runner(app, "a").jobs
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10000
    assert Runner(app, "a", Clock("2026-12-01T10:07:00")).fire("sqlite_checkpoint") is RunOutcome.OK
    (run,) = runs("sqlite_checkpoint")
    assert run.slot == "2026-12-01T10:07" and {"wal_pages", "checkpointed", "busy"} <= set(json.loads(run.counts))


# --- the command line ----------------------------------------------------------------------------

def test_run_once_runs_a_job_now_and_records_it(app):
    cli = app.test_cli_runner()
    result = cli.invoke(args=["scheduler", "run-once", AUDIT])
    assert result.exit_code == 0, result.output
    assert f"{AUDIT} manual:" in result.output and ": ok" in result.output
    assert cli.invoke(args=["scheduler", "run-once", AUDIT, "--slot", "2026-12-01"]).exit_code == 0
    again = cli.invoke(args=["scheduler", "run-once", AUDIT, "--slot", "2026-12-01"])
    assert again.exit_code != 0 and "has a run for slot 2026-12-01 already" in again.output
    assert cli.invoke(args=["scheduler", "run-once", "no_such_job"]).exit_code != 0
    assert [r.outcome for r in runs(AUDIT)] == [RunOutcome.OK, RunOutcome.OK]


def test_jobs_lists_every_job_with_its_next_run(app):
    app.test_cli_runner().invoke(args=["scheduler", "run-once", AUDIT, "--slot", "2026-12-01"])
    result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == set(JOBS)
    assert " 02:00" in lines[AUDIT] and "last 2026-12-01 ok" in lines[AUDIT]
    assert ("not on this database" in lines["sqlite_checkpoint"]) != is_sqlite()


# --- the administrators' page --------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_only_administrators_see_the_jobs(role, make_user, make_client):
    browser = make_client(make_user(role, province=LANG_SON))
    assert browser.get("/admin/jobs").status_code == 403
    token = csrf_token(browser.get("/cases").get_data(as_text=True))
    assert browser.post("/admin/jobs/run", data={"job": AUDIT, "csrf_token": token}).status_code == 403
    assert runs() == []


def test_an_administrator_sees_the_runs_and_asks_for_one_that_the_scheduler_then_runs(app, make_user, make_client):
    admin = make_user(Role.ADMIN, province=LANG_SON, username="quantri")
    browser = make_client(admin)
    clock = Clock.at(utcnow())                      # the page judges the lease by the real time
    runner = Runner(app, "host-a:123:ab", clock, lease_seconds=30)
    runner.poll()                                   # active; catches the day up
    page = browser.get("/admin/jobs")
    shown = text_of(page)
    assert page.status_code == 200
    assert "Kiểm tra toàn vẹn nhật ký và ghi mốc neo" in shown and "hằng ngày lúc 02:00" in shown
    assert "host-a:123:ab" in shown and "Thành công" in shown
    assert f"{to_local(clock()):%d/%m/%Y %H:%M}" in shown           # started, local time
    assert f"{JOBS[AUDIT].next_run(utcnow()):%d/%m/%Y} 02:00" in shown
    assert "Không có bộ lập lịch nào đang hoạt động" not in shown

    answer = browser.post("/admin/jobs/run", data={"job": AUDIT, "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert answer.status_code == 302
    again = browser.post("/admin/jobs/run", data={"job": AUDIT, "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert again.status_code == 302                 # a second click while it waits adds nothing
    requested = [r for r in runs(AUDIT) if r.outcome is RunOutcome.REQUESTED]
    assert len(requested) == 1 and requested[0].requested_by == "quantri" and requested[0].started_at is None
    assert [json.loads(r.detail) for r in audit_records() if r.action == "job.run_requested"] == [{"job": AUDIT}]
    assert "Chờ bộ lập lịch" in text_of(browser.get("/admin/jobs"))

    clock.advance(seconds=10)
    Runner(app, "host-b:9:cd", clock).poll()        # a standby leaves it
    runner.poll()                                   # the active one's next poll runs it
    assert [r.outcome for r in runs(AUDIT)] == [RunOutcome.OK, RunOutcome.OK]
    assert runs(AUDIT)[1].holder == "host-a:123:ab"


def test_an_unknown_job_is_not_requested(make_user, make_client):
    browser = make_client(make_user(Role.ADMIN, province=LANG_SON))
    token = csrf_token(browser.get("/admin/jobs").get_data(as_text=True))
    answer = browser.post("/admin/jobs/run", data={"job": "xoa_het", "csrf_token": token}, follow_redirects=True)
    assert "Không có việc định kỳ này." in text_of(answer)
    assert "Không có bộ lập lịch nào đang hoạt động" in text_of(answer)
    assert runs() == []


def test_the_runs_of_frequent_jobs_are_kept_a_week(app):
    from scheduler.jobs import prune_frequent_runs
    old, recent = utcnow() - timedelta(days=8), utcnow() - timedelta(days=1)
    with write_intent():
        for job, slot, started in [("sqlite_checkpoint", "a", old), ("sqlite_checkpoint", "b", recent),
                                   (AUDIT, "2026-01-01", old)]:
            db.session.add(JobRun(job=job, slot=slot, outcome=RunOutcome.OK, requested_at=started,
                                  started_at=started, ended_at=started))
        db.session.commit()
        assert prune_frequent_runs(app) == {"deleted": 1}
        db.session.commit()
    assert sorted((r.job, r.slot) for r in runs()) == [(AUDIT, "2026-01-01"), ("sqlite_checkpoint", "b")]


# --- the real process --------------------------------------------------------------------------

def start_scheduler(app, lease: float = 2, poll: float = 0.3, log=subprocess.PIPE) -> subprocess.Popen:
    """`flask scheduler run` in a process of its own, on the test database, with a short lease;
    its log to `log` (a pipe, or a file)."""
    env = os.environ | {"FLASK_APP": "app", "ANSINH_ENV": "testing",
                        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""),
                        "AUDIT_ANCHOR_PATH": app.config["AUDIT_ANCHOR_PATH"],
                        "SCHEDULER_LEASE_SECONDS": str(lease), "SCHEDULER_POLL_SECONDS": str(poll)}
    return subprocess.Popen([sys.executable, "-m", "flask", "scheduler", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def wait_for(condition, seconds: float = 15):
    """Poll the database until `condition()` is true; its value, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the scheduler did not get there in time")


def lease_holder() -> str | None:
    db.session.rollback()
    lease = db.session.get(SchedulerLease, "scheduler")
    db.session.expire_all()
    return lease.holder if lease is not None else None


def stop(process: subprocess.Popen, how=signal.SIGTERM) -> str:
    if process.poll() is None:
        process.send_signal(how)
    try:
        _, errors = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, errors = process.communicate()
    return (errors or b"").decode(errors="replace")


def test_flask_scheduler_run_catches_up_then_releases_its_lease_on_sigterm(app):
    process = start_scheduler(app)
    try:
        wait_for(lambda: runs(AUDIT) and runs(AUDIT)[0].outcome is RunOutcome.OK)
        assert lease_holder().split(":")[1] == str(process.pid)
    finally:
        log = stop(process)
    assert process.returncode == 0, log
    assert "lease released" in log
    assert lease_holder() is None


def test_the_launcher_runs_the_web_app_and_the_scheduler_and_one_signal_stops_both(app):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"ANSINH_ENV": "testing", "FLASK_APP": "app",
                        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""),
                        "AUDIT_ANCHOR_PATH": app.config["AUDIT_ANCHOR_PATH"], "SCHEDULER_POLL_SECONDS": "0.3"}
    launcher = subprocess.Popen([sys.executable, "-m", "scheduler.launcher", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: lease_holder())
        wait_for(lambda: served(port))
    finally:
        log = stop(launcher, signal.SIGINT)
    assert launcher.returncode == 0, log
    assert "lease released" in log and not served(port)


def served(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as page:
            return page.status == 200
    except OSError:
        return False
