"""Login and logout."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from cases import audit
from cases.models import User
from cases.sessions import SessionLimits, end_sessions, open_session, session_holds
from cases.users import authenticate
from extensions import db
from forms.auth import LoginForm
from views.common import acting_user, client_ip, current_actor

bp = Blueprint("auth", __name__)


# Built once, so its compiled form is cached; the user's province comes in the same row (the scope
# and every audit record need it). A commune-scoped user's communes load on first use.
_USER_WITH_UNITS = select(User).options(joinedload(User.province)).where(User.id == bindparam("user_id"))


def load_user(user_id: str) -> User | None:
    """Once per request: the active user with the units of their scope, if the session still stands
    for them (their session version, the idle and absolute limits; no query beyond the user's)."""
    if not user_id.isdigit() or len(user_id) > 10:
        return None
    user = db.session.execute(_USER_WITH_UNITS, {"user_id": int(user_id)}).unique().scalar_one_or_none()
    if user is None or not user.active or not session_holds(session, user, SessionLimits.from_config(current_app.config)):
        session.clear()
        return None
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("cases.queue"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.username.data, form.password.data, client_ip(), g.request_id)
        db.session.commit()
        if user is not None:
            # A fresh session, and with it a fresh CSRF token: nothing set before login survives it.
            session.clear()
            login_user(user)
            open_session(session, user)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("Tên đăng nhập hoặc mật khẩu không đúng."), "error")
    return render_template("auth/login.html", form=form), 401 if request.method == "POST" else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End this session and every other session of the user (a cookie copied before logout is
    refused afterwards, on every worker)."""
    audit.record(db.session, current_actor(), "auth.logout")
    end_sessions(db.session, acting_user())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("Bạn đã đăng xuất."), "info")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Follow ?next= only within this site (no scheme, no host)."""
    if target and target.isprintable() and target.isascii():
        parts = urlsplit(target)
        if (not parts.scheme and not parts.netloc and target.startswith("/")
                and not target.startswith("//") and "\\" not in target):
            return target
    return url_for("cases.queue")
