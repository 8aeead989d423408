"""The archive of reports: every report produced is stored with its figures, its workbook and their
SHA-256; a supervisor signs one off, which freezes it as the unit's report for the period.

An archived report is shown from what was stored (`stored_report`), never recounted, so later
changes to cases leave it as it was; `verify` tells whether the stored bytes are still the ones
hashed. Services flush, never commit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, false, func, select, update
from sqlalchemy.orm import Session, aliased, undefer
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import commune_ids
from cases.audit import Actor
from cases.changes import unique_or, utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import ArchivedReport, Commune, Province, User
from cases.models.reports import UnitKind
from cases.reports.figures import Report
from cases.reports.periods import Period
from cases.roles import Role
from cases.users import actor_of

REPORT_READERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR})
PAGE_SIZE = 50


# --- who may read and sign -------------------------------------------------------------------------

def require_reader(user: User) -> None:
    """:raise NotPermitted: (403) `user` is not an active officer, supervisor or auditor."""
    if not user.is_active or user.role not in REPORT_READERS:
        raise NotPermitted(_("Chỉ cán bộ, lãnh đạo và cán bộ kiểm tra được xem báo cáo."))


def covers(user: User, unit_kind: str, unit_id: int | None, province_id: int | None) -> bool:
    """Whether the unit lies in `user`'s scope: a province user covers the province and each of its
    communes; a commune user only their own communes (never the whole province)."""
    if user.province_id is not None:
        return province_id is not None and province_id == user.province_id
    return unit_kind == UnitKind.COMMUNE.value and unit_id in (commune_ids(user) or [])


def require_unit(user: User, unit_kind: str, unit_id: int | None, province_id: int | None) -> None:
    """:raise NotPermitted: (403) not a reader, or the unit outside the user's scope."""
    require_reader(user)
    if not covers(user, unit_kind, unit_id, province_id):
        raise NotPermitted(_("Đơn vị này không thuộc phạm vi bạn quản lý."))


def may_sign(user: User, archived: ArchivedReport) -> bool:
    """A supervisor whose scope covers the report's unit."""
    return (user.is_active and user.role is Role.SUPERVISOR
            and covers(user, _kind(archived), archived.unit_id, archived.province_id))


def _kind(archived: ArchivedReport) -> str:
    return getattr(archived.unit_kind, "value", archived.unit_kind)


def _scope(user: User):
    """The WHERE clause restricting `reports` to what `user` may read."""
    if not user.is_active or user.role not in REPORT_READERS:
        return false()
    if user.province_id is not None:
        return ArchivedReport.province_id == user.province_id
    ids = commune_ids(user)
    if not ids:
        return false()
    return and_(ArchivedReport.unit_kind == UnitKind.COMMUNE, ArchivedReport.unit_id.in_(ids))


# --- storing, hashing, signing ---------------------------------------------------------------------

def report_hash(figures: str, workbook: bytes) -> str:
    """SHA-256 (hex) over the figures' UTF-8 bytes, a 0x00 byte, then the workbook's bytes. The
    figures are JSON and hold no 0x00, so the byte marks where they end."""
    return hashlib.sha256(figures.encode("utf-8") + b"\x00" + workbook).hexdigest()


def archive_report(session: Session, report: Report, workbook: bytes, user: User | None,
                   actor: Actor | None = None) -> ArchivedReport:
    """Store `report` and its workbook with their hash (unsigned), audited as `report.archive`.

    `user` None: produced by the scheduler. `actor` defaults to the user's or the system's.

    :raise DomainError: a report of the whole country (the archive keeps a province's or a commune's).
    """
    if report.unit_kind not in (UnitKind.PROVINCE.value, UnitKind.COMMUNE.value):
        raise DomainError(_("Chỉ lưu được báo cáo của một tỉnh hoặc một xã/phường."), "unit")
    figures = report.to_json()
    period = Period.parse(report.period)
    archived = ArchivedReport(
        period=report.period, period_end=period.last_day, unit_kind=UnitKind(report.unit_kind),
        unit_id=report.unit_id, province_id=report.province_id, produced_at=report.produced_at,
        produced_by_id=user.id if user is not None else None, figures=figures, workbook=workbook,
        sha256=report_hash(figures, workbook))
    session.add(archived)
    session.flush()
    if actor is None:
        actor = actor_of(user) if user is not None else Actor.system("reports")
    audit.record(session, actor, "report.archive", detail=_detail(archived))
    return archived


def verify(archived: ArchivedReport) -> bool:
    """Whether the stored figures and workbook still give the stored hash."""
    return report_hash(archived.figures, archived.workbook) == archived.sha256


def stored_report(archived: ArchivedReport) -> Report:
    """The report as it was archived (never recounted)."""
    return Report.from_json(archived.figures)


def sign_report(session: Session, actor: Actor, user: User, report_id: int) -> ArchivedReport:
    """Sign the archived report off: it becomes the unit's report for its period, frozen.

    :raise NotFound: (404) no such report in the user's scope.
    :raise NotPermitted: (403) `user` is not a supervisor whose scope covers the report's unit.
    :raise DomainError: already signed; another report of the unit and period already signed; its
        stored figures or workbook no longer match their hash.
    """
    archived = get_archived(session, user, report_id)
    if not may_sign(user, archived):
        raise NotPermitted(_("Chỉ lãnh đạo phụ trách đơn vị này được ký duyệt báo cáo."))
    if archived.signed_at is not None:
        raise DomainError(_("Báo cáo này đã được ký duyệt."))
    sibling = _signed_sibling(session, archived)
    if sibling is not None:
        raise DomainError(_("Đơn vị này đã có báo cáo %(period)s được ký duyệt (số %(id)s); mỗi kỳ chỉ ký "
                            "duyệt một báo cáo.", period=Period.parse(archived.period).label, id=sibling))
    if not verify(archived):
        raise DomainError(_("Số liệu lưu của báo cáo này không còn khớp mã kiểm tra; không thể ký duyệt."))
    now = utcnow()
    with unique_or(_("Đơn vị này vừa có một báo cáo %(period)s được ký duyệt.",
                         period=Period.parse(archived.period).label)):
        signed = session.execute(
            update(ArchivedReport).where(ArchivedReport.id == archived.id, ArchivedReport.signed_at.is_(None))
            .values(signed_by_id=user.id, signed_at=now).execution_options(synchronize_session=False))
    if signed.rowcount != 1:      # another supervisor signed it a moment earlier
        raise DomainError(_("Báo cáo này vừa được người khác ký duyệt."))
    session.refresh(archived)
    audit.record(session, actor, "report.sign", detail=_detail(archived))
    return archived


def _signed_sibling(session: Session, archived: ArchivedReport) -> int | None:
    return session.scalar(select(ArchivedReport.id).where(
        ArchivedReport.unit_kind == archived.unit_kind, ArchivedReport.unit_id == archived.unit_id,
        ArchivedReport.period == archived.period, ArchivedReport.signed_at.is_not(None),
        ArchivedReport.id != archived.id))


def _detail(archived: ArchivedReport) -> dict:
    return {"report": archived.id, "period": archived.period, "unit_kind": _kind(archived),
            "unit_id": archived.unit_id, "sha256": archived.sha256}


# --- reading the archive ---------------------------------------------------------------------------

def get_archived(session: Session, user: User, report_id: int) -> ArchivedReport:
    """The archived report `report_id`, figures and workbook loaded, if `user` may read it.

    :raise NotPermitted: (403) `user` reads no reports at all.
    :raise NotFound: (404) no such report, or outside the user's scope (the same answer).
    """
    require_reader(user)
    found = session.scalar(select(ArchivedReport).options(undefer(ArchivedReport.figures),
                                                          undefer(ArchivedReport.workbook))
                           .where(ArchivedReport.id == report_id, _scope(user)))
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class ArchiveEntry:
    report: ArchivedReport
    unit_name: str
    produced_by: str | None      # None: the scheduler
    signed_by: str | None
    verified: bool


@dataclass(frozen=True)
class ArchivePage:
    entries: list[ArchiveEntry]
    page: int
    has_next: bool


def archived_reports(session: Session, user: User, period: str | None = None, unit_code: str | None = None,
                     page: int = 1, per_page: int = PAGE_SIZE) -> ArchivePage:
    """Every report produced in `user`'s scope, signed or not, newest period first, then by unit
    and newest production; `period` (a code) and `unit_code` (a province or commune code) narrow it.

    :raise NotPermitted: (403) `user` reads no reports.
    :raise DomainError: a period or unit code that does not exist.
    """
    require_reader(user)
    producer, signer = aliased(User), aliased(User)
    unit_commune = aliased(Commune)
    statement = (
        select(ArchivedReport, func.coalesce(unit_commune.name, Province.name), producer.full_name, signer.full_name)
        .options(undefer(ArchivedReport.figures), undefer(ArchivedReport.workbook))
        .join(Province, Province.id == ArchivedReport.province_id)
        .outerjoin(unit_commune, and_(ArchivedReport.unit_kind == UnitKind.COMMUNE,
                                      unit_commune.id == ArchivedReport.unit_id))
        .outerjoin(producer, producer.id == ArchivedReport.produced_by_id)
        .outerjoin(signer, signer.id == ArchivedReport.signed_by_id)
        .where(_scope(user)))
    if period:
        statement = statement.where(ArchivedReport.period == Period.parse(period).code)
    if unit_code:
        from cases.reports.produce import find_unit
        unit = find_unit(session, unit_code)
        statement = statement.where(ArchivedReport.unit_kind == UnitKind(unit.kind), ArchivedReport.unit_id == unit.id)
    page = max(page, 1)
    rows = session.execute(statement.order_by(
        ArchivedReport.period_end.desc(), ArchivedReport.period, ArchivedReport.unit_kind.desc(),
        ArchivedReport.unit_id, ArchivedReport.id.desc()).limit(per_page + 1).offset((page - 1) * per_page)).all()
    entries = [ArchiveEntry(r, name, produced, signed, verify(r)) for r, name, produced, signed in rows[:per_page]]
    return ArchivePage(entries, page, len(rows) > per_page)


def signed_for(session: Session, unit_kind: str, unit_id: int, period: str) -> ArchivedReport | None:
    """The unit's signed report for the period, if any (the page shows it beside a fresh one)."""
    return session.scalar(select(ArchivedReport).where(
        ArchivedReport.unit_kind == UnitKind(unit_kind), ArchivedReport.unit_id == unit_id,
        ArchivedReport.period == period, ArchivedReport.signed_at.is_not(None)))
