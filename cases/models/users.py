"""Users, their role and the units they may see."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.organisation import Commune, Province
from cases.models.types import enum_column
from cases.roles import Role
from extensions import db

user_communes = Table(
    "user_communes",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("commune_id", ForeignKey("communes.id"), primary_key=True),
)


class User(UserMixin, db.Model):
    """A person who logs in. Scoped to a whole province, or to a list of communes."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("provinces.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Moved on by every event that must end the user's sessions (logout, a password, role or scope
    # change, disabling). A session carries the number it was opened under; the user is loaded on
    # every request anyway, so comparing the two costs no query.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    password_changed_at: Mapped[datetime | None]
    # The language of the screens and emails: Vietnamese unless the user chose English.
    locale: Mapped[str] = mapped_column(String(5), default="vi", server_default="vi")

    province: Mapped[Province | None] = relationship()
    communes: Mapped[list[Commune]] = relationship(secondary=user_communes, order_by="Commune.code")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def unit_label(self) -> str:
        """The units this user answers for, as the audit trail names them."""
        if self.province is not None:
            return f"province:{self.province.code}"
        return "communes:" + ",".join(c.code for c in self.communes)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"
