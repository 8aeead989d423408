"""Sessions that end when they should.

A session remembers the user's `session_version` at login. Moving the number on (logout, a new
password, a new role or scope, disabling) ends every session of that user at once, on every
worker and host: the user row is loaded on each request anyway, so the check costs no query.
"""
from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from cases.models import User


def end_sessions(session: Session, user: User) -> None:
    """End every existing session of `user` (flushes; the caller commits)."""
    session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    session.expire(user, ["session_version"])


def now() -> float:
    """Seconds since the epoch; the one clock of session timeouts (tests move it)."""
    return time.time()


@dataclass(frozen=True)
class SessionLimits:
    idle_seconds: int
    max_seconds: int

    @classmethod
    def from_config(cls, config) -> SessionLimits:
        return cls(int(config["SESSION_IDLE_MINUTES"]) * 60, int(config["SESSION_MAX_HOURS"]) * 3600)


# Keys this module keeps in the signed session cookie, beside Flask-Login's own.
VERSION, LOGGED_IN_AT, SEEN_AT = "ansinh_sv", "ansinh_login_at", "ansinh_seen_at"
# The last-seen time is rewritten at most this often, so most responses do not set a new cookie.
_SEEN_RESOLUTION = 60


def open_session(cookie: MutableMapping, user: User) -> None:
    """Mark a freshly cleared session as the user's, under their current session version."""
    moment = int(now())
    cookie[VERSION], cookie[LOGGED_IN_AT], cookie[SEEN_AT] = user.session_version, moment, moment


def session_holds(cookie: MutableMapping, user: User, limits: SessionLimits) -> bool:
    """Whether the session still stands for `user`: opened under the user's current session version,
    used within the idle limit, and younger than the absolute limit. Refreshes the last-seen time."""
    moment = int(now())
    logged_in_at, seen_at = cookie.get(LOGGED_IN_AT), cookie.get(SEEN_AT)
    if cookie.get(VERSION) != user.session_version or not isinstance(logged_in_at, int) \
            or not isinstance(seen_at, int):
        return False
    if moment - seen_at > limits.idle_seconds or moment - logged_in_at > limits.max_seconds:
        return False
    if moment - seen_at >= _SEEN_RESOLUTION:
        cookie[SEEN_AT] = moment
    return True
