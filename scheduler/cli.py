"""`flask scheduler run | run-once JOB | jobs`."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.models.scheduling import JobRun
from extensions import db
from scheduler.jobs import JOBS
from scheduler.runs import last_run, manual_slot

scheduler_cli = AppGroup("scheduler", help="Scheduled jobs (run in a process of their own).")


@scheduler_cli.command("run")
def scheduler_run():
    """Run the scheduler until Ctrl-C or SIGTERM. Start one per host if you like: one acts,
    the others stand by and take over within a lease's length when it stops."""
    from scheduler.process import run

    run(current_app._get_current_object())


@scheduler_cli.command("run-once")
@click.argument("job", type=click.Choice(sorted(JOBS)))
@click.option("--slot", help="Record the run under this slot (e.g. 2026-12-01); refused if it ran already.")
def scheduler_run_once(job, slot):
    """Run JOB now, in this process, and record the run. Exits 1 when it fails."""
    from scheduler.process import Runner

    runner = Runner(current_app._get_current_object())
    if job not in runner.jobs:
        raise click.ClickException(f"{job} does not run on this database")
    slot = slot or manual_slot(utcnow())
    outcome = runner.run_now(job, slot)
    if outcome is None:
        raise click.ClickException(f"{job} has a run for slot {slot} already")
    with Session(db.engine) as reading:       # a fresh read: the run committed on a session of its own
        run = reading.scalars(select(JobRun).where(JobRun.job == job, JobRun.slot == slot)).one()
    click.echo(f"{job} {run.slot}: {outcome.value}" + (f" {run.counts}" if run.counts else ""))
    if run.error:
        click.echo(f"error: {run.error}", err=True)
        sys.exit(1)


@scheduler_cli.command("jobs")
def scheduler_jobs():
    """List the jobs, when each runs next (local time) and how its last run ended."""
    from scheduler.jobs import jobs_for

    now = utcnow()
    here = {job.id for job in jobs_for(current_app._get_current_object())}
    for job in JOBS.values():
        next_run = job.next_run(now)
        run = last_run(db.session, job.id)
        last = f"last {run.slot} {run.outcome.value}" if run else "never run"
        where = "" if job.id in here else " (not on this database)"
        click.echo(f"{job.id:<26} next {next_run:%d/%m/%Y %H:%M}  {last}{where}")
