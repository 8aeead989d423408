"""The monthly reports, on time (issue 17, item 7): last month's counts recorded
(`cases.reports.month_counts`), then last month's report for each province in use and each of its
communes with cases, produced, archived (unsigned) and announced by email to the supervisors who
sign them — before the due days of the letters (communes before the 13th, the
province before the 15th: `REPORT_DUE_DAY_COMMUNE`, `REPORT_DUE_DAY_PROVINCE`).

The scheduler runs it every day; a unit whose report for the month is already archived by the
scheduler is skipped, so a run after a stop catches up and a second run does nothing twice.
Flushes, never commits (the runner commits the reports, their emails and the run together).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import and_, insert, select
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.digests import one_line
from cases.models import (ArchivedReport, CaseCount, Commune, MailStatus, OutboxMessage, Province, UnitKind, User,
                          user_communes)
from cases.reports.month_counts import record_missing_months
from cases.reports.periods import Period, add_months
from cases.reports.produce import Unit, produce_report
from cases.roles import Role

KIND = "report"


@dataclass(frozen=True)
class Due:
    """When last month's reports are due, and whether one is late or waits for its signature."""
    period: Period
    commune_day: date
    province_day: date


def due(today: date) -> Due:
    """Last month's reports and their due days in this month."""
    config = current_app.config
    this_month = today.replace(day=1)
    return Due(Period.month_of(add_months(this_month, -1)),
               this_month.replace(day=int(config["REPORT_DUE_DAY_COMMUNE"])),
               this_month.replace(day=int(config["REPORT_DUE_DAY_PROVINCE"])))


def produce_monthly_reports(session: Session, today: date, base_url: str, now: datetime | None = None) -> dict:
    """Archive last month's report for every unit in use that the scheduler has not archived yet,
    and write one email per supervisor of the unit. Counts: "reports" produced, "already" done,
    "emails" written."""
    from cases.reports.archive import archive_report
    from cases.reports.workbook import report_workbook

    now = now or utcnow()
    if today.day > int(current_app.config["REPORT_DUE_DAY_PROVINCE"]):
        return {"reports": 0, "already": 0, "emails": 0, "months_recorded": 0}   # done, or late
    period = due(today).period
    recorded = record_missing_months(session, period.last_month, now=now)
    done = _archived(session, period)
    counts = {"reports": 0, "already": 0, "emails": 0, "months_recorded": len(recorded)}
    for unit in _units_in_use(session):
        if (unit.kind, unit.id) in done:
            counts["already"] += 1
            continue
        report = produce_report(session, period, unit, now)
        archived = archive_report(session, report, report_workbook(report), None)
        counts["reports"] += 1
        counts["emails"] += _announce(session, archived, unit, period, base_url, now)
    return counts


def _archived(session: Session, period: Period) -> set[tuple[str, int]]:
    rows = session.execute(select(ArchivedReport.unit_kind, ArchivedReport.unit_id).where(
        ArchivedReport.period == period.code, ArchivedReport.produced_by_id.is_(None)))
    return {(kind.value, unit_id) for kind, unit_id in rows}


def _units_in_use(session: Session) -> list[Unit]:
    """Each province with a case, then its communes with a case (from the maintained counts)."""
    used = select(CaseCount.commune_id).where(CaseCount.n > 0).distinct()
    communes = session.execute(select(Commune, Province).join(Province).where(Commune.id.in_(used))
                               .order_by(Province.code, Commune.code)).all()
    units, seen = [], set()
    for commune, province in communes:
        if province.id not in seen:
            seen.add(province.id)
            units.append(Unit("province", province.id, province.code, province.name, province.id, province.name))
        units.append(Unit("commune", commune.id, commune.code, commune.name, province.id,
                          province.name))
    return units


def supervisors_of(session: Session, unit_kind: str, unit_id: int, province_id: int) -> list[User]:
    """The active supervisors who sign a unit's report: the province's for a province report; the
    commune's own for a commune report."""
    supervisor = and_(User.role == Role.SUPERVISOR, User.active.is_(True))
    if unit_kind == UnitKind.PROVINCE.value:
        where = User.province_id == province_id
    else:
        where = User.id.in_(select(user_communes.c.user_id).where(user_communes.c.commune_id == unit_id))
    return list(session.scalars(select(User).where(supervisor, where).order_by(User.id)))


def _announce(session: Session, archived: ArchivedReport, unit: Unit, period: Period, base_url: str,
              now: datetime) -> int:
    base_url = base_url.rstrip("/")
    domain = urlsplit(base_url).hostname or "ansinh.local"
    link = f"{base_url}/reports/archive/{archived.id}"
    messages = []
    for user in supervisors_of(session, unit.kind, unit.id, unit.province_id):
        if not user.email:
            continue
        language = user.locale if user.locale in current_app.config["LANGUAGES"] else "vi"
        with force_locale(language):
            subject = _("Báo cáo %(period)s của %(unit)s đã sẵn sàng để ký duyệt", period=period.label,
                        unit=unit.name)
            body = "\n".join([
                _("Kính gửi %(name)s,", name=user.full_name), "",
                _("Báo cáo kết quả chi trả không dùng tiền mặt %(period)s của %(unit)s đã được lập tự động, "
                  "số liệu tính đến hết ngày cuối kỳ.", period=period.label, unit=unit.name),
                _("Xem, tải bảng tính và ký duyệt tại: %(link)s", link=link), "",
                _("Thư này được gửi tự động từ hệ thống AnSinh."),
            ])
        messages.append({
            "kind": KIND, "recipient_id": user.id, "to_address": one_line(user.email), "subject": one_line(subject),
            "body_text": body, "message_id": f"<report-{archived.period}-{unit.kind}-{unit.id}-{user.id}@{domain}>",
            "created_at": now, "status": MailStatus.PENDING, "attempts": 0, "next_attempt_at": now})
    if messages:
        session.connection().execute(insert(OutboxMessage.__table__), messages)
    return len(messages)


@dataclass(frozen=True)
class Notice:
    """Last month's report of one of a supervisor's units, still to be done."""
    unit_name: str
    period: Period
    due_on: date
    late: bool                   # past its due day
    report_id: int | None        # the newest archived, unsigned; None: not produced yet


def notices_for(session: Session, user: User, today: date) -> list[Notice]:
    """For a supervisor: last month's report of their province (a province supervisor) or of each
    of their communes, where it is not signed yet — late once its due day has come."""
    if user.role is not Role.SUPERVISOR or not user.is_active:
        return []
    when = due(today)
    if user.province_id is not None:
        province = session.get(Province, user.province_id)
        units = [(UnitKind.PROVINCE.value, province.id, province.name, when.province_day)]
    else:
        units = [(UnitKind.COMMUNE.value, c.id, c.name, when.commune_day) for c in user.communes]
    if not units:
        return []
    archived: dict[tuple[str, int], list[ArchivedReport]] = {}
    for report in session.scalars(select(ArchivedReport).where(
            ArchivedReport.period == when.period.code,
            ArchivedReport.unit_id.in_([u[1] for u in units])).order_by(ArchivedReport.id.desc())):
        archived.setdefault((report.unit_kind.value, report.unit_id), []).append(report)
    notices = []
    for kind, unit_id, name, due_on in units:
        reports = archived.get((kind, unit_id), [])
        if any(r.signed_at is not None for r in reports):
            continue
        notices.append(Notice(name, when.period, due_on, today >= due_on, reports[0].id if reports else None))
    return notices
