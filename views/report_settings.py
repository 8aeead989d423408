"""The administrator's page for a province's report targets and bands (issue 17)."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from cases.errors import DomainError
from cases.models import Province
from cases.reports.target_admin import (TARGET_GROUP_LABELS, communes_for, keeps_whole_province, manageable_provinces, province_for,
                                        remove_target, require_target_admin, set_bands, set_target, share_text,
                                        target_text, targets_of)
from cases.reports.targets import thresholds
from extensions import db
from forms.report_settings import BandsForm, TargetForm
from views.common import acting_user, current_actor

bp = Blueprint("report_settings", __name__)
log = logging.getLogger(__name__)


@bp.route("/admin/report-targets", methods=["GET", "POST"])
@login_required
def index():
    admin = acting_user()
    province = _province(admin)
    if province is None:
        return render_template("reports/settings.html", province=None,
                               provinces=manageable_provinces(db.session, admin)), \
            200 if request.method == "GET" else 422
    form = _target_form(admin, province)
    if form.validate_on_submit():
        try:
            target = set_target(db.session, current_actor(), admin, province.id, form.commune.data, form.group.data,
                                form.share.data, form.due_on.data)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            said = target_text(db.session, target)
            db.session.commit()
            log.info("admin %s set a report target in province %s: %s", admin.username, province.code, said)
            flash(_("Đã đặt chỉ tiêu %(share)s cho %(unit)s (%(group)s), hạn %(due)s.", **said), "success")
            return redirect(url_for("report_settings.index", province=province.code))
    return _page(admin, province, form, _bands_form(province)), 200 if request.method == "GET" else 422


@bp.route("/admin/report-targets/bands", methods=["POST"])
@login_required
def bands():
    admin = acting_user()
    province = _province(admin)
    if province is None:
        return redirect(url_for("report_settings.index"))
    form = BandsForm()
    if form.validate_on_submit():
        try:
            set_bands(db.session, current_actor(), admin, province.id, form.high_from.data, form.average_from.data)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            log.info("admin %s set the report bands of province %s", admin.username, province.code)
            flash(_("Đã lưu ngưỡng xếp loại: “Cao” từ %(high)s, “Trung bình” từ %(average)s.",
                    high=share_text(form.high_from.data), average=share_text(form.average_from.data)), "success")
            return redirect(url_for("report_settings.index", province=province.code))
    return _page(admin, province, _target_form(admin, province, formdata=None), form), 422


@bp.route("/admin/report-targets/<int:target_id>/delete", methods=["POST"])
@login_required
def remove(target_id: int):
    admin = acting_user()
    target = remove_target(db.session, current_actor(), admin, target_id)
    said = target_text(db.session, target)
    province = db.session.get(Province, target.province_id)
    db.session.commit()
    log.info("admin %s removed a report target of province %s: %s", admin.username, province.code, said)
    flash(_("Đã xoá chỉ tiêu %(share)s của %(unit)s (%(group)s), hạn %(due)s.", **said), "success")
    return redirect(url_for("report_settings.index", province=province.code))


def _province(admin) -> Province | None:
    """The province asked for in `?province=`, or the administrator's own.

    :raise NotPermitted: (403) not an administrator, or not of that province.
    """
    require_target_admin(admin)
    return province_for(db.session, admin, request.args.get("province"))


def _target_form(admin, province: Province, **kwargs) -> TargetForm:
    return TargetForm(communes=communes_for(db.session, admin, province.id),
                      whole_province=keeps_whole_province(admin, province.id), **kwargs)


def _bands_form(province: Province) -> BandsForm:
    high, average = thresholds(db.session, province.id)
    return BandsForm(formdata=None, high_from=high, average_from=average)


def _show_error(form, error: DomainError) -> None:
    field = form._fields.get(error.field or "")
    if field is not None:
        field.errors = [*field.errors, error.message]
    flash(error.message, "error")


def _page(admin, province: Province, form: TargetForm, bands_form: BandsForm):
    own_communes = {c.id for c in communes_for(db.session, admin, province.id)}
    return render_template("reports/settings.html", province=province, form=form, bands_form=bands_form,
                           own_communes=own_communes, limits=thresholds(db.session, province.id),
                           lines=targets_of(db.session, province.id), group_labels=TARGET_GROUP_LABELS,
                           whole_province=keeps_whole_province(admin, province.id),
                           provinces=manageable_provinces(db.session, admin))
