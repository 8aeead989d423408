"""What every view needs: the acting user as an audit `Actor`, and the write intent."""
from __future__ import annotations

import re
import uuid

from urllib.parse import urlsplit

from flask import g, request
from flask_wtf.csrf import CSRFError
from flask_login import current_user

from cases.audit import Actor
from cases.users import actor_of
from extensions import set_write_intent

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def begin_request() -> None:
    """Give the request an id (kept from a proxy's X-Request-ID when sane) and mark writers."""
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    set_write_intent(request.method not in ("GET", "HEAD", "OPTIONS"))


def refuse_foreign_origin() -> None:
    """A writing request whose browser says it comes from another site is refused, even with a
    valid CSRF token (Flask-WTF checks the Referer only over HTTPS). Browsers send `Origin` on
    every cross-site POST; a request without it (an old browser, a script) is left to the token.

    :raise CSRFError: (400) the Origin names another host, or is the opaque "null".
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return
    parts = urlsplit(origin)
    # The host only: behind a proxy that ends TLS the scheme seen here is not the browser's.
    if origin == "null" or parts.netloc != request.host:
        raise CSRFError("The request comes from another origin.")


def acting_user():
    """The logged-in user itself, not Flask-Login's proxy: services read the user's role and scope
    dozens of times a request, and each read through the proxy looks the user up again."""
    return current_user._get_current_object()


def client_ip() -> str | None:
    return request.remote_addr


def current_actor() -> Actor:
    user = acting_user()
    if user.is_authenticated:
        return actor_of(user, client_ip(), g.get("request_id"))
    return Actor(None, None, None, None, client_ip(), g.get("request_id"))
