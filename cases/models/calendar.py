"""The working calendar's exceptions that the government announces each year."""
from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.types import enum_column
from cases.models.users import User
from extensions import db


class SwapKind(str, enum.Enum):
    DAY_OFF = "day_off"            # an extra day off on a weekday
    WORKING_DAY = "working_day"    # a Saturday or Sunday worked in exchange

    @property
    def label(self) -> str:
        return SWAP_KIND_LABELS[self]


SWAP_KIND_LABELS = {
    SwapKind.DAY_OFF: _l("Ngày nghỉ thêm (ngày thường)"),
    SwapKind.WORKING_DAY: _l("Ngày làm bù (thứ Bảy, Chủ nhật)"),
}


class WorkingDaySwap(db.Model):
    """One day whose status differs from the public-holiday rules: a weekday off, or a weekend
    day worked. Kept by an administrator from the government's yearly announcement."""

    __tablename__ = "working_day_swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    kind: Mapped[SwapKind] = mapped_column(enum_column(SwapKind, "swap_kind"))
    note: Mapped[str] = mapped_column(String(200))      # the decision or notice it comes from
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]                         # UTC

    created_by: Mapped[User | None] = relationship(viewonly=True)
