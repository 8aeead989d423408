"""The outbox: every email the system sends is first a row here, written in the same transaction
as what it reports (an escalation, a report), and sent later by the scheduler's sender job."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cases.models.types import enum_column
from extensions import db


class MailStatus(str, enum.Enum):
    PENDING = "pending"   # waiting for the sender (again, after a failure: see next_attempt_at)
    SENT = "sent"         # the SMTP server accepted it; never sent again
    FAILED = "failed"     # given up after the last retry; an administrator sees it


class OutboxMessage(db.Model):
    """One email to one recipient. `message_id` is fixed when the row is written, so a message
    the server accepted and that is retried after a crash carries the same Message-ID."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The sender's claim: the pending messages whose time has come, oldest first.
        Index("ix_outbox_messages_due", "status", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))              # "escalation_digest", "report", ...
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]                               # UTC
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus, "mail_status"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]                          # UTC
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))  # English, no personal data
