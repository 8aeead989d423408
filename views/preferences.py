"""A user's own preferences: the language of the screens (Vietnamese unless they choose English)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import login_required

from extensions import db
from views.common import acting_user

bp = Blueprint("preferences", __name__)

# Each language named in itself, as language switches do: a reader finds their own.
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


@bp.route("/preferences/language", methods=["POST"])
@login_required
def language():
    """Store the chosen language on the user (so it follows them to any browser) and go back."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        acting_user().locale = locale
        db.session.commit()
    else:
        flash(_("Ngôn ngữ đã chọn không có trong danh sách."), "error")
    return redirect(safe_next(request.args.get("next") or request.form.get("next")))


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page: never a redirect elsewhere
    (`//evil.example`, `https://...`, a backslash that browsers read as a slash)."""
    target = target or ""
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target or any(ord(c) < 0x20 for c in target)):
        return url_for("cases.home")
    return target


def back_here() -> str:
    """The page being drawn, for the language switch to return to; after a POST (a form shown
    again with its errors, or an address that cannot be read) the home page, since the POST's URL
    cannot be opened with a GET."""
    if request.method != "GET":
        return url_for("cases.home")
    try:
        here = request.full_path.rstrip("?")
    except UnicodeDecodeError:      # a query string that is not UTF-8 (refused on its own page)
        return url_for("cases.home")
    return safe_next(here)


def current_locale() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


@bp.app_context_processor
def frame_helpers() -> dict:
    languages = current_app.config["LANGUAGES"]
    return {"current_locale": current_locale, "back_here": back_here,
            "language_choices": [(code, LANGUAGE_NAMES.get(code, code)) for code in languages]}
