"""The home page, the case queues with their filters and search, the ID-number search and the
bulk actions (on the cases blueprint: their endpoints are cases.*)."""
from __future__ import annotations

from datetime import date

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from cases import bulk, reference
from cases.access import communes_in_scope
from cases.changes import local_today
from cases.errors import DomainError
from cases.home import home_of
from cases.ids import parse_id
from cases.models import PaymentProvider, User, Village
from cases.models.case import IdentitySource
from cases.queue_filters import DEADLINES, parse_filter
from cases.queues import queue_page
from cases.registration import may_register, require_writer
from cases.roles import Role
from cases.search import case_number, find_by_national_id
from extensions import db
from views.cases import bp
from views.common import acting_user, current_actor
from views.present.labels import IDENTITY_SOURCE_LABELS, POLICY_GROUP_LABELS
from workflow.table import STATES


@bp.route("/")
@login_required
def home():
    user = acting_user()
    if user.role is Role.ADMIN:
        return render_template("home.html", user=user, home=None, states=STATES)
    return render_template("home.html", user=user, home=home_of(db.session, user, local_today()), states=STATES)


@bp.route("/cases")
@login_required
def queue():
    user, chosen = acting_user(), parse_filter(request.args)
    number = case_number(chosen.q) if chosen.q else None
    page = queue_page(db.session, user, chosen, local_today(), after=request.args.get("after"),
                      before=request.args.get("before"), page_number=parse_id(request.args.get("page")) or 1,
                      size=current_app.config["QUEUE_PAGE_SIZE"])
    if number is not None and len(page.rows) == 1 and page.rows[0].id == number:
        return redirect(url_for("cases.show", case_id=number))
    return render_template("cases/queue.html", page=page, chosen=chosen, number=number,
                           **_filter_options(user, chosen))


def _filter_options(user: User, chosen) -> dict:
    """The choices of the filter box: a fixed number of statements (communes, villages of the
    chosen commune, providers, officers to assign to)."""
    communes = communes_in_scope(db.session, user)
    commune_id = chosen.commune_id or (communes[0].id if len(communes) == 1 else None)
    villages = db.session.execute(select(Village.id, Village.name).where(Village.commune_id == (commune_id or 0))
                                  .order_by(Village.name)).all()
    provinces = {c.province_id for c in communes} or {0}
    providers = db.session.execute(select(PaymentProvider.id, PaymentProvider.name)
                                   .where(PaymentProvider.province_id.in_(provinces))
                                   .order_by(PaymentProvider.name)).all()
    return dict(states=STATES, communes=communes, villages=villages, providers=providers,
                groups=POLICY_GROUP_LABELS, categories=list(reference.categories().values()),
                deadlines=DEADLINES, officers=bulk.assignable_officers(db.session, commune_id),
                sources=IDENTITY_SOURCE_LABELS, reasons=reference.suspension_reasons(), bulk_max=bulk.MAX_CASES, today=local_today(), may_act=_may_act(user))


def _may_act(user: User) -> bool:
    return may_register(user)




@bp.route("/cases/search-id", methods=["POST"])
@login_required
def search():
    """The ID-number search: by POST, so the number reaches no URL, history or access log."""
    user = acting_user()
    number = "".join((request.form.get("national_id") or "").split())
    if not (number.isascii() and number.isdigit() and len(number) in (9, 12)):
        flash(_("Số CCCD gồm 12 chữ số (CMND cũ: 9 chữ số)."), "error")
        return redirect(url_for("cases.queue"))
    found = find_by_national_id(db.session, user, number)
    return render_template("cases/id_search.html", found=found, states=STATES)


@bp.route("/cases/bulk", methods=["POST"])
@login_required
def bulk_action():
    user = acting_user()
    require_writer(user)
    action = request.form.get("action")
    back = request.form.get("back") or url_for("cases.queue")
    back = back if back.startswith("/cases") else url_for("cases.queue")
    try:
        ids = bulk.checked_ids(request.form.getlist("case"))
        outcomes = _run(action, user, ids)
    except DomainError as refusal:
        flash(refusal.message, "error")
        return redirect(back)
    db.session.commit()
    return render_template("cases/bulk_result.html", outcomes=outcomes, action=bulk.ACTION_LABELS[action], back=back,
                           done=sum(o.done for o in outcomes))


def _run(action: str | None, user: User, ids: list[int]) -> list[bulk.Outcome]:
    """Read the action's own fields and run it.

    :raise DomainError: an unknown action or a missing or malformed field (nothing done).
    """
    form, actor = request.form, current_actor()
    if action == "verify":
        source = _choice(IdentitySource, form.get("source"), _("Hãy chọn nguồn xác thực."))
        verified_on = _date(form.get("verified_on"), _("Ngày xác thực không hợp lệ."))
        if verified_on > local_today():
            raise DomainError(_("Ngày xác thực không được sau ngày hôm nay."))
        return bulk.record_identity_verified(db.session, actor, user, ids, source, verified_on)
    if action == "assign":
        officer_id = parse_id(form.get("officer"))
        officer = db.session.get(User, officer_id) if officer_id else None
        if form.get("officer") and officer is None:
            raise DomainError(_("Không có cán bộ này."))
        return bulk.assign(db.session, actor, user, ids, officer)
    if action == "suspend":
        month = _date(f"{form.get('effective_month', '')}-01", _("Tháng có hiệu lực không hợp lệ (MM/YYYY)."))
        code, decision = (form.get("reason_code") or "").strip(), (form.get("decision_number") or "").strip()[:60]
        if not code or not decision:
            raise DomainError(_("Cần chọn căn cứ pháp lý và ghi số quyết định."))
        return bulk.propose_suspension(db.session, actor, user, ids, code, month, decision,
                                       (form.get("note") or "").strip()[:500] or None)
    raise DomainError(_("Hãy chọn một thao tác."))


def _choice(enum_cls, value, message: str):
    try:
        return enum_cls(value)
    except ValueError:
        raise DomainError(message) from None


def _date(value: str | None, message: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise DomainError(message) from None

