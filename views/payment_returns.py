"""A provider's return for a signed payment list (issue 18, item 3): the upload form, which becomes
a list job followed on the lists pages (progress, preview, confirm, summary), and the rows that
matched no line, each resolved by hand with a note (audited)."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from cases.changes import utcnow
from cases.errors import DomainError, NotPermitted
from cases.lists import jobs
from cases.models import PaymentList, PaymentProvider, User
from cases.models.lists import ListJob, ListKind
from cases.payments.return_desk import open_exceptions, resolve_exception, upload_return
from cases.payments.returns import may_import
from cases.roles import Role
from extensions import db
from views.common import acting_user, current_actor

bp = Blueprint("payment_returns", __name__, url_prefix="/payments")
log = logging.getLogger(__name__)
READERS = (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR)
UPLOAD_BYTES = 26 * 1024 * 1024     # as the lists' form: check_file refuses past 25 MB with its message


@bp.record_once
def _allow_uploads(state) -> None:
    # Before CSRFProtect's hook reads the body under the app-wide limit (views/lists.py does the same).
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


def _raise_upload_limit() -> None:
    if request.endpoint == "payment_returns.index" and request.method == "POST":
        request.max_content_length = current_app.config.get("LIST_MAX_UPLOAD_BYTES", UPLOAD_BYTES)


def _list_in_scope(user: User, list_id: int) -> PaymentList:
    """:raise 403: not a reader of a whole province. :raise 404: no such list in the user's province."""
    if not user.is_active or user.role not in READERS or user.province_id is None:
        raise NotPermitted(_("Danh sách chi trả của cả tỉnh chỉ dành cho cán bộ, lãnh đạo và kiểm tra cấp tỉnh."))
    plist = db.session.get(PaymentList, list_id)
    if plist is None or plist.province_id != user.province_id:
        abort(404)
    return plist


@bp.route("/<int:list_id>/return", methods=["GET", "POST"])
@login_required
def index(list_id: int):
    """The list's returns imported so far and the rows waiting to be resolved; a POST uploads a
    return and goes to its job's page."""
    user = acting_user()
    plist = _list_in_scope(user, list_id)
    error, status = None, 200
    if request.method == "POST":
        if not may_import(user, plist):
            raise NotPermitted(_("Chỉ cán bộ và lãnh đạo cấp tỉnh của danh sách được nhập tệp trả về."))
        upload = request.files.get("file")
        try:
            job = upload_return(db.session, current_actor(), user, plist.id, upload.filename if upload else "",
                                upload.read() if upload else b"", utcnow())
            db.session.commit()
        except DomainError as refusal:
            db.session.rollback()
            error, status = refusal.message, 400
        else:
            log.info("payment return job %d uploaded for list %d", job.id, plist.id)
            return redirect(url_for("lists.show", job_id=job.id))
    returns = db.session.scalars(select(ListJob).where(ListJob.payment_list_id == plist.id,
                                                       ListJob.kind == ListKind.PAYMENT_RETURN)
                                 .order_by(ListJob.id.desc())).all()
    return render_template("payment_returns/index.html", plist=plist, provider=db.session.get(PaymentProvider,
                                                                                              plist.provider_id),
                           returns=returns, exceptions=open_exceptions(db.session, plist.id),
                           may_import=may_import(user, plist), error=error, progress=jobs.progress,
                           kind=jobs.all_kinds()[ListKind.PAYMENT_RETURN]), status


@bp.route("/<int:list_id>/return/exceptions/<int:exception_id>/resolve", methods=["POST"])
@login_required
def resolve(list_id: int, exception_id: int):
    """Mark a row that matched no line as resolved, with a note. :raise 404: not this list's row."""
    user = acting_user()
    plist = _list_in_scope(user, list_id)
    from cases.models import ReturnException
    found = db.session.get(ReturnException, exception_id)
    if found is None or found.list_id != plist.id:
        abort(404)
    try:
        resolve_exception(db.session, current_actor(), user, exception_id, request.form.get("note", ""))
        db.session.commit()
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        flash(_("Đã ghi nhận dòng trả về được xử lý."), "success")
    return redirect(url_for("payment_returns.index", list_id=plist.id))
