"""Lists in and out (issue 16): the upload form and the user's jobs, a job's page (progress, then
the preview to confirm, then the summary), its progress as JSON, the rejected rows' workbook, the
blank template and the police's list. The web app only enqueues and reads; the scheduler's worker
previews and imports (cases.lists.jobs)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.exc import NoResultFound
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import communes_in_scope, may_see_commune
from cases.changes import local_today, utcnow
from cases.errors import DomainError
from cases.lists import jobs
from cases.lists.police_export import police_list_workbook
from cases.models import Commune, User
from cases.models.lists import ListJobState, ListKind
from cases.organisation import commune_by_code
from cases.registration import may_register
from extensions import db
from forms.lists import UploadForm
from views.common import acting_user, current_actor

bp = Blueprint("lists", __name__, url_prefix="/lists")
log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Above check_file's own limit (25 MB) by the form's other parts, so the file is refused by its
# message, not by a bare 413.
UPLOAD_BYTES = 26 * 1024 * 1024


@bp.record_once
def _allow_uploads(state) -> None:
    # First of the app's before-request hooks: CSRFProtect reads the body in its own hook, under
    # the app-wide MAX_CONTENT_LENGTH (2 MB), before any hook of this blueprint would run.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


def _raise_upload_limit() -> None:
    if request.endpoint == "lists.index" and request.method == "POST":
        request.max_content_length = current_app.config.get("LIST_MAX_UPLOAD_BYTES", UPLOAD_BYTES)


def _form(user) -> UploadForm:
    form = UploadForm()
    form.kind.choices = [(kind.value, str(k.label)) for kind, k in jobs.all_kinds().items()]
    communes = [(c.id, c.name) for c in communes_in_scope(db.session, user)]
    whole = [("", _("Cả tỉnh (chỉ với kết quả xác minh của công an)"))] if user.province_id is not None else []
    form.commune.choices = whole + communes
    return form


@bp.route("", methods=["GET", "POST"])
@login_required
def index():
    """The upload form and the jobs the user sees; a POST stores the list as a job."""
    user = acting_user()
    form = _form(user)
    status = 200
    if request.method == "POST":
        job_id = _upload(user, form)
        if job_id is not None:
            return redirect(url_for("lists.show", job_id=job_id))
        status = 400
    return render_template("lists/index.html", form=form, jobs=jobs.jobs_of(db.session, user),
                           may_upload=may_register(user), labels=jobs.STATE_LABELS, kinds=jobs.all_kinds(),
                           communes=communes_in_scope(db.session, user), whole_province=user.province_id is not None,
                           progress=jobs.progress), status


def _upload(user, form: UploadForm) -> int | None:
    """The new job's id, or None with the refusal on the form's field."""
    form.validate()
    upload = request.files.get("file")
    try:
        kind = _kind(form.kind.data)
        if form.commune.errors:
            raise DomainError(_("Xã/phường không thuộc phạm vi bạn quản lý."), "commune")
        data = upload.read() if upload else b""
        job = jobs.enqueue(db.session, current_actor(), user, kind, form.commune.data, upload.filename if upload else "",
                           data, utcnow())
        db.session.commit()
    except DomainError as refusal:
        db.session.rollback()
        getattr(form, refusal.field or "file", form.file).errors = [refusal.message]
        return None
    log.info("list job %d uploaded by user %s", job.id, user.id)
    return job.id


def _kind(value: str | None) -> ListKind:
    try:
        return ListKind(value)
    except ValueError:
        raise DomainError(_("Hãy chọn loại danh sách."), "kind") from None


@bp.route("/<int:job_id>")
@login_required
def show(job_id: int):
    user = acting_user()
    job = jobs.get_job(db.session, user, job_id)
    kind = jobs.all_kinds().get(job.kind)
    commune = db.session.get(Commune, job.commune_id) if job.commune_id else None
    return render_template("lists/show.html", job=job, kind=kind, commune=commune, owner=db.session.get(User, job.owner_id),
                           progress=jobs.progress(job),
                           preview=jobs.preview_of(job), may_decide=jobs.may_decide(user, job),
                           labels=jobs.STATE_LABELS, shown=SHOWN_REJECTED, States=ListJobState)


SHOWN_REJECTED = 200


@bp.route("/<int:job_id>/progress")
@login_required
def progress(job_id: int):
    return jsonify(jobs.progress(jobs.get_job(db.session, acting_user(), job_id)))


@bp.route("/<int:job_id>/confirm", methods=["POST"])
@login_required
def confirm(job_id: int):
    """Import the list as previewed. :raise 404: not in the user's sight. :raise 403: neither its
    owner nor a supervisor of its scope."""
    return _decide(job_id, jobs.confirm, _("Đã xác nhận: danh sách đang được nhập."))


@bp.route("/<int:job_id>/cancel", methods=["POST"])
@login_required
def cancel(job_id: int):
    """Drop the list after its preview. Raises as `confirm`."""
    return _decide(job_id, jobs.cancel, _("Đã huỷ danh sách; tệp đã tải lên được xoá."))


def _decide(job_id: int, service, done: str):
    user = acting_user()
    job = jobs.get_job(db.session, user, job_id)
    try:
        service(db.session, current_actor(), user, job)
        db.session.commit()
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("lists.show", job_id=job_id))


@bp.route("/<int:job_id>/rejected.xlsx")
@login_required
def rejected(job_id: int):
    """The rejected rows as the file had them, plus a reason column: personal data, audited."""
    user = acting_user()
    job = jobs.get_job(db.session, user, job_id)
    body = job.rejected_workbook
    if body is None:
        raise NotFound()
    audit.record(db.session, current_actor(), "list_job.download_rejected", detail={"job": job.id})
    db.session.commit()
    return _xlsx(body, f"dong-bi-loai-{job_id}.xlsx")


@bp.route("/template.xlsx")
@login_required
def template():
    """The blank list of a kind (`?kind=`, the beneficiary list by default)."""
    try:
        kind = ListKind(request.args.get("kind") or ListKind.BENEFICIARIES.value)
    except ValueError:
        abort(404)
    body = jobs.template_of(kind)
    if body is None:
        abort(404)
    return _xlsx(body, f"mau-{kind.value.replace('_', '-')}.xlsx")


@bp.route("/police-list")
@login_required
def police_list():
    """The cases of a commune (`?commune=CODE`), or of the user's whole province, awaiting the
    police's check of their identity, as the police ask for them (audited by the builder).

    :raise 404: a commune unknown or outside the user's scope, or no province for a commune user.
    :raise 403: the user's role does not send lists to the police.
    """
    user = acting_user()
    code = (request.args.get("commune") or "").strip()
    commune = _commune(code)
    if code and (commune is None or not may_see_commune(user, commune)):
        raise NotFound()
    if commune is None and user.province_id is None:
        raise NotFound()
    province_id = commune.province_id if commune else user.province_id
    try:
        body, _count = police_list_workbook(db.session, current_actor(), user, commune.id if commune else None,
                                            province_id, local_today())
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("lists.index"))
    db.session.commit()
    return _xlsx(body, f"de-nghi-xac-thuc-{code or 'tinh'}.xlsx")


def _commune(code: str) -> Commune | None:
    if not (code.isascii() and code.isdigit() and len(code) == 5):
        return None
    try:
        return commune_by_code(db.session, code)
    except NoResultFound:
        return None


def _xlsx(body: bytes, name: str) -> Response:
    # An ASCII file name: every browser keeps it as it is.
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                  "Cache-Control": "no-store"})
