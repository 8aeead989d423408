"""The home page and the case queues (on the cases blueprint: their endpoints are cases.*)."""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_login import login_required

from cases.access import communes_in_scope
from cases.changes import local_today
from cases.ids import parse_id
from cases.queues import queue_page
from extensions import db
from views.cases import bp
from views.common import acting_user
from workflow.states import CaseState
from workflow.table import STATES


@bp.route("/")
@login_required
def home():
    return redirect(url_for("cases.queue"))


@bp.route("/cases")
@login_required
def queue():
    try:
        state = CaseState(request.args.get("state", CaseState.IDENTITY_VERIFICATION.value))
    except ValueError:
        abort(404)
    # A commune that is no id (`?commune=1e30`) filters nothing, as if absent.
    commune_id, user = parse_id(request.args.get("commune")), acting_user()
    page = queue_page(db.session, user, state, local_today(), commune_id=commune_id,
                      cursor=request.args.get("after"), size=current_app.config["QUEUE_PAGE_SIZE"])
    return render_template("cases/queue.html", page=page, state=state, states=STATES,
                           communes=communes_in_scope(db.session, user), commune_id=commune_id)
