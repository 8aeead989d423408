"""The case list, the case page, the new-case and edit forms, and each transition's form."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from cases.access import communes_in_scope, get_case
from cases.actions import available_actions, may_decide, pending_proposal, start_transition
from cases.changes import local_today, stale
from cases.errors import DomainError, NotPermitted, StaleCase
from cases.models import Case, Village
from cases.queues import case_history, queue_page
from cases.registration import edit_case, may_edit, register_case, require_writer
from extensions import db
from forms.case import CaseForm
from forms.proposals import DecisionForm
from forms.transitions import FORMS
from views.common import acting_user, current_actor
from workflow.states import CaseState
from workflow.table import STATES, TRANSITIONS

bp = Blueprint("cases", __name__)


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
    commune_id, user = request.args.get("commune", type=int), acting_user()
    page = queue_page(db.session, user, state, local_today(), commune_id=commune_id,
                      cursor=request.args.get("after"), size=current_app.config["QUEUE_PAGE_SIZE"])
    return render_template("cases/queue.html", page=page, state=state, states=STATES,
                           communes=communes_in_scope(db.session, user), commune_id=commune_id)


@bp.route("/cases/<int:case_id>")
@login_required
def show(case_id: int):
    user = acting_user()
    case = get_case(db.session, user, case_id)
    pending = pending_proposal(db.session, case.id)
    return render_template(
        "cases/show.html", case=case, pending=pending, history=case_history(db.session, case.id),
        actions=available_actions(user, case, pending), decision_form=DecisionForm(),
        may_decide=may_decide(user, pending), may_edit=may_edit(user, case),
        transitions=TRANSITIONS, states=STATES)


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    user = acting_user()
    require_writer(user)
    form = _case_form()
    if form.validate_on_submit():
        try:
            case = register_case(db.session, current_actor(), user, form.person_data(), local_today())
        except DomainError as error:
            _show_error(form, error)
        else:
            db.session.commit()
            flash(f"Đã thêm hồ sơ số {case.id}.", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/form.html", form=form, case=None), 200 if request.method == "GET" else 422


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    user = acting_user()
    case = get_case(db.session, user, case_id)
    require_writer(user)
    form = _case_form(obj=case)
    if request.method == "GET":
        form.version.data = case.version
    elif form.validate_on_submit():
        try:
            changes = edit_case(db.session, current_actor(), user, case, form.person_data(),
                                form.version_number(), local_today())
            db.session.commit()
        except (StaleCase, StaleDataError):
            return _conflict("cases/form.html", form, case_id, case=case)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            flash("Đã lưu thay đổi." if changes else "Không có gì thay đổi.", "success")
            return redirect(url_for("cases.show", case_id=case_id))
    return render_template("cases/form.html", form=form, case=case), 200 if request.method == "GET" else 422


@bp.route("/cases/<int:case_id>/actions/<trigger>", methods=["GET", "POST"])
@login_required
def act(case_id: int, trigger: str):
    user = acting_user()
    case = get_case(db.session, user, case_id)
    spec = TRANSITIONS.get(trigger) or abort(404)
    if user.role not in spec.roles:
        raise NotPermitted(f"Vai trò {user.role.label} không được thực hiện «{spec.label}».")
    form = FORMS[trigger](case=case)
    if request.method == "GET":
        form.version.data = case.version
    elif form.validate_on_submit():
        try:
            proposal = start_transition(db.session, current_actor(), user, case, trigger,
                                        form.payload(), form.version_number(), reason=form.note.data or None)
            db.session.commit()
        except (StaleCase, StaleDataError):
            return _conflict("cases/action.html", form, case_id, case=case, spec=spec)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            flash(f"Đã gửi đề xuất «{spec.label}» chờ lãnh đạo phê duyệt." if proposal
                  else f"Đã thực hiện «{spec.label}».", "success")
            return redirect(url_for("cases.show", case_id=case_id))
    return render_template("cases/action.html", form=form, case=case, spec=spec, states=STATES), \
        200 if request.method == "GET" else 422


def _case_form(**kwargs) -> CaseForm:
    communes = communes_in_scope(db.session, acting_user())
    villages = db.session.scalars(
        select(Village).where(Village.commune_id.in_([c.id for c in communes])).order_by(Village.name)).all()
    return CaseForm(communes=communes, villages=villages, **kwargs)


def _show_error(form, error: DomainError) -> None:
    field = form._fields.get(error.field or "")
    if field is not None:
        field.errors = [*field.errors, error.message]
    flash(error.message, "error")


def _conflict(template: str, form, case_id: int, **context):
    """Someone saved the case first: keep this user's input on screen, overwrite nothing."""
    db.session.rollback()
    case = db.session.get(Case, case_id)
    flash(stale(case).message, "error")
    context.update(case=case, states=STATES)
    return render_template(template, form=form, **context), 409
