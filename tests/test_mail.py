"""Sending the outbox (issue 19): a real SMTP server (aiosmtpd on 127.0.0.1, started here)
receives what the sender job sends; it refuses, stops and comes back, and every message still
arrives exactly once with its Message-ID; no name or subject can add a header; without a server,
development writes .eml files and production waits. Time is an injected `now`."""
from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select, update

from cases.changes import to_local, utcnow
from cases.mail import CLAIM_SECONDS, FileTransport, backoff, claim, compose, send_due_messages, transport_for
from cases.models import User
from cases.models.mail import MailStatus, OutboxMessage
from cases.models.scheduling import JobRun, RunOutcome
from cases.roles import Role
from extensions import db, write_intent
from scheduler.process import Runner
from tests.conftest import LANG_SON, OTHER_PROVINCE
from tests.helpers import text_of

T0 = datetime(2026, 12, 1, 1, 0)        # 08:00 in Hà Nội
SENDER = "AnSinh Lạng Sơn <ansinh@langson.example.vn>"


class Mailbox:
    """An aiosmtpd handler: refuses the first `refusals` messages with a 451, keeps the rest."""

    def __init__(self):
        self.received: list = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refusals = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refusals > 0:
            self.refusals -= 1
            return "451 4.3.0 Thử lại sau"
        self.received.append(message_from_bytes(envelope.content, policy=default_policy))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def message_ids(self) -> list[str]:
        return sorted(m["Message-ID"] for m in self.received)


class SMTPServer:
    def __init__(self, **options):
        self.options = options
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.mailbox = Mailbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def serve(app, monkeypatch, **options) -> SMTPServer:
    server = SMTPServer(**options)
    server.start()
    for name, value in {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port, "MAIL_FROM": SENDER,
                        "MAIL_TIMEOUT": 5.0}.items():
        monkeypatch.setitem(app.config, name, value)
    return server


@pytest.fixture
def smtp(app, monkeypatch):
    server = serve(app, monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def make_message():
    counter = iter(range(1, 10_000))

    def make(to: User | str = "nhan@example.vn", subject: str = "Hồ sơ quá hạn xử lý", body: str | None = None,
             at: datetime = T0) -> OutboxMessage:
        n = next(counter)
        user = to if isinstance(to, User) else None
        with write_intent():
            message = OutboxMessage(
                kind="escalation_digest", recipient_id=user.id if user else None,
                to_address=(user.email if user else to), subject=subject,
                body_text=body or f"Kính gửi đồng chí,\nCó {n} hồ sơ quá hạn ở Xã Bình Gia.",
                message_id=f"<digest-2026-12-01-{n}@ansinh.test>", created_at=at, status=MailStatus.PENDING,
                attempts=0, next_attempt_at=at)
            db.session.add(message)
            db.session.commit()
        return message
    return make


def with_email(user: User, email: str | None) -> User:
    with write_intent():
        db.session.execute(update(User).where(User.id == user.id).values(email=email))
        db.session.commit()
    return db.session.get(User, user.id)


def rows() -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# --- composing -------------------------------------------------------------------------------

def test_messages_arrive_with_their_message_id_sender_recipient_and_vietnamese_subject(app, smtp, make_user,
                                                                                       make_message):
    user = with_email(make_user(full_name="Nguyễn Thị Hoà"), "hoa@example.vn")
    make_message(user, subject="Hồ sơ quá hạn ở Xã Bình Gia — 3 hồ sơ", body="Đồng chí Hoà: có 3 hồ sơ quá hạn.")
    assert send_due_messages(app, T0) == {"sent": 1, "retried": 0, "failed": 0}
    [received] = smtp.mailbox.received
    assert received["Message-ID"] == "<digest-2026-12-01-1@ansinh.test>"
    assert received["Subject"] == "Hồ sơ quá hạn ở Xã Bình Gia — 3 hồ sơ"
    assert received["From"].addresses[0].addr_spec == "ansinh@langson.example.vn"
    assert received["From"].addresses[0].display_name == "AnSinh Lạng Sơn"
    assert received["To"].addresses[0].display_name == "Nguyễn Thị Hoà"
    assert received["To"].addresses[0].addr_spec == "hoa@example.vn"
    assert received["Date"].datetime.replace(tzinfo=None) == T0
    assert received.get_content().strip() == "Đồng chí Hoà: có 3 hồ sơ quá hạn."
    assert smtp.mailbox.envelopes == [("ansinh@langson.example.vn", ["hoa@example.vn"])]
    [row] = rows()
    assert (row.status, row.sent_at, row.attempts, row.last_error) == (MailStatus.SENT, T0, 1, None)
    assert send_due_messages(app, T0 + timedelta(days=1))["sent"] == 0     # sent is never sent again
    assert len(smtp.mailbox.received) == 1


def test_a_name_or_subject_with_cr_lf_adds_no_header(app, smtp, make_user, make_message):
    user = with_email(make_user(full_name="Nguyễn Văn A\r\nBcc: evil@x.vn"), "a@example.vn")
    make_message(user, subject="Hồ sơ quá hạn\r\nBcc: evil@x.vn\nX-Injected: 1")
    make_message("b@example.vn\r\nBcc: evil@x.vn")       # an address with CR/LF is not sent at all
    counts = send_due_messages(app, T0)
    assert counts == {"sent": 1, "retried": 0, "failed": 1}
    [received] = smtp.mailbox.received
    assert "Bcc" not in received and "X-Injected" not in received
    assert received["Subject"] == "Hồ sơ quá hạn Bcc: evil@x.vn X-Injected: 1"
    assert received["To"].addresses[0].addr_spec == "a@example.vn"
    assert len(received["To"].addresses) == 1
    assert smtp.mailbox.envelopes == [("ansinh@langson.example.vn", ["a@example.vn"])]
    assert [(r.status, r.last_error) for r in rows()] == [
        (MailStatus.SENT, None), (MailStatus.FAILED, "recipient address is not a single address")]


def test_compose_writes_subject_and_body_as_utf8_and_folds_no_header_break():
    message = OutboxMessage(to_address="c@example.vn", subject="Báo cáo tháng\r\nX: y", body_text="Dòng một\nDòng hai",
                            message_id="<m-1@ansinh.test>", created_at=T0)
    raw = compose(message, SENDER, to_name="Lò Văn Đức").as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert all(line.isascii() for line in headers.split(b"\r\n"))       # encoded words, not raw UTF-8
    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["Subject"] == "Báo cáo tháng X: y" and "X" not in parsed
    assert parsed["To"].addresses[0].display_name == "Lò Văn Đức"
    assert parsed.get_content().splitlines() == ["Dòng một", "Dòng hai"]


# --- refusals, outages, backoff --------------------------------------------------------------

def test_refused_then_accepted_every_message_arrives_exactly_once(app, smtp, make_message):
    for n in range(3):
        make_message(f"nguoi{n}@example.vn")
    smtp.mailbox.refusals = 2
    assert send_due_messages(app, T0) == {"sent": 1, "retried": 2, "failed": 0}
    waiting = [r for r in rows() if r.status is MailStatus.PENDING]
    assert [(r.attempts, r.next_attempt_at, r.last_error) for r in waiting] == [(1, T0 + timedelta(minutes=1),
                                                                                "SMTPDataError 451")] * 2
    assert send_due_messages(app, T0 + timedelta(seconds=30))["sent"] == 0     # not due yet
    assert send_due_messages(app, T0 + timedelta(minutes=1)) == {"sent": 2, "retried": 0, "failed": 0}
    assert smtp.mailbox.message_ids() == sorted(r.message_id for r in rows())
    assert [(r.status, r.attempts) for r in rows()] == [(MailStatus.SENT, 2), (MailStatus.SENT, 2), (MailStatus.SENT, 1)]


def test_nothing_is_lost_while_the_server_is_down_and_backoff_doubles(app, smtp, make_message):
    for n in range(4):
        make_message(f"nguoi{n}@example.vn")
    smtp.stop()
    now = T0
    for attempt, wait in enumerate([1, 2, 4], start=1):
        assert send_due_messages(app, now, batch=3) == {"sent": 0, "retried": 4, "failed": 0}
        assert {(r.status, r.attempts, r.next_attempt_at) for r in rows()} == {
            (MailStatus.PENDING, attempt, now + timedelta(minutes=wait))}
        assert {r.last_error for r in rows()} == {"ConnectionRefusedError: Connection refused"}
        now += timedelta(minutes=wait)
    smtp.start()
    assert send_due_messages(app, now, batch=3) == {"sent": 4, "retried": 0, "failed": 0}
    assert smtp.mailbox.message_ids() == sorted(r.message_id for r in rows())
    assert {(r.status, r.attempts, r.sent_at) for r in rows()} == {(MailStatus.SENT, 4, now)}


def test_backoff_is_capped_at_an_hour_and_a_message_fails_after_the_last_attempt(app, smtp, make_message, monkeypatch):
    assert [backoff(n) for n in (1, 2, 3, 6, 7, 20)] == [timedelta(minutes=m) for m in (1, 2, 4, 32, 60, 60)]
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 3)
    make_message()
    smtp.stop()
    now = T0
    for _ in range(2):
        assert send_due_messages(app, now)["retried"] == 1
        now = rows()[0].next_attempt_at
    assert send_due_messages(app, now) == {"sent": 0, "retried": 0, "failed": 1}
    [row] = rows()
    assert (row.status, row.attempts) == (MailStatus.FAILED, 3)
    smtp.start()
    assert send_due_messages(app, now + timedelta(days=1))["sent"] == 0
    assert smtp.mailbox.received == []


def test_a_crash_after_the_server_accepted_resends_only_after_the_claim_with_the_same_message_id(app, smtp,
                                                                                               make_message):
    """The one documented duplicate: accepted, then the process died before "sent" was committed."""
    make_message()
    with app.app_context():
        engine = db.engine
    [claimed] = claim(engine, T0, 10)
    transport = transport_for(app)
    with transport.open() as connection:
        connection.send(claimed, compose(claimed, SENDER))          # ... and the sender dies here
    assert send_due_messages(app, T0 + timedelta(seconds=CLAIM_SECONDS - 1))["sent"] == 0   # still claimed
    assert send_due_messages(app, T0 + timedelta(seconds=CLAIM_SECONDS))["sent"] == 1
    assert [m["Message-ID"] for m in smtp.mailbox.received] == ["<digest-2026-12-01-1@ansinh.test>"] * 2
    assert (rows()[0].status, rows()[0].attempts) == (MailStatus.SENT, 2)


# --- the connection: login, STARTTLS, settings ------------------------------------------------

def test_the_sender_logs_in_when_a_username_is_set_and_retries_a_refused_login(app, make_message, monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, credentials):
        logins.append((credentials.login, credentials.password))
        # handled=False: aiosmtpd answers a failure with 535 itself
        return AuthResult(success=credentials.password == b"mat-khau-thu", handled=False)

    # AUTH is offered without TLS on 127.0.0.1 only for this test (aiosmtpd requires TLS by default).
    server = serve(app, monkeypatch, authenticator=authenticator, auth_require_tls=False)
    try:
        monkeypatch.setitem(app.config, "MAIL_USERNAME", "ansinh")
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "sai-mat-khau")
        make_message()
        assert send_due_messages(app, T0) == {"sent": 0, "retried": 1, "failed": 0}
        assert rows()[0].last_error == "SMTPAuthenticationError 535"
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "mat-khau-thu")
        assert send_due_messages(app, T0 + timedelta(minutes=1))["sent"] == 1
        # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) before giving up
        assert set(logins[:-1]) == {(b"ansinh", b"sai-mat-khau")} and logins[-1] == (b"ansinh", b"mat-khau-thu")
        assert len(server.mailbox.received) == 1
    finally:
        server.stop()


def test_starttls_required_never_falls_back_to_plain_text(app, smtp, make_message, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", True)        # the test server offers no STARTTLS
    make_message()
    assert send_due_messages(app, T0) == {"sent": 0, "retried": 1, "failed": 0}
    assert rows()[0].last_error == "SMTPNotSupportedError"
    assert smtp.mailbox.received == []


def test_mail_settings_come_from_the_environment(monkeypatch, tmp_path):
    import config
    for name, value in {"MAIL_SERVER": "smtp.langson.example.vn", "MAIL_PORT": "587", "MAIL_USE_TLS": "yes",
                        "MAIL_USERNAME": "ansinh", "MAIL_PASSWORD": "bi-mat", "MAIL_MAX_ATTEMPTS": "5",
                        "SECRET_KEY": "x" * 64, "DATABASE_URL": "postgresql://u@h/db"}.items():
        monkeypatch.setenv(name, value)
    for name in ("MAIL_FROM", "MAIL_USE_SSL", "DEBUG", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    settings = config.load("development", str(tmp_path))
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"], settings["MAIL_USE_TLS"], settings["MAIL_USE_SSL"],
            settings["MAIL_USERNAME"], settings["MAIL_MAX_ATTEMPTS"]) == (
        "smtp.langson.example.vn", 587, True, False, "ansinh", 5)
    assert config.load("testing", str(tmp_path))["MAIL_SERVER"] is None      # tests never reach it
    with pytest.raises(config.ConfigError, match="MAIL_FROM"):
        config.load("production", str(tmp_path))
    monkeypatch.setenv("MAIL_FROM", "AnSinh <ansinh@langson.example.vn>")
    assert config.load("production", str(tmp_path))["MAIL_FROM"] == "AnSinh <ansinh@langson.example.vn>"


# --- without an SMTP server --------------------------------------------------------------------

def test_development_without_a_server_writes_eml_files(app, make_message, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_FILE_DIR", str(tmp_path / "mail"))
    assert app.config["MAIL_SERVER"] is None and isinstance(transport_for(app), FileTransport)
    message = make_message(subject="Hồ sơ quá hạn: Đông Kinh")
    assert send_due_messages(app, T0)["sent"] == 1
    [path] = (tmp_path / "mail").iterdir()
    assert path.name == f"{message.id}-ho-so-qua-han-dong-kinh.eml"
    written = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert written["Subject"] == "Hồ sơ quá hạn: Đông Kinh" and written["Message-ID"] == message.message_id
    assert rows()[0].status is MailStatus.SENT


def test_production_without_a_server_keeps_messages_waiting_and_writes_nothing(app, make_message, monkeypatch,
                                                                               tmp_path, caplog):
    monkeypatch.setitem(app.config, "MAIL_FILE_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "ANSINH_ENV", "production")
    make_message()
    assert send_due_messages(app, T0) == {"sent": 0, "retried": 0, "failed": 0, "waiting": 1}
    assert "MAIL_SERVER is not configured" in caplog.text
    assert not (tmp_path / "mail").exists()
    assert (rows()[0].status, rows()[0].attempts) == (MailStatus.PENDING, 0)


# --- the scheduler's job ------------------------------------------------------------------------

def test_the_send_outbox_job_sends_and_records_its_counts(app, smtp, make_message):
    make_message(at=utcnow() - timedelta(minutes=1))         # the job reads the real time
    runner = Runner(app, "host-a:1:aa", lambda: utcnow(), lease_seconds=30)
    assert runner.fire("send_outbox") is RunOutcome.OK
    db.session.rollback()
    run = db.session.scalars(select(JobRun).where(JobRun.job == "send_outbox")).one()
    assert '"sent": 1' in run.counts
    assert len(smtp.mailbox.received) == 1 and rows()[0].status is MailStatus.SENT


# --- the administrators' page ----------------------------------------------------------------

def test_an_administrator_sees_the_messages_of_their_scope_and_who_has_no_address(make_user, make_client,
                                                                                  make_message):
    admin = make_user(Role.ADMIN, province=LANG_SON, username="quantri.ls")
    here = with_email(make_user(username="canbo.co.thu", full_name="Hoàng Thị Thư"), "thu@example.vn")
    make_user(username="canbo.khong.thu", full_name="Vi Văn Không")
    elsewhere = with_email(make_user(Role.OFFICER, province=OTHER_PROVINCE, username="canbo.hanoi"), "hn@example.vn")
    sent = make_message(here, subject="Hồ sơ quá hạn ở Xã Bình Gia", body="Có 2 hồ sơ quá hạn.")
    with write_intent():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == sent.id).values(
            status=MailStatus.FAILED, attempts=10, last_error="SMTPDataError 451"))
        db.session.commit()
    hidden = make_message(elsewhere, subject="Thư của Hà Nội")
    browser = make_client(admin)
    page = text_of(browser.get("/admin/mail"))
    assert "Hồ sơ quá hạn ở Xã Bình Gia" in page and "thu@example.vn" in page and "Gửi thất bại" in page
    assert "SMTPDataError 451" in page and f"{to_local(T0):%d/%m/%Y %H:%M}" in page
    assert "Thư của Hà Nội" not in page and "hn@example.vn" not in page
    assert "canbo.khong.thu" in page and "Vi Văn Không" in page            # no address: listed
    assert "Chế độ phát triển" in page
    one = browser.get(f"/admin/mail/{sent.id}")
    assert one.status_code == 200 and "Có 2 hồ sơ quá hạn." in text_of(one) and sent.message_id in text_of(one)
    assert browser.get(f"/admin/mail/{hidden.id}").status_code == 404


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR])
def test_only_administrators_see_the_mail_page(role, make_user, make_client, make_message):
    user = with_email(make_user(role, province=LANG_SON), "x@example.vn")
    message = make_message(user)
    browser = make_client(user)
    assert browser.get("/admin/mail").status_code == 403
    assert browser.get(f"/admin/mail/{message.id}").status_code == 403


# --- two senders at once ---------------------------------------------------------------------

@pytest.mark.postgresql
def test_two_senders_at_once_send_each_message_once(app, smtp, make_message):
    for n in range(20):
        make_message(f"nguoi{n}@example.vn")
    start = threading.Barrier(2)
    results: list[dict] = []

    def sender():
        start.wait()
        results.append(send_due_messages(app, T0, batch=3))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r["sent"] for r in results) == 20
    assert smtp.mailbox.message_ids() == sorted(r.message_id for r in rows())
    assert {(r.status, r.attempts) for r in rows()} == {(MailStatus.SENT, 1)}
