"""The administrators' outbox page: the latest messages to users in their scope (what was sent,
what waits, what failed and why), one message's text, and the users who get no email because
they have no address."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from cases.mail import FileTransport, get_message, latest_messages, transport_for, users_without_email
from cases.models.mail import MailStatus
from extensions import db
from views.common import acting_user

bp = Blueprint("mail", __name__, url_prefix="/admin/mail")

STATUS_LABELS = {MailStatus.PENDING: _l("Đang chờ gửi"), MailStatus.SENT: _l("Đã gửi"),
                 MailStatus.FAILED: _l("Gửi thất bại")}


@bp.route("")
@login_required
def index():
    admin = acting_user()
    messages = latest_messages(db.session, admin)
    return render_template("mail/index.html", messages=messages, labels=STATUS_LABELS,
                           without_email=users_without_email(db.session, admin),
                           mode=_mode(transport_for(current_app)))


def _mode(transport) -> tuple[str, str | None]:
    if transport is None:
        return "waiting", None
    return ("files", None) if isinstance(transport, FileTransport) else ("smtp", transport.description)


@bp.route("/<int:message_id>")
@login_required
def show(message_id: int):
    message = get_message(db.session, acting_user(), message_id)
    return render_template("mail/show.html", message=message, labels=STATUS_LABELS,
                           sender=current_app.config["MAIL_FROM"])
