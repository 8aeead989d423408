"""Which language and time zone a page is drawn in (Flask-Babel's selectors).

Vietnamese unless the logged-in user chose English; times always in Asia/Ho_Chi_Minh, where every
commune and province the app serves is.
"""
from __future__ import annotations

from flask import current_app, request
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    user = current_user
    if user and user.is_authenticated and user.locale in current_app.config["LANGUAGES"]:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DISPLAY_TIMEZONE"]


def settle_locale() -> None:
    """Choose the page's language as the request begins (before_request). Chosen lazily, it would be
    chosen at the first message, often the flash after a commit, when the user row is expired and
    reading `user.locale` costs a query (measured: 1 ms of every form POST). Static files skip it."""
    if request.endpoint != "static":
        get_locale()
