"""The table of scheduled jobs: fixed ids, when each runs (in Asia/Ho_Chi_Minh), which slot a
moment belongs to, and the thin function that does the work.

A job function takes the app (its context is pushed, a write transaction is open), calls
services, flushes, and returns what it did as counts; it never commits (the runner commits the
work and the run's record together). Adding a job is one entry in JOBS.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from flask_babel import lazy_gettext as _l

from cases.changes import utcnow
from extensions import db

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class JobFailed(Exception):
    """The job did its work and found something wrong (a broken audit chain): what it wrote is
    committed, and the run is recorded as failed with this message (English, no personal data)."""

    def __init__(self, message: str, counts: dict | None = None):
        super().__init__(message)
        self.counts = counts or {}


@dataclass(frozen=True)
class Job:
    id: str
    label: str                                  # lazy, for the administrators' page
    # Compared by what it does, not when: a job moved by its hour setting is the same job.
    schedule: str = field(compare=False)        # lazy, how often
    cron: dict = field(compare=False)           # CronTrigger fields, local time
    slot_length: timedelta                      # a slot: the period between two run times
    run: Callable[[Flask], dict]
    catch_up: bool = True                       # run the current slot at start when it has no run yet
    applies: Callable[[Flask], bool] = field(default=lambda app: True)
    hour_setting: str | None = None             # a config key that moves the daily run's local hour

    def configured(self, app: Flask) -> Job:
        """This job at the hour the app's config sets, when it has such a setting."""
        if self.hour_setting is None:
            return self
        hour = int(app.config[self.hour_setting])
        return replace(self, cron=self.cron | {"hour": hour}, schedule=_daily(f"{hour:02d}:00"))

    def trigger(self) -> CronTrigger:
        return CronTrigger(timezone=ZONE, **self.cron)

    def slot_of(self, moment: datetime) -> str:
        """The slot of the last run time at or before `moment` (UTC, naive): a daily job's local
        date, a minutely job's local minute."""
        start = self.slot_start(moment)
        return start.strftime("%Y-%m-%d") if self.slot_length >= timedelta(days=1) else start.strftime("%Y-%m-%dT%H:%M")

    def slot_start(self, moment: datetime) -> datetime:
        """The last run time at or before `moment` (UTC naive), in local time."""
        local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZONE)
        candidate = self.trigger().get_next_fire_time(None, local - self.slot_length)
        last = candidate
        while candidate is not None and candidate <= local:
            last = candidate
            candidate = self.trigger().get_next_fire_time(candidate, candidate + timedelta(seconds=1))
        return last

    def next_run(self, moment: datetime) -> datetime | None:
        """The next run time after `moment` (UTC naive), local; from the trigger, not a live scheduler."""
        local = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZONE)
        return self.trigger().get_next_fire_time(None, local + timedelta(microseconds=1))


def checkpoint_sqlite_wal(app: Flask) -> dict:
    """Move the WAL into the database file, so writing requests need not (PASSIVE: never waits
    for readers or writers; what a reader still needs stays for the next minute)."""
    with db.engine.connect() as conn:
        busy, wal_pages, moved = conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return {"wal_pages": wal_pages, "checkpointed": moved, "busy": busy}


def verify_and_anchor_audit_chain(app: Flask) -> dict:
    """Verify the whole audit chain against its last anchor, record the check, and anchor the
    verified end (cases.anchor); a broken chain fails the run, its check still recorded."""
    from cases.anchor import verify_with_anchor

    report = verify_with_anchor(db.session, app.config["AUDIT_ANCHOR_PATH"])
    counts = {"checked": report.checked}
    if not report.ok:
        raise JobFailed(f"audit chain broken at record {report.broken_seq}: {report.problem}", counts)
    return counts | {"anchored_seq": report.written.seq}


# Runs of jobs more often than daily are kept this long; daily and manual runs are kept for good.
FREQUENT_RUNS_KEPT = timedelta(days=7)


def prune_frequent_runs(app: Flask) -> dict:
    """Forget the runs of the frequent jobs (the minutely checkpoint) older than a week."""
    from scheduler.runs import prune_runs

    frequent = [job.id for job in JOBS.values() if job.slot_length < timedelta(days=1)]
    return {"deleted": prune_runs(db.session, frequent, utcnow() - FREQUENT_RUNS_KEPT)}


def send_outbox(app: Flask) -> dict:
    """Send the outbox's due messages (cases.mail). Unlike the other jobs it commits as it goes,
    in short transactions of its own (claim; each message's outcome), never in the runner's
    session: a message the server accepted must be marked sent at once, not at the run's end.
    The runner's commit records the run and these counts."""
    from cases.mail import send_due_messages

    return send_due_messages(app, utcnow())


def apply_scheduled_decisions(app: Flask) -> dict:
    """Fire the approved decisions whose month begins today or began (caught up after a stop);
    those whose case changed meanwhile are refused and flagged (cases.scheduled)."""
    from cases import changes, scheduled

    return scheduled.apply_scheduled_decisions(db.session, changes.local_today())


def escalate_stalled_cases_and_write_digests(app: Flask) -> dict:
    """The day's watch — stalled cases escalated, three unpaid months proposed for suspension
    (cases.payments.watch) — and the digests that report them, in the one transaction the runner
    commits: an escalation is never recorded without its email, nor an email without it. The
    supervisors' digests also list the decisions still refused (apply_scheduled_decisions, 00:05)."""
    from cases.changes import local_today
    from cases.digests import write_digests
    from cases.escalation import escalate_stalled_cases
    from cases.payments.watch import propose_suspensions_for_unpaid_months

    today, now = local_today(), utcnow()
    counts = escalate_stalled_cases(db.session, today, now)
    unpaid = propose_suspensions_for_unpaid_months(db.session, today, now)
    counts |= {"unpaid_proposed": unpaid["proposed"], "unpaid_runs": unpaid["unpaid_runs"]}
    return counts | write_digests(db.session, today, app.config["BASE_URL"], now)


def produce_monthly_reports(app: Flask) -> dict:
    """Last month's reports for every unit in use, archived unsigned, their supervisors emailed a
    link (cases.reports.monthly); a unit already done is skipped."""
    from cases.changes import local_today
    from cases.reports.monthly import produce_monthly_reports as produce

    return produce(db.session, local_today(), app.config["BASE_URL"], utcnow())


def _daily(time: str):
    """`hằng ngày lúc 02:00`, in the reader's language."""
    return _l("hằng ngày lúc %(time)s", time=time)


def _on_sqlite(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


JOBS: dict[str, Job] = {job.id: job for job in (
    Job("sqlite_checkpoint", _l("Dồn nhật ký ghi (WAL) của SQLite vào tệp cơ sở dữ liệu"), _l("mỗi phút"),
        {"minute": "*"}, timedelta(minutes=1), checkpoint_sqlite_wal, catch_up=False, applies=_on_sqlite),
    Job("audit_verify_and_anchor", _l("Kiểm tra toàn vẹn nhật ký và ghi mốc neo"), _daily("02:00"),
        {"hour": 2, "minute": 0}, timedelta(days=1), verify_and_anchor_audit_chain),
    Job("apply_scheduled_decisions", _l("Áp dụng các quyết định đến tháng có hiệu lực"), _daily("00:05"),
        {"hour": 0, "minute": 5}, timedelta(days=1), apply_scheduled_decisions),
    Job("prune_job_runs", _l("Xoá lượt chạy cũ của các việc chạy hằng phút"), _daily("03:00"),
        {"hour": 3, "minute": 0}, timedelta(days=1), prune_frequent_runs),
    Job("send_outbox", _l("Gửi thư điện tử đang chờ trong hộp thư đi"), _l("mỗi phút"),
        {"minute": "*"}, timedelta(minutes=1), send_outbox, catch_up=False),
    Job("escalate_stalled_cases", _l("Cảnh báo hồ sơ quá hạn và gửi thư tổng hợp"), _daily("07:00"),
        {"hour": 7, "minute": 0}, timedelta(days=1), escalate_stalled_cases_and_write_digests,
        hour_setting="ESCALATION_HOUR"),
    Job("produce_monthly_reports", _l("Lập báo cáo tháng trước cho từng tỉnh và xã, gửi thư mời ký duyệt"),
        _daily("05:00"), {"hour": 5, "minute": 0}, timedelta(days=1), produce_monthly_reports),
)}


def jobs_for(app: Flask) -> list[Job]:
    """The jobs this app's database runs (the checkpoint only on SQLite)."""
    return [job.configured(app) for job in JOBS.values() if job.applies(app)]
