"""Sending the outbox (issue 19): compose each row as an email, hand it to a transport (SMTP, or
.eml files in development), and record what happened.

The sender never works in the job's session. It claims a batch in a short transaction of its own
(committed before anything is sent), sends, and commits each message's outcome at once, so what
the SMTP server accepted is marked sent within one statement of its acceptance. The runner's one
commit records only the run and its counts.

The one window left: the server accepts a message and the process dies before "sent" is
committed. The row is still pending, claimed until `CLAIM_SECONDS` after the claim; the next
sender after that sends it again with the SAME Message-ID (fixed when the row was written), which
mail clients use to show it once. No other path sends a message twice: a claimed row is skipped
by every other sender (FOR UPDATE SKIP LOCKED, then its next_attempt_at moves past the claim), and
a row marked sent is never claimed again.
"""
from __future__ import annotations

import logging
import re
import smtplib
import ssl
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Iterator

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from cases.models.mail import MailStatus, OutboxMessage
from cases.models.users import User
from cases.access import require_admin
from cases.user_admin import managed_scope
from extensions import db, write_intent

log = logging.getLogger(__name__)

_outbox = OutboxMessage.__table__
CLAIM_SECONDS = 300                  # a claimed batch is another sender's again after this long
BACKOFF_CAP = timedelta(hours=1)
_ERROR_LENGTH = _outbox.c.last_error.type.length
# Any control character (CR, LF, NUL, tab ...) in a header value becomes a space: none can end
# the header and start another.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


class BadAddress(ValueError):
    """The row's address cannot be a recipient; retrying will not help."""


@dataclass(frozen=True)
class Outgoing:
    """A claimed row, detached from any session."""
    id: int
    to_address: str
    to_name: str | None
    subject: str
    body_text: str
    message_id: str
    created_at: datetime
    attempts: int


def header_text(value: str) -> str:
    return _CONTROL.sub(" ", value or "").strip()


def compose(message: Outgoing | OutboxMessage, sender: str, to_name: str | None = None) -> EmailMessage:
    """The email for one outbox row: UTF-8 subject and body, the row's Message-ID, the date it was
    written (so a resent message is the same message).

    :raise BadAddress: the recipient's address is not one address.
    """
    email = EmailMessage(policy=SMTP)
    email["Message-ID"] = _message_id(message.message_id)
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=timezone.utc))
    email["From"] = header_text(sender)
    email["To"] = recipient(message.to_address, to_name or getattr(message, "to_name", None))
    email["Subject"] = header_text(message.subject)
    email["Auto-Submitted"] = "auto-generated"      # RFC 3834: no vacation replies to the system
    email.set_content(message.body_text or "", cte="quoted-printable")
    return email


def recipient(address: str, name: str | None) -> Address:
    """One address with an optional display name.

    :raise BadAddress: `address` is empty, holds control characters or is not one addr-spec.
    """
    address = (address or "").strip()
    if not address or _CONTROL.search(address) or "," in address:
        raise BadAddress("recipient address is not a single address")
    try:
        return Address(display_name=header_text(name or ""), addr_spec=address)
    except (ValueError, IndexError) as error:
        raise BadAddress("recipient address is not a single address") from error


def _message_id(value: str) -> str:
    value = header_text(value).strip("<>")
    return f"<{value}>"


# --- Transports -------------------------------------------------------------------------------

class FileTransport:
    """Development without an SMTP server: each message becomes `<id>-<slug>.eml` in `directory`,
    which the administrators' page and any mail client can read."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @contextmanager
    def open(self) -> Iterator[FileTransport]:
        self.directory.mkdir(parents=True, exist_ok=True)
        yield self

    def send(self, message: Outgoing, email: EmailMessage) -> None:
        path = self.directory / f"{message.id}-{slug(message.subject)}.eml"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(email.as_bytes())
        partial.replace(path)           # a reader never sees half a message


class SMTPTransport:
    """One connection per batch: SSL from the start (MAIL_USE_SSL) or STARTTLS (MAIL_USE_TLS),
    login when MAIL_USERNAME is set."""

    def __init__(self, config: dict):
        self.host, self.port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
        self.use_ssl, self.use_tls = bool(config["MAIL_USE_SSL"]), bool(config["MAIL_USE_TLS"])
        self.username, self.password = config.get("MAIL_USERNAME"), config.get("MAIL_PASSWORD")
        self.timeout = float(config["MAIL_TIMEOUT"])
        self.description = f"SMTP {self.host}:{self.port}"
        self._smtp: smtplib.SMTP | None = None

    @contextmanager
    def open(self) -> Iterator[SMTPTransport]:
        context = ssl.create_default_context()
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.use_tls and not self.use_ssl:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            self._smtp = smtp
            yield self
        finally:
            self._smtp = None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, message: Outgoing, email: EmailMessage) -> None:
        self._smtp.send_message(email)


def transport_for(app: Flask) -> FileTransport | SMTPTransport | None:
    """SMTP when MAIL_SERVER is set; else .eml files, outside production. In production without
    MAIL_SERVER there is none: messages stay pending (nothing lost) and the job logs a warning."""
    config = app.config
    if config.get("MAIL_SERVER"):
        return SMTPTransport(config)
    if config.get("ANSINH_ENV") != "production":
        return FileTransport(config.get("MAIL_FILE_DIR") or Path(app.instance_path) / "mail")
    return None


# --- The sender -------------------------------------------------------------------------------

def send_due_messages(app: Flask, now: datetime, batch: int = 50, transport=None) -> dict:
    """Send the pending messages whose time has come, `batch` at a time until none is due.
    Counts of sent, retried and failed messages.

    Uses its own connections (see the module's docstring); never the caller's session.
    """
    with app.app_context():
        engine = db.engine
        transport = transport or transport_for(app)
    counts = {"sent": 0, "retried": 0, "failed": 0}
    if transport is None:
        waiting = _count_due(engine, now)
        if waiting:
            log.warning("%d message(s) waiting: MAIL_SERVER is not configured in production", waiting)
        return counts | {"waiting": waiting}
    while claimed := claim(engine, now, batch):
        _send_batch(app, engine, transport, claimed, now, counts)
        if len(claimed) < batch:
            break
    return counts


def claim(engine: Engine, now: datetime, batch: int) -> list[Outgoing]:
    """Take up to `batch` due messages in a transaction of their own: their next attempt moves
    past the claim, and the attempt is counted, so no other sender takes them meanwhile (on
    PostgreSQL SKIP LOCKED passes over rows another sender is claiming; SQLite's write lock
    serialises claims)."""
    due = (select(_outbox.c.id).where(_outbox.c.status == MailStatus.PENDING, _outbox.c.next_attempt_at <= now)
           .order_by(_outbox.c.next_attempt_at, _outbox.c.id).limit(batch).with_for_update(skip_locked=True))
    with write_intent(), engine.begin() as conn:
        ids = list(conn.scalars(due))
        if not ids:
            return []
        conn.execute(update(_outbox).where(_outbox.c.id.in_(ids))
                     .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=_outbox.c.attempts + 1))
        users = User.__table__
        rows = conn.execute(
            select(_outbox.c.id, _outbox.c.to_address, users.c.full_name, _outbox.c.subject, _outbox.c.body_text,
                   _outbox.c.message_id, _outbox.c.created_at, _outbox.c.attempts)
            .outerjoin(users, users.c.id == _outbox.c.recipient_id)
            .where(_outbox.c.id.in_(ids)).order_by(_outbox.c.id))
        return [Outgoing(*row) for row in rows]


def _send_batch(app: Flask, engine: Engine, transport, claimed: list[Outgoing], now: datetime, counts: dict) -> None:
    sender = app.config["MAIL_FROM"]
    limit = app.config["MAIL_MAX_ATTEMPTS"]
    remaining = list(claimed)
    try:
        with transport.open() as connection:
            while remaining:
                message = remaining[0]
                try:
                    connection.send(message, compose(message, sender))
                except BadAddress as error:
                    _record(engine, message, now, counts, error=str(error), final=True)
                except smtplib.SMTPServerDisconnected:
                    raise           # the connection is gone: the rest of the batch waits too
                except smtplib.SMTPException as error:
                    _record(engine, message, now, counts, error=describe(error), final=message.attempts >= limit)
                else:
                    _record(engine, message, now, counts)
                remaining.pop(0)
    except (smtplib.SMTPException, OSError) as error:
        log.warning("mail transport failed (%s); %d message(s) will be retried", describe(error), len(remaining))
        for message in remaining:
            _record(engine, message, now, counts, error=describe(error), final=message.attempts >= limit)


def _record(engine: Engine, message: Outgoing, now: datetime, counts: dict, error: str | None = None,
            final: bool = False) -> None:
    """Commit one message's outcome at once: sent, failed, or due again after the backoff."""
    if error is None:
        values, key = {"status": MailStatus.SENT, "sent_at": now, "last_error": None}, "sent"
    elif final:
        values, key = {"status": MailStatus.FAILED, "last_error": error[:_ERROR_LENGTH]}, "failed"
    else:
        values = {"next_attempt_at": now + backoff(message.attempts), "last_error": error[:_ERROR_LENGTH]}
        key = "retried"
    with write_intent(), engine.begin() as conn:
        conn.execute(update(_outbox).where(_outbox.c.id == message.id, _outbox.c.status == MailStatus.PENDING)
                     .values(**values))
    counts[key] += 1
    if key == "failed":
        log.warning("message %d failed after %d attempt(s): %s", message.id, message.attempts, error)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed attempt, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def describe(error: Exception) -> str:
    """The error for `last_error`: its kind and SMTP code, never the server's text (it may quote
    the address)."""
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({c for c, _ in error.recipients.values()})
        return f"SMTPRecipientsRefused {','.join(map(str, codes))}"
    if code is not None:
        return f"{type(error).__name__} {code}"
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__


def _count_due(engine: Engine, now: datetime) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(_outbox).where(
            _outbox.c.status == MailStatus.PENDING, _outbox.c.next_attempt_at <= now))


def slug(text: str, length: int = 40) -> str:
    """An ASCII file-name part from a Vietnamese subject: "Hồ sơ quá hạn" → "ho-so-qua-han"."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = plain.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:length].strip("-") or "thu"


# --- What administrators read -------------------------------------------------------------------

def _in_scope(admin: User):
    return OutboxMessage.recipient_id.in_(select(User.id).where(managed_scope(admin)))


def latest_messages(session: Session, admin: User, limit: int = 100) -> list[OutboxMessage]:
    """The latest messages to users `admin` manages, newest first.

    :raise NotPermitted: (403) `admin` is not an administrator.
    """
    require_admin(admin, _("xem thư điện tử hệ thống gửi"))
    return list(session.scalars(select(OutboxMessage).where(_in_scope(admin))
                                .order_by(OutboxMessage.id.desc()).limit(limit)))


def get_message(session: Session, admin: User, message_id: int) -> OutboxMessage:
    """One message to a user `admin` manages.

    :raise NotPermitted: (403) `admin` is not an administrator.
    :raise NotFound: (404) no such message, or its recipient is outside `admin`'s scope.
    """
    require_admin(admin, _("xem thư điện tử hệ thống gửi"))
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id, _in_scope(admin)))
    if message is None:
        raise NotFound()
    return message


def users_without_email(session: Session, admin: User) -> list[User]:
    """The active users `admin` manages who have no address: they receive no email."""
    return list(session.scalars(select(User).where(managed_scope(admin), User.active,
                                                   func.coalesce(func.trim(User.email), "") == "")
                                .order_by(User.username)))
