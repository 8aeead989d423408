"""The auditor's screen: the audit trail in the reader's scope, filtered, and its export."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required

from cases.access import communes_in_scope
from cases.audit_export import trail_workbook
from cases.audit_trail import (export_trail, latest_checks, read_cursor, read_filter, require_trail_reader,
                                trail_page)
from cases.changes import to_local, utcnow
from extensions import db
from views.common import acting_user, current_actor
from views.filters import ACTION_LABELS

bp = Blueprint("audit", __name__, url_prefix="/audit")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("")
@login_required
def trail():
    user = acting_user()
    require_trail_reader(user)
    wanted, errors = read_filter(request.args)
    page = None if errors else trail_page(db.session, user, wanted, before=read_cursor(request.args.get("before")))
    return render_template("audit/trail.html", page=page, wanted=wanted, errors=errors,
                           communes=communes_in_scope(db.session, user), actions=ACTION_LABELS,
                           checks=latest_checks(db.session))


@bp.route("/export", methods=["POST"])
@login_required
def export():
    user = acting_user()
    require_trail_reader(user)
    wanted, errors = read_filter(request.form)
    if errors:
        for error in errors:
            flash(error, "error")
        return redirect(url_for("audit.trail"))
    page = export_trail(db.session, current_actor(), user, wanted)
    body = trail_workbook(page.rows, lambda a: ACTION_LABELS.get(a, a), truncated=page.next_before is not None)
    db.session.commit()
    # An ASCII file name: every browser and mail client keeps it as it is.
    name = f"nhat-ky-{to_local(utcnow()):%Y%m%d-%H%M}.xlsx"
    return Response(body, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
