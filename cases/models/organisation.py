"""Provinces, communes, villages and payment providers."""
from __future__ import annotations

import enum

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint, false as sql_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.models.types import enum_column
from extensions import db

# Commune and province codes are stored with the list they come from: 3,310 of the 2025 commune
# codes reuse a pre-2025 code that named another place.
CODE_LIST_2025 = "QD19-2025"


class Province(db.Model):
    __tablename__ = "provinces"
    __table_args__ = (UniqueConstraint("code_list", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_list: Mapped[str] = mapped_column(String(16), default=CODE_LIST_2025)
    code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100))

    communes: Mapped[list[Commune]] = relationship(back_populates="province", order_by="Commune.code")

    def __repr__(self) -> str:
        return f"<Province {self.code} {self.name}>"


class Commune(db.Model):
    __tablename__ = "communes"
    __table_args__ = (UniqueConstraint("code_list", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), index=True)
    code_list: Mapped[str] = mapped_column(String(16), default=CODE_LIST_2025)
    code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # Xã, Phường, Đặc khu

    province: Mapped[Province] = relationship(back_populates="communes")
    villages: Mapped[list[Village]] = relationship(back_populates="commune", order_by="Village.name")

    def __repr__(self) -> str:
        return f"<Commune {self.code} {self.name}>"


class Village(db.Model):
    """Thôn, khối, tổ: the address below the commune."""

    __tablename__ = "villages"
    __table_args__ = (UniqueConstraint("commune_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("communes.id"))
    name: Mapped[str] = mapped_column(String(100))

    commune: Mapped[Commune] = relationship(back_populates="villages")


class ProviderKind(str, enum.Enum):
    BANK = "bank"
    POST_OFFICE = "post_office"


class PaymentProvider(db.Model):
    """A bank branch or the post office that pays beneficiaries of one province."""

    __tablename__ = "payment_providers"
    __table_args__ = (UniqueConstraint("province_id", "short_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))
    short_name: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ProviderKind] = mapped_column(enum_column(ProviderKind, "provider_kind"))
    active: Mapped[bool] = mapped_column(default=True)
    # Issue 18: whom it pays. "all", "btxh" or "ncc" (TP Lạng Sơn: BIDV for NCC, Sacombank and
    # Vietinbank for BTXH); a post office that pays in cash; the communes it serves (none listed:
    # every commune of the province); the column headings of its files where they differ from ours
    # (JSON {our column key: its heading}).
    policy_groups: Mapped[str] = mapped_column(String(4), default="all", server_default="all")
    pays_in_cash: Mapped[bool] = mapped_column(default=False, server_default=sql_false())
    file_layout: Mapped[str | None] = mapped_column(Text)

    province: Mapped[Province] = relationship()
    communes: Mapped[list[Commune]] = relationship(secondary="provider_communes", order_by="Commune.code")


provider_communes = Table(
    "provider_communes", db.metadata,
    Column("provider_id", ForeignKey("payment_providers.id"), primary_key=True),
    Column("commune_id", ForeignKey("communes.id"), primary_key=True),
)
