"""The administrator's swaps of the working calendar: adding and removing them, each audited.

Services flush and never commit; `by` is the administrator acting.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import require_admin
from cases.audit import Actor
from cases.calendar import YEARS, forget_working_calendar, vietnam_holidays
from cases.changes import utcnow
from cases.errors import DomainError
from cases.models import SwapKind, User, WorkingDaySwap

WEEKDAY_NAMES = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


def require_calendar_admin(user: User) -> None:
    """:raise NotPermitted: (403) `user` is not an active administrator."""
    require_admin(user, "quản lý lịch làm việc")


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
    weekday = WEEKDAY_NAMES[day.weekday()]
    if day.year not in YEARS:
        raise DomainError(f"Lịch làm việc chỉ tính từ năm {YEARS[0]} đến năm {YEARS[-1]}.", "day")
    if kind is SwapKind.WORKING_DAY and day.weekday() < 5:
        raise DomainError(f"Ngày làm bù phải là thứ Bảy hoặc Chủ nhật; {day:%d/%m/%Y} là {weekday}.", "day")
    if kind is SwapKind.DAY_OFF and day.weekday() >= 5:
        raise DomainError(f"Ngày nghỉ thêm phải là ngày thường (thứ Hai đến thứ Sáu); "
                          f"{day:%d/%m/%Y} là {weekday}.", "day")
    holiday = vietnam_holidays().get(day)
    if holiday:
        raise DomainError(f"Ngày {day:%d/%m/%Y} đã là ngày lễ ({holiday}).", "day")
    if session.scalar(select(WorkingDaySwap.id).where(WorkingDaySwap.day == day)) is not None:
        raise DomainError(f"Ngày {day:%d/%m/%Y} đã có trong danh sách hoán đổi.", "day")


def _detail(swap: WorkingDaySwap) -> dict:
    return {"day": swap.day.isoformat(), "kind": swap.kind.value, "note": swap.note}
