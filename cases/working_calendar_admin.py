"""The administrator's swaps of the working calendar: adding and removing them, each audited.

Services flush and never commit; `by` is the administrator acting.
"""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _, lazy_gettext as _l

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import require_admin
from cases.audit import Actor
from cases.calendar import YEARS, forget_working_calendar, vietnam_holidays
from cases.changes import day_text, utcnow
from cases.errors import DomainError
from cases.models import SwapKind, User, WorkingDaySwap

WEEKDAY_NAMES = [_l("Thứ Hai"), _l("Thứ Ba"), _l("Thứ Tư"), _l("Thứ Năm"), _l("Thứ Sáu"), _l("Thứ Bảy"), _l("Chủ nhật")]


def require_calendar_admin(user: User) -> None:
    """:raise NotPermitted: (403) `user` is not an active administrator."""
    require_admin(user, _("quản lý lịch làm việc"))


def swaps_of(session: Session, year: int) -> list[WorkingDaySwap]:
    """The swaps of `year`, by day, with who made each."""
    return list(session.scalars(
        select(WorkingDaySwap).options(joinedload(WorkingDaySwap.created_by))
        .where(WorkingDaySwap.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(WorkingDaySwap.day)))


def add_swap(session: Session, actor: Actor, by: User, day: date, kind: SwapKind, note: str) -> WorkingDaySwap:
    """Record one announced swap.

    :raise NotPermitted: (403) `by` is not an administrator.
    :raise DomainError: a working day that is not a Saturday or Sunday, a day off that is not a
        weekday, a public holiday, a day that has a swap already, or a year outside the calendar.
    """
    require_calendar_admin(by)
    _check_day(session, day, kind)
    swap = WorkingDaySwap(day=day, kind=kind, note=note, created_by_id=by.id, created_at=utcnow())
    session.add(swap)
    session.flush()
    audit.record(session, actor, "calendar.swap_add", detail=_detail(swap))
    forget_working_calendar()
    return swap


def remove_swap(session: Session, actor: Actor, by: User, swap_id: int) -> WorkingDaySwap:
    """Delete one swap; the day follows the public-holiday rules again.

    :raise NotPermitted: (403) `by` is not an administrator.
    :raise 404: no such swap.
    """
    require_calendar_admin(by)
    swap = session.get(WorkingDaySwap, swap_id)
    if swap is None:
        raise NotFound()
    detail = _detail(swap)
    session.delete(swap)
    session.flush()
    audit.record(session, actor, "calendar.swap_remove", detail=detail)
    forget_working_calendar()
    return swap


def _check_day(session: Session, day: date, kind: SwapKind) -> None:
    weekday, written = str(WEEKDAY_NAMES[day.weekday()]), day_text(day)
    if day.year not in YEARS:
        raise DomainError(_("Lịch làm việc chỉ tính từ năm %(first)s đến năm %(last)s.",
                            first=YEARS[0], last=YEARS[-1]), "day")
    if kind is SwapKind.WORKING_DAY and day.weekday() < 5:
        raise DomainError(_("Ngày làm bù phải là thứ Bảy hoặc Chủ nhật; %(day)s là %(weekday)s.",
                            day=written, weekday=weekday), "day")
    if kind is SwapKind.DAY_OFF and day.weekday() >= 5:
        raise DomainError(_("Ngày nghỉ thêm phải là ngày thường (thứ Hai đến thứ Sáu); %(day)s là %(weekday)s.",
                            day=written, weekday=weekday), "day")
    holiday = vietnam_holidays().get(day)
    if holiday:
        raise DomainError(_("Ngày %(day)s đã là ngày lễ (%(holiday)s).", day=written, holiday=holiday), "day")
    if session.scalar(select(WorkingDaySwap.id).where(WorkingDaySwap.day == day)) is not None:
        raise DomainError(_("Ngày %(day)s đã có trong danh sách hoán đổi.", day=written), "day")


def _detail(swap: WorkingDaySwap) -> dict:
    return {"day": swap.day.isoformat(), "kind": swap.kind.value, "note": swap.note}
