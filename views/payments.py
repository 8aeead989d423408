"""The month's payment lists (issue 18): each provider's list drafted, checked, signed off and
downloaded (audited). A list spans the province, so its pages are for the province's users."""
from __future__ import annotations

import logging
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from cases.changes import local_today, utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import Commune, LineChange, PaymentLine, PaymentList, PaymentListState, PaymentProvider, User
from cases.payments.export import list_workbook
from cases.payments.lists import draft_list, may_draft, may_sign, record_download, sign_list
from cases.reports.periods import Period, add_months
from cases.roles import Role
from extensions import db
from views.common import acting_user, current_actor

bp = Blueprint("payments", __name__, url_prefix="/payments")
log = logging.getLogger(__name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READERS = (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR)
PAGE_SIZE = 100


def _province_reader(user: User) -> int:
    """The user's province. :raise NotPermitted: not a reader with a whole province."""
    if not user.is_active or user.role not in READERS or user.province_id is None:
        raise NotPermitted(_("Danh sách chi trả của cả tỉnh chỉ dành cho cán bộ, lãnh đạo và kiểm tra cấp tỉnh."))
    return user.province_id


def _month(text: str | None) -> date:
    """`YYYY-MM`, default next month (a list is sent before the 25th for the month after)."""
    if not text:
        return add_months(local_today().replace(day=1), 1)
    period = Period.parse(text)
    if period.kind != "month":
        raise DomainError(_("Hãy chọn một tháng (YYYY-MM)."), "month")
    return period.first_day


@bp.route("")
@login_required
def index():
    """Each provider of the province and where its list for the month stands."""
    user = acting_user()
    province_id = _province_reader(user)
    try:
        month = _month(request.args.get("month"))
    except DomainError as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("payments.index"))
    providers = db.session.scalars(select(PaymentProvider).where(PaymentProvider.province_id == province_id)
                                   .order_by(PaymentProvider.name)).all()
    lists = {p.provider_id: p for p in db.session.scalars(select(PaymentList).where(
        PaymentList.province_id == province_id, PaymentList.month == month).order_by(PaymentList.id))}
    return render_template("payments/index.html", month=month, providers=providers, lists=lists,
                           may_draft=may_draft(user, province_id), previous=add_months(month, -1),
                           following=add_months(month, 1))


@bp.route("/draft", methods=["POST"])
@login_required
def draft():
    """Compute (or recompute) a provider's draft for the month."""
    user = acting_user()
    province_id = _province_reader(user)
    if not may_draft(user, province_id):
        raise NotPermitted(_("Chỉ cán bộ và lãnh đạo cấp tỉnh được lập danh sách chi trả."))
    provider = db.session.get(PaymentProvider, request.form.get("provider", type=int) or 0)
    if provider is None or provider.province_id != province_id:
        abort(404)
    try:
        month = _month(request.form.get("month"))
        plist = draft_list(db.session, current_actor(), user, provider, month)
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("payments.index", month=request.form.get("month") or None))
    db.session.commit()
    log.info("payment list %s drafted for provider %s, %s", plist.id, provider.short_name, month)
    flash(_("Đã lập danh sách chi trả nháp; hãy kiểm tra rồi trình ký duyệt."), "success")
    return redirect(url_for("payments.show", list_id=plist.id))


def _list_in_scope(user: User, list_id: int) -> PaymentList:
    province_id = _province_reader(user)
    plist = db.session.get(PaymentList, list_id)
    if plist is None or plist.province_id != province_id:
        abort(404)
    return plist


@bp.route("/<int:list_id>")
@login_required
def show(list_id: int):
    """A list: its totals, its differences against last month, its lines page by page."""
    user = acting_user()
    plist = _list_in_scope(user, list_id)
    page = max(request.args.get("page", 1, type=int), 1)
    shown = request.args.get("show", "changes")
    lines = select(PaymentLine).where(PaymentLine.list_id == plist.id)
    if shown == "changes":
        lines = lines.where(PaymentLine.change != LineChange.SAME)
    total = db.session.scalar(select(func.count()).select_from(lines.subquery()))
    rows = db.session.scalars(lines.order_by(PaymentLine.change, PaymentLine.id)
                              .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    changes = dict(db.session.execute(select(PaymentLine.change, func.count()).where(PaymentLine.list_id == plist.id)
                                      .group_by(PaymentLine.change)).all())
    communes = dict(db.session.execute(select(Commune.id, Commune.name).where(Commune.province_id == plist.province_id)).all())
    return render_template("payments/show.html", plist=plist, provider=db.session.get(PaymentProvider, plist.provider_id),
                           rows=rows, total=total, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
                           shown=shown, changes=changes, communes=communes, may_sign=may_sign(user, plist),
                           signer=db.session.get(User, plist.signed_by_id) if plist.signed_by_id else None,
                           drafter=db.session.get(User, plist.drafted_by_id) if plist.drafted_by_id else None)


@bp.route("/<int:list_id>/sign", methods=["POST"])
@login_required
def sign(list_id: int):
    """Sign off a draft: it is frozen, its workbook stored."""
    user = acting_user()
    plist = _list_in_scope(user, list_id)
    if not may_sign(user, plist):
        raise NotPermitted(_("Chỉ lãnh đạo cấp tỉnh được ký duyệt danh sách chi trả."))
    now = utcnow()
    try:
        workbook = list_workbook(db.session, plist, signer=user, signed_at=now)
        sign_list(db.session, current_actor(), user, plist.id, workbook, now)
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("payments.show", list_id=list_id))
    db.session.commit()
    flash(_("Đã ký duyệt danh sách chi trả; có thể tải tệp gửi tổ chức chi trả."), "success")
    return redirect(url_for("payments.show", list_id=list_id))


@bp.route("/<int:list_id>.xlsx")
@login_required
def workbook(list_id: int):
    """The signed list's stored workbook, for the provider (audited: it names people and accounts)."""
    user = acting_user()
    plist = _list_in_scope(user, list_id)
    if plist.state is not PaymentListState.SIGNED:
        flash(_("Danh sách chưa được ký duyệt nên chưa tải được."), "error")
        return redirect(url_for("payments.show", list_id=list_id))
    provider = db.session.get(PaymentProvider, plist.provider_id)
    record_download(db.session, current_actor(), plist, provider)
    db.session.commit()
    name = f"danh-sach-chi-tra-{provider.short_name}-{plist.month:%Y-%m}.xlsx"
    return Response(plist.workbook, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.app_context_processor
def _labels():
    from cases.payments.workbook import CHANGE_LABELS, REASON_LABELS, SAME_LABEL

    # A line the same as last month's is blank in the workbook; on screen its count is labelled.
    return {"change_label": lambda value: str(CHANGE_LABELS.get(getattr(value, "value", value), SAME_LABEL)),
            "reason_label": lambda value: str(REASON_LABELS.get(value, value))}
