"""The supervisors' pending proposals, their decisions, and the decisions waiting for their month."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_required
from sqlalchemy.orm.exc import StaleDataError

from cases.access import get_proposal
from cases.actions import approve, reject
from cases.errors import DomainError
from cases.queues import pending_proposals
from cases.scheduled import refused_decisions, scheduled_decisions
from extensions import db
from forms.proposals import DecisionForm
from views.common import acting_user, current_actor
from views.filters import vn_date
from workflow.table import STATES, TRANSITIONS

bp = Blueprint("proposals", __name__)


@bp.route("/proposals")
@login_required
def pending():
    return render_template("proposals/list.html", proposals=pending_proposals(db.session, acting_user()),
                           transitions=TRANSITIONS, states=STATES, form=DecisionForm())


@bp.route("/proposals/scheduled")
@login_required
def scheduled():
    """Approved decisions waiting for their month, and those refused because their case changed."""
    user = acting_user()
    return render_template("proposals/scheduled.html", refused=refused_decisions(db.session, user),
                           scheduled=scheduled_decisions(db.session, user), states=STATES)


@bp.route("/proposals/<int:proposal_id>/<any(approve, reject):decision>", methods=["POST"])
@login_required
def decide(proposal_id: int, decision: str):
    user = acting_user()
    proposal = get_proposal(db.session, user, proposal_id)
    # Read now: after the commit the proposal is expired, and reading it would start a new query.
    back = url_for("cases.show", case_id=proposal.case_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash("Cần ghi lý do / ý kiến khi phê duyệt hoặc từ chối.", "error")
        return redirect(back)
    label = TRANSITIONS[proposal.trigger].label
    try:
        if decision == "approve":
            approve(db.session, current_actor(), user, proposal, form.reason.data)
            takes_effect_on = proposal.takes_effect_on  # read before the commit expires it
        else:
            reject(db.session, current_actor(), user, proposal, form.reason.data)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash("Hồ sơ vừa được người khác thay đổi; đề xuất chưa được xử lý. Vui lòng tải lại.", "error")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_decided(decision, label, takes_effect_on if decision == "approve" else None), "success")
    return redirect(back)


def _decided(decision: str, label: str, takes_effect_on) -> str:
    if decision == "reject":
        return f"Đã từ chối đề xuất «{label}»."
    if takes_effect_on is not None:
        return f"Đã phê duyệt «{label}», có hiệu lực từ {vn_date(takes_effect_on)}."
    return f"Đã phê duyệt «{label}»."
