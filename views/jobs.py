"""The administrators' page of scheduled jobs: when each runs, its last runs, which scheduler
acts; "Chạy ngay" asks the active scheduler to run a job (the web app never runs one itself)."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import login_required

from cases import access
from cases.changes import utcnow
from cases.models.scheduling import RunOutcome
from extensions import db
from scheduler.jobs import JOBS, jobs_for
from scheduler.lease import current_lease
from scheduler.runs import last_run, recent_runs, request_run
from views.common import acting_user, current_actor

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")
log = logging.getLogger(__name__)

OUTCOME_LABELS = {RunOutcome.REQUESTED: _l("Chờ bộ lập lịch"), RunOutcome.RUNNING: _l("Đang chạy"),
                  RunOutcome.OK: _l("Thành công"), RunOutcome.FAILED: _l("Lỗi")}


def require_admin():
    """The acting administrator. :raise NotPermitted: (403) the user is not one."""
    user = acting_user()
    access.require_admin(user, _("xem và chạy các việc định kỳ"))
    return user


@bp.route("")
@login_required
def index():
    require_admin()
    now = utcnow()
    here = jobs_for(current_app)
    jobs = [(job, job.next_run(now), last_run(db.session, job.id)) for job in here]
    lease = current_lease(db.session)
    acting = lease if lease is not None and lease.holder and lease.expires_at and lease.expires_at > now else None
    runs = recent_runs(db.session, [job.id for job in here])
    return render_template("jobs/index.html", jobs=jobs, runs=runs, lease=acting,
                           labels=OUTCOME_LABELS, jobs_by_id=JOBS)


@bp.route("/run", methods=["POST"])
@login_required
def run_now():
    admin = require_admin()
    job = JOBS.get(request.form.get("job", ""))
    if job is None or job not in jobs_for(current_app):
        flash(_("Không có việc định kỳ này."), "error")
        return redirect(url_for("jobs.index"))
    if request_run(db.session, current_actor(), job.id):
        db.session.commit()
        log.info("admin %s asked for a run of %s", admin.username, job.id)
    flash(_("Đã yêu cầu chạy “%(job)s”: bộ lập lịch sẽ chạy trong vài giây.", job=job.label), "success")
    return redirect(url_for("jobs.index"))
