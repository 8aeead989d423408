"""The supervisors' approvals inbox and its decisions (one or several at once), a proposer's
withdrawal, and the decisions waiting for their month."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm.exc import StaleDataError

from cases.access import get_proposal
from cases.actions import approve, effective_from, may_decide, may_withdraw, reject, withdraw
from cases.errors import DomainError
from cases.ids import parse_id
from cases.roles import Role
from cases import inbox
from cases.inbox import KINDS, MAX_BATCH, InboxFilter, decide_many, inbox_page
from cases.scheduled import refused_decisions, scheduled_decisions
from extensions import db
from forms.proposals import BatchDecisionForm, DecisionForm
from views.common import acting_user, current_actor
from views.filters import vn_date
from workflow.table import STATES, TRANSITIONS

bp = Blueprint("proposals", __name__)
log = logging.getLogger(__name__)

# The proposal box on the case page asks these (templates/cases/_proposal.html).
bp.app_template_global("may_withdraw")(may_withdraw)
bp.app_template_global("proposal_takes_effect")(lambda p: effective_from(p.trigger, p.payload or {}))


@bp.app_template_global("labels_once")
def labels_once():
    """`label(filter_name, value, *args)`: the presentation layer's filter, each (value, args) run
    once a page. A translated label costs tens of microseconds (the locale is looked up each
    time), and a 50-row inbox asks for the same few labels hundreds of times."""
    filters, seen = current_app.jinja_env.filters, {}

    def label(name: str, value, *args):
        key = (name, value, args)
        if key not in seen:
            seen[key] = filters[name](value, *args)
        return seen[key]
    return label


def _filter() -> InboxFilter:
    return InboxFilter.parse(request.args.get("commune"), request.args.get("kind"))


def _filter_args(wanted: InboxFilter) -> dict:
    return {k: v for k, v in (("commune", wanted.commune_id), ("kind", wanted.kind)) if v is not None}


@bp.route("/proposals")
@login_required
def pending():
    """The approvals inbox: pending proposals in scope, oldest first, filtered by commune and kind."""
    user, wanted = acting_user(), _filter()
    page = inbox_page(db.session, user, wanted, after=request.args.get("after"), before=request.args.get("before"),
                      size=inbox.PAGE_SIZE)
    return render_template("proposals/list.html", page=page, wanted=wanted, filter_args=_filter_args(wanted),
                           kinds=KINDS, max_batch=MAX_BATCH, may_decide_here=user.role is Role.SUPERVISOR,
                           may_decide=may_decide, viewer=user)


@bp.route("/proposals/decisions", methods=["POST"], endpoint="decide_many")
@login_required
def decide_many_view():
    """Approve or reject the ticked proposals (or, with `?single=<id>`, the one whose row button
    was pressed) with one reason; then the summary: done, and refused with why."""
    user, wanted = acting_user(), _filter()
    form = BatchDecisionForm()
    if not form.validate():      # a reason too long, or with control characters
        flash(_("Lý do / ý kiến: %(error)s", error=" ".join(e for field in form for e in field.errors)), "error")
        return redirect(url_for("proposals.pending", **_filter_args(wanted)))
    single = parse_id(request.args.get("single"))
    ids = [single] if single is not None else [i for i in map(parse_id, form.proposal.data or []) if i is not None]
    try:
        result = decide_many(db.session, current_actor(), user, ids, form.decision.data or "", form.reason.data)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("proposals.pending", **_filter_args(wanted)))
    log.info("batch %s by user %s: %d done, %d refused", result.decision, user.id, len(result.done),
             len(result.refused))
    return render_template("proposals/bulk_result.html", result=result, back=_filter_args(wanted))


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
        flash(_("Cần ghi lý do / ý kiến khi phê duyệt hoặc từ chối."), "error")
        return redirect(back)
    label = TRANSITIONS[proposal.trigger].label
    try:
        if decision == "approve":
            approve(db.session, current_actor(), user, proposal, form.reason.data,
                    decision_number=form.decision_number.data)
            takes_effect_on = proposal.takes_effect_on  # read before the commit expires it
        else:
            reject(db.session, current_actor(), user, proposal, form.reason.data)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash(_("Hồ sơ vừa được người khác thay đổi; đề xuất chưa được xử lý. Vui lòng tải lại."), "error")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_decided(decision, label, takes_effect_on if decision == "approve" else None), "success")
    return redirect(back)


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"], endpoint="withdraw")
@login_required
def withdraw_view(proposal_id: int):
    """The proposer takes back their pending proposal; back to the case page.

    :raise 404: no such proposal in the user's scope. :raise 403: not its proposer.
    """
    user = acting_user()
    proposal = get_proposal(db.session, user, proposal_id)
    back = url_for("cases.show", case_id=proposal.case_id)
    label = TRANSITIONS[proposal.trigger].label
    try:
        withdraw(db.session, current_actor(), user, proposal)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("Đã rút đề xuất «%(label)s». Có thể lập đề xuất mới cho hồ sơ này.", label=label), "success")
    return redirect(back)


def _decided(decision: str, label: str, takes_effect_on) -> str:
    if decision == "reject":
        return _("Đã từ chối đề xuất «%(label)s».", label=label)
    if takes_effect_on is not None:
        return _("Đã phê duyệt «%(label)s», có hiệu lực từ %(day)s.", label=label, day=vn_date(takes_effect_on))
    return _("Đã phê duyệt «%(label)s».", label=label)
