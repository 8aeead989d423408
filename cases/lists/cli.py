"""`flask lists work`: preview or import every queued list job now, in this process, then exit
(development and tests; in production the scheduler's worker does it).

`flask cases import FILE --commune CODE --user USERNAME [--dry-run] [--rejected-out FILE]`: a
commune's beneficiary list imported from the command line as the web does it — a job of the
user's, previewed, then imported (or, with --dry-run, previewed and dropped), worked here and
now; the last line says what happened: `created=N updated=N unchanged=N rejected=N`.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from cases.changes import utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import Commune, ListJob, ListJobState, ListKind, User
from cases.users import actor_of
from extensions import db, write_intent

lists_cli = AppGroup("lists", help="Uploaded lists (beneficiaries, police results).")
cases_cli = AppGroup("cases", help="Cases: a commune's beneficiary list imported from a file.")
OUTCOMES = ("created", "updated", "unchanged", "rejected")


def _worker() -> str:
    return f"cli:{socket.gethostname()[:60]}:{os.getpid()}"


@lists_cli.command("work")
def lists_work():
    """Work every queued list job (preview or import), then exit."""
    from cases.lists.jobs import work_queued

    worked = work_queued(current_app._get_current_object(), _worker())
    click.echo(f"worked {worked} list job(s)")


@cases_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--commune", "commune_code", required=True, help="The commune's 5-digit code.")
@click.option("--user", "username", required=True,
              help="The officer or supervisor of the commune the import acts as (audited as theirs).")
@click.option("--dry-run", is_flag=True, help="Read and check every row; write nothing.")
@click.option("--rejected-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rejected rows, untouched, with a reason column, to this workbook.")
def cases_import(path: Path, commune_code: str, username: str, dry_run: bool, rejected_out: Path | None):
    """Import a commune's beneficiary list (.xlsx, .xls, .ods)."""
    from cases.lists.jobs import cancel, claim, confirm, enqueue, work

    app, worker = current_app._get_current_object(), _worker()
    with write_intent():
        user = db.session.scalar(select(User).where(User.username == username))
        commune = db.session.scalar(select(Commune).where(Commune.code == commune_code))
        if user is None or commune is None:
            _stop(f"no such {'user' if user is None else 'commune'}: {username if user is None else commune_code}")
        try:
            job = enqueue(db.session, actor_of(user, None, "cli"), user, ListKind.BENEFICIARIES, commune.id,
                          path.name, path.read_bytes(), utcnow())
        except (DomainError, NotPermitted) as refused:
            _stop(refused.message)
        job_id = job.id     # before the commit: reading it after would open a writing transaction again
        db.session.commit()
    outcome = _run(app, claim, work, job_id, worker)
    if outcome.state is ListJobState.PREVIEWED:
        with write_intent():
            job = db.session.get(ListJob, job_id)
            user = db.session.get(User, job.owner_id)
            (cancel if dry_run else confirm)(db.session, actor_of(user, None, "cli"), user, job)
            db.session.commit()
        if not dry_run:
            outcome = _run(app, claim, work, job_id, worker)
    if outcome.state is ListJobState.FAILED:
        _stop(outcome.error or "the import failed")
    if rejected_out is not None and outcome.rejected_workbook:
        rejected_out.write_bytes(outcome.rejected_workbook)
    counts = json.loads(outcome.counts or "{}")
    click.echo(" ".join(f"{key}={counts.get(key, 0)}" for key in OUTCOMES))


def _run(app, claim, work, job_id: int, worker: str) -> ListJob:
    """Claim job `job_id` for this process, work its phase to the end, and read it back."""
    if claim(db.engine, worker, utcnow(), job_id=job_id) == job_id:
        work(app, job_id, worker)
    db.session.expire_all()
    job = db.session.get(ListJob, job_id)
    db.session.rollback()
    return job


def _stop(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)
