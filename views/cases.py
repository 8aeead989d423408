"""The case page, the new-case and edit forms, and each transition's form (the queues and the
home page are in views/queues.py, on the same blueprint)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from cases.access import communes_in_scope, get_case
from cases.actions import available_actions, may_decide, may_withdraw, pending_proposal, start_transition
from cases.scheduled import refused_decision
from cases.changes import local_today, stale
from cases.escalation import escalations_of
from cases.errors import DomainError, NotPermitted, StaleCase
from cases.models import Case, Village
from cases.timeline import case_timeline
from cases.registration import Edit, edit_case, may_edit, register_case, require_writer
from cases.masking import numbers_on_form, record_numbers_shown
from extensions import db, write_intent
from forms.case import CaseForm
from forms.proposals import DecisionForm
from forms.transitions import FORMS
from views.common import acting_user, current_actor
from views.present.values import remember_names
from workflow import four_eyes
from workflow.table import STATES, TRANSITIONS

bp = Blueprint("cases", __name__)


@bp.route("/cases/<int:case_id>")
@login_required
def show(case_id: int):
    user = acting_user()
    case = get_case(db.session, user, case_id)
    pending = pending_proposal(db.session, case.id)
    escalations = escalations_of(db.session, case.id)
    timeline = case_timeline(db.session, case, escalations)
    remember_names(villages=timeline.villages, users=timeline.users)
    return render_template(
        "cases/show.html", case=case, pending=pending, timeline=timeline,
        refused=refused_decision(db.session, case.id), escalations=escalations,
        actions=available_actions(user, case, pending), decision_form=DecisionForm(),
        may_decide=may_decide(user, pending), may_withdraw=may_withdraw(user, pending),
        may_edit=may_edit(user, case), transitions=TRANSITIONS, states=STATES)


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new():
    user = acting_user()
    require_writer(user)
    form, duplicate_of = _case_form(), None
    if form.validate_on_submit():
        try:
            case = register_case(db.session, current_actor(), user, form.person_data(), local_today())
        except DomainError as error:
            duplicate_of = _show_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã thêm hồ sơ số %(number)s.", number=case.id), "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template("cases/form.html", form=form, case=None, duplicate_of=duplicate_of), \
        200 if request.method == "GET" else 422


@bp.route("/cases/<int:case_id>/edit", methods=["GET", "POST"])
@login_required
def edit(case_id: int):
    user = acting_user()
    case = get_case(db.session, user, case_id)
    require_writer(user)
    form, duplicate_of = _case_form(obj=case), None
    if request.method == "GET":
        form.version.data = case.version
    elif form.validate_on_submit():
        try:
            edited = edit_case(db.session, current_actor(), user, case, form.person_data(),
                               form.version_number(), local_today(), reason=form.change_reason.data or None)
            db.session.commit()
        except (StaleCase, StaleDataError):
            return _conflict("cases/form.html", form, case_id, case=case)
        except DomainError as error:
            db.session.rollback()
            duplicate_of = _show_error(form, error)
        else:
            flash(_edit_message(edited), "success")
            return redirect(url_for("cases.show", case_id=case_id))
    page = render_template("cases/form.html", form=form, case=case, duplicate_of=duplicate_of)
    if request.method == "GET":
        _audit_numbers_shown(form, case, "edit")
    return page, 200 if request.method == "GET" else 422


@bp.route("/cases/<int:case_id>/actions/<trigger>", methods=["GET", "POST"])
@login_required
def act(case_id: int, trigger: str):
    user = acting_user()
    case = get_case(db.session, user, case_id)
    spec = TRANSITIONS.get(trigger) or abort(404)
    if user.role not in spec.roles:
        raise NotPermitted(_("Vai trò %(role)s không được thực hiện «%(action)s».", role=user.role.label, action=spec.label))
    if spec.form is None:
        abort(404)    # started by another screen (the edit form), never from a URL of its own
    form, duplicate_of = FORMS[trigger](case=case), None
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
            duplicate_of = _show_error(form, error)
        else:
            flash(_("Đã gửi đề xuất «%(action)s» chờ lãnh đạo phê duyệt.", action=spec.label) if proposal
                  else _("Đã thực hiện «%(action)s».", action=spec.label), "success")
            return redirect(url_for("cases.show", case_id=case_id))
    page = render_template("cases/action.html", form=form, case=case, spec=spec, states=STATES,
                           duplicate_of=duplicate_of)
    if request.method == "GET":
        _audit_numbers_shown(form, case, trigger)
    return page, 200 if request.method == "GET" else 422


def _audit_numbers_shown(form, case: Case, purpose: str) -> None:
    """A form prefilled with a full ID or account number shows it as a reveal does: audited, in a
    short writing transaction of its own after the page is rendered (nothing else is pending)."""
    fields = numbers_on_form(form.data)
    if not fields:
        return
    actor = current_actor()
    db.session.rollback()
    with write_intent():
        record_numbers_shown(db.session, actor, case, fields, purpose)
        db.session.commit()


def _case_form(**kwargs) -> CaseForm:
    communes = communes_in_scope(db.session, acting_user())
    villages = db.session.scalars(
        select(Village).where(Village.commune_id.in_([c.id for c in communes])).order_by(Village.name)).all()
    return CaseForm(communes=communes, villages=villages, **kwargs)


def _show_error(form, error: DomainError) -> int | None:
    """Put the refusal beside its field; returns the case a duplicate ID number belongs to when
    the user may open it (the page links it), else None."""
    field = form._fields.get(error.field or "")
    if field is not None:    # beside the field and in the form's summary of errors
        field.errors = [*field.errors, str(error.message)]
    else:
        flash(str(error.message), "error")
    return getattr(error, "visible_case_id", None)


def _edit_message(edited: Edit) -> str:
    if edited.proposal is None:
        return _("Đã lưu thay đổi.") if edited.saved else _("Không có gì thay đổi.")
    waiting = _("Thay đổi %(fields)s cần lãnh đạo khác phê duyệt: đã gửi đề xuất, hồ sơ giữ nguyên các thông tin "
                "này cho đến khi được duyệt.", fields=four_eyes.labels(edited.held))
    return (_("Đã lưu các thay đổi khác.") + " " if edited.saved else "") + waiting


def _conflict(template: str, form, case_id: int, **context):
    """Someone saved the case first: keep this user's input on screen, overwrite nothing."""
    db.session.rollback()
    case = db.session.get(Case, case_id)
    flash(str(stale(case).message), "error")
    context.update(case=case, states=STATES)
    return render_template(template, form=form, **context), 409
