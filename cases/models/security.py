"""What the security rules keep in the database, so every worker and host shares it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

BigId = BigInteger().with_variant(Integer(), "sqlite")


class LoginThrottle(db.Model):
    """Failed logins counted per account (`user:<name>`) and per client address (`ip:<addr>`)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class DenialWindow(db.Model):
    """Refusals of one user for one target within the current hour: the first is audited, the
    rest are counted here and reported with the next window's record."""

    __tablename__ = "denial_windows"

    user_id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=1)


class AuditCheck(db.Model):
    """One verification of the chain, or one anchor written outside the database."""

    __tablename__ = "audit_checks"
    __table_args__ = (Index("ix_audit_checks_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))          # "verify" or "anchor"
    at: Mapped[datetime]                                   # UTC
    ok: Mapped[bool]
    checked: Mapped[int] = mapped_column(BigId, default=0)  # records verified
    head_seq: Mapped[int] = mapped_column(BigId, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    broken_seq: Mapped[int | None] = mapped_column(BigId)
    problem: Mapped[str | None] = mapped_column(String(300))
