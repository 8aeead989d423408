"""The administrator's working calendar: the year's public holidays and the announced swaps."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from cases.calendar import YEARS, forget_working_calendar, public_holidays
from cases.changes import day_text, local_today
from cases.errors import DomainError
from cases.working_calendar_admin import WEEKDAY_NAMES, add_swap, remove_swap, require_calendar_admin, swaps_of
from extensions import db
from forms.calendar import SwapForm
from views.common import acting_user, current_actor

bp = Blueprint("calendar", __name__)
log = logging.getLogger(__name__)


@bp.route("/admin/calendar", methods=["GET", "POST"])
@login_required
def index():
    admin = acting_user()
    require_calendar_admin(admin)
    form = SwapForm()
    if form.validate_on_submit():
        try:
            swap = add_swap(db.session, current_actor(), admin, form.day.data, form.kind.data, form.note.data)
        except DomainError as error:
            db.session.rollback()
            form.day.errors = [*form.day.errors, error.message]
            flash(error.message, "error")
        else:
            db.session.commit()
            forget_working_calendar()   # again after the commit: no other request cached it half-done
            log.info("admin %s added a calendar swap: %s %s", admin.username, swap.day, swap.kind.value)
            flash(_("Đã thêm ngày hoán đổi %(day)s (%(kind)s).", day=day_text(swap.day), kind=swap.kind.label),
                  "success")
            return redirect(url_for("calendar.index", year=swap.day.year))
    year = form.day.data.year if form.day.data and form.day.data.year in YEARS else _year()
    return _page(year, form), 200 if request.method == "GET" else 422


@bp.route("/admin/calendar/<int:swap_id>/delete", methods=["POST"])
@login_required
def remove(swap_id: int):
    admin = acting_user()
    swap = remove_swap(db.session, current_actor(), admin, swap_id)
    db.session.commit()
    forget_working_calendar()
    log.info("admin %s removed the calendar swap of %s", admin.username, swap.day)
    flash(_("Đã xoá ngày hoán đổi %(day)s.", day=day_text(swap.day)), "success")
    return redirect(url_for("calendar.index", year=swap.day.year))


def _year() -> int:
    """The year asked for in `?year=`, else this year."""
    raw = request.args.get("year", "")
    if raw.isascii() and raw.isdigit() and len(raw) == 4 and int(raw) in YEARS:
        return int(raw)
    return local_today().year


def _page(year: int, form: SwapForm):
    return render_template("calendar/index.html", year=year, form=form, weekdays=WEEKDAY_NAMES,
                           holidays=public_holidays(year), swaps=swaps_of(db.session, year),
                           years=(year - 1 if year - 1 in YEARS else None, year + 1 if year + 1 in YEARS else None))
