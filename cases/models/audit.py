"""The append-only, hash-chained audit trail."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

# A rowid alias on SQLite (fast appends), a 64-bit key on PostgreSQL.
Seq = BigInteger().with_variant(Integer(), "sqlite")

GENESIS_HASH = "0" * 64
HEAD_ID = 1

# The fields a record's hash covers, in this order. Changing this list breaks every chain.
HASHED = ("seq", "occurred_at", "actor_id", "actor_username", "actor_role", "actor_unit",
          "action", "case_id", "proposal_id", "detail", "reason", "ip", "request_id", "outcome",
          "prev_hash")


class AuditRecord(db.Model):
    """One thing that happened. `seq` is the chain order, given under the head's lock at commit."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_records_case", "case_id", "seq"),
        # The auditor's screen filters by actor, action and day, newest first (migration 0005).
        Index("ix_audit_records_actor", "actor_id", "seq"),
        Index("ix_audit_records_action", "action", "seq"),
        Index("ix_audit_records_occurred_at", "occurred_at"),
        Index("ix_audit_records_caseless", "seq", sqlite_where=text("case_id IS NULL"),
              postgresql_where=text("case_id IS NULL")),
    )

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]                          # UTC
    actor_id: Mapped[int | None]
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    actor_unit: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None]
    proposal_id: Mapped[int | None]
    detail: Mapped[str | None] = mapped_column(Text)       # canonical JSON: before → after, form data
    reason: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20), default="ok")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(db.Model):
    """The chain's last link, one row. Appending locks this row, never scans the records."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(Seq, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
