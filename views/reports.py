"""Reports on screen: the report for a period and a unit with its charts, its CSV and workbook,
the archive, and sign-off (issue 17).

A report asked for by period and unit is produced afresh, as of the end of the period; an archived
one is shown from what was stored, never recounted. Every download is audited (`report.download`).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext as _
from flask_login import login_required

from cases import audit
from cases.access import communes_in_scope
from cases.changes import local_today, reader_language
from cases.errors import DomainError
from cases.models import Province, User
from cases.reports import archive
from cases.reports.columns import BAND_LABELS, COLUMNS, COUNT, SHARE, TOTAL_LABEL, projection_text, value
from cases.reports.csv_export import report_csv
from cases.reports.figures import Band, Report, Row
from cases.reports.periods import HALF, YEAR, Period, add_months
from cases.reports.produce import Unit, find_unit, produce_report
from cases.reports.workbook import report_workbook
from cases.roles import Role
from extensions import db
from views.common import acting_user, current_actor
from views.present.charts import report_charts
from views.present.formats import share_percent as percent

bp = Blueprint("reports", __name__, url_prefix="/reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFICIAL_LANGUAGE = "vi"     # the archived workbook is the document sent upward


# --- the report produced now -------------------------------------------------------------------------

@bp.route("")
@login_required
def show():
    """The report for `?period=` (last month by default) and `?unit=` (the user's province, or
    first commune), produced now.

    :raise 403: the user reads no reports, or the unit lies outside their scope.
    """
    user = acting_user()
    archive.require_reader(user)
    try:
        period, unit = _asked(user, request.args)
    except DomainError as refusal:
        return _page(user, error=refusal.message, period_code=request.args.get("period", ""),
                     unit_code=request.args.get("unit", "")), 400
    report = produce_report(db.session, period, unit)
    return _page(user, report=report, period_code=period.code, unit_code=unit.code,
                 signed=archive.signed_for(db.session, unit.kind, unit.id, period.code))


@bp.route("/print")
@login_required
def print_view():
    """The table alone, with its heading, to print (A4 landscape: static/reports.css)."""
    user = acting_user()
    archive.require_reader(user)
    try:
        period, unit = _asked(user, request.args)
    except DomainError as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("reports.show"))
    return render_template("reports/print.html", report=produce_report(db.session, period, unit), **_helpers())


@bp.route("/workbook")
@login_required
def workbook():
    """The report's workbook, produced now (audited)."""
    report = _produced_for_download()
    if isinstance(report, Response):
        return report
    body = report_workbook(report, reader_language())
    _audit_download(report, "xlsx")
    return _attachment(body, XLSX, f"bao-cao-{report.unit_code}-{report.period}.xlsx")


@bp.route("/csv")
@login_required
def csv():
    """The report as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese), audited."""
    report = _produced_for_download()
    if isinstance(report, Response):
        return report
    body = ("\ufeff" + report_csv(report, reader_language())).encode("utf-8")
    _audit_download(report, "csv")
    return _attachment(body, "text/csv; charset=utf-8", f"bao-cao-{report.unit_code}-{report.period}.csv")


def _produced_for_download() -> Report | Response:
    user = acting_user()
    archive.require_reader(user)
    try:
        period, unit = _asked(user, request.args)
    except DomainError as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("reports.show"))
    return produce_report(db.session, period, unit)


def _asked(user: User, args) -> tuple[Period, Unit]:
    """The period and unit asked for (or the defaults), checked against the user's scope.

    :raise DomainError: a period or unit code that does not exist.
    :raise NotPermitted: the unit outside the user's scope.
    """
    period = Period.parse(args["period"]) if args.get("period") else Period.month_of(add_months(local_today(), -1))
    code = (args.get("unit") or "").strip() or _default_unit(user)
    if not code:
        raise DomainError(_("Bạn chưa được giao đơn vị nào để xem báo cáo."), "unit")
    unit = find_unit(db.session, code)
    archive.require_unit(user, unit.kind, unit.id, unit.province_id)
    return period, unit


def _default_unit(user: User) -> str:
    if user.province_id is not None:
        return db.session.get(Province, user.province_id).code
    return user.communes[0].code if user.communes else ""


# --- the archive ---------------------------------------------------------------------------------

@bp.route("/archive", methods=["POST"])
@login_required
def archive_now():
    """Produce the report, build its workbook and store both; a supervisor who ticked `sign` signs
    it at once. Redirects to the archived report.

    :raise 403: the user reads no reports, the unit lies outside their scope, or `sign` ticked by
        someone who may not sign it.
    """
    user = acting_user()
    archive.require_reader(user)
    try:
        period, unit = _asked(user, request.form)
        report = produce_report(db.session, period, unit)
        stored = archive.archive_report(db.session, report, report_workbook(report, OFFICIAL_LANGUAGE), user,
                                        current_actor())
        if request.form.get("sign"):
            archive.sign_report(db.session, current_actor(), user, stored.id)
        db.session.commit()
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("reports.show", period=request.form.get("period", ""), unit=request.form.get("unit", "")))
    flash(_("Đã lưu và ký duyệt báo cáo.") if stored.signed_at else _("Đã lưu báo cáo vào kho lưu trữ."), "success")
    return redirect(url_for("reports.archived", report_id=stored.id))


@bp.route("/archive")
@login_required
def archive_list():
    """Every report produced in the user's scope, signed or not, narrowed by `?period=` and `?unit=`."""
    user = acting_user()
    archive.require_reader(user)
    period, unit = request.args.get("period", "").strip(), request.args.get("unit", "").strip()
    page_number = request.args.get("page", "1")
    page_number = int(page_number) if page_number.isdigit() and 0 < len(page_number) < 6 else 1
    error, page = None, None
    try:
        if unit:
            found = find_unit(db.session, unit)
            archive.require_unit(user, found.kind, found.id, found.province_id)
        page = archive.archived_reports(db.session, user, period or None, unit or None, page_number)
    except DomainError as refusal:
        error = refusal.message
    return render_template("reports/archive.html", page=page, error=error, period=period, unit=unit,
                           units=_unit_choices(user), period_label=_period_label), 400 if error else 200


@bp.route("/archive/<int:report_id>")
@login_required
def archived(report_id: int):
    """An archived report as stored (never recounted), with who signed it and whether its hash holds.

    :raise 404: no such report in the user's scope.
    """
    user = acting_user()
    stored = archive.get_archived(db.session, user, report_id)
    report = archive.stored_report(stored)
    return _page(user, report=report, archived=stored, verified=archive.verify(stored),
                 may_sign=archive.may_sign(user, stored) and stored.signed_at is None,
                 producer=_name(stored.produced_by_id), signer=_name(stored.signed_by_id),
                 period_code=report.period, unit_code=report.unit_code)


@bp.route("/archive/<int:report_id>.xlsx")
@login_required
def archived_workbook(report_id: int):
    """The workbook as stored (audited)."""
    stored = archive.get_archived(db.session, acting_user(), report_id)
    audit.record(db.session, current_actor(), "report.download",
                 detail={"format": "xlsx", "period": stored.period, "unit": archive.stored_report(stored).unit_code,
                         "report": stored.id})
    db.session.commit()
    return _attachment(stored.workbook, XLSX, f"bao-cao-luu-{stored.id}-{stored.period}.xlsx")


@bp.route("/archive/<int:report_id>/sign", methods=["POST"])
@login_required
def sign(report_id: int):
    """Sign an archived report off.

    :raise 404: no such report in the user's scope. :raise 403: not a supervisor covering its unit.
    """
    try:
        archive.sign_report(db.session, current_actor(), acting_user(), report_id)
        db.session.commit()
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        flash(_("Đã ký duyệt báo cáo."), "success")
    return redirect(url_for("reports.archived", report_id=report_id))


# --- shared ----------------------------------------------------------------------------------------

def _page(user: User, **context):
    context.setdefault("report", None)
    charts = report_charts(context["report"]) if context["report"] is not None else (None, None)
    return render_template("reports/show.html", periods=_period_choices(context.get("period_code", "")),
                           units=_unit_choices(user), may_sign_now=user.role is Role.SUPERVISOR,
                           bars_svg=charts[0], trend_svg=charts[1], **_helpers(), **context)


def _helpers() -> dict:
    return {"columns": COLUMNS, "column_groups": _column_groups(), "cell": cell, "row_class": row_class,
            "band_label": band_label, "projection": lambda row: projection_text(row), "percent": percent,
            "period_label": _period_label, "period_of": Period.parse,
            "total_label": TOTAL_LABEL}


@dataclass(frozen=True)
class Cell:
    text: str
    css: str = ""


def cell(row: Row, column) -> Cell:
    """One cell as the page shows it: counts and shares in the reader's number format, the target's
    result and the band in colour and words."""
    raw = value(row, column.key)
    if column.kind == COUNT:
        return Cell(format_decimal(raw, "#,##0"), "num")
    if column.kind == SHARE:
        if raw is None:
            return Cell("—", "num")
        shown = format_decimal(raw, "+#,##0.0;-#,##0.0" if column.key == "change" else "#,##0.0")
        return Cell(shown, "num")
    if column.key == "met":
        return Cell(raw or "—", "" if row.met is None else ("met" if row.met else "behind"))
    if column.key == "band":
        return Cell(raw or "—", f"band band-{row.band.value}" if row.band else "")
    return Cell(raw or "—")


def _period_label(code: str) -> str:
    return Period.parse(code).label


def row_class(row: Row) -> str:
    return "behind" if row.met is False else ""


def band_label(band: Band | None) -> str:
    return str(BAND_LABELS[band]) if band else "—"


def _column_groups() -> list[tuple[object, int]]:
    """The first header line: each group heading with the number of columns it spans."""
    groups: list[list] = []
    for column in COLUMNS:
        if groups and str(groups[-1][0]) == str(column.group):
            groups[-1][1] += 1
        else:
            groups.append([column.group, 1])
    return [(group, span) for group, span in groups]


def _period_choices(current: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Recent periods to pick, grouped: the last 24 months, the halves and years of the last three years."""
    today = local_today()
    months = [Period.month_of(add_months(today, -n)) for n in range(24)]
    years = range(today.year, today.year - 3, -1)
    halves = [Period(HALF, year, number) for year in years for number in (2, 1)
              if Period(HALF, year, number).first_day <= today]
    groups = [(_("Tháng"), months), (_("6 tháng"), halves), (_("Năm"), [Period(YEAR, y, 1) for y in years])]
    choices = [(str(label), [(p.code, p.label) for p in periods]) for label, periods in groups]
    known = {code for _label, options in choices for code, _text in options}
    if current and current not in known:
        try:
            asked = Period.parse(current)
            choices.insert(0, (_("Kỳ đã chọn"), [(asked.code, asked.label)]))
        except DomainError:
            pass
    return choices


def _unit_choices(user: User) -> list[tuple[str, str]]:
    """The user's province (for a province user) and the communes in their scope, by code."""
    units = []
    if user.province_id is not None:
        province = db.session.get(Province, user.province_id)
        units.append((province.code, _("%(name)s (cả tỉnh)", name=province.name)))
    units += [(c.code, c.name) for c in communes_in_scope(db.session, user)]
    return units


def _name(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user.full_name if user else None


def _audit_download(report: Report, kind: str) -> None:
    audit.record(db.session, current_actor(), "report.download",
                 detail={"format": kind, "period": report.period, "unit": report.unit_code})
    db.session.commit()


def _attachment(body: bytes, mimetype: str, name: str) -> Response:
    # An ASCII file name: every browser keeps it as it is.
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"',
                                                      "Cache-Control": "no-store"})
