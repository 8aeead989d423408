"""Sessions that end when they should.

A session remembers the user's `session_version` at login. Moving the number on (logout, a new
password, a new role or scope, disabling) ends every session of that user at once, on every
worker and host: the user row is loaded on each request anyway, so the check costs no query.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from cases.models import User


def end_sessions(session: Session, user: User) -> None:
    """End every existing session of `user` (flushes; the caller commits)."""
    session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))
    session.expire(user, ["session_version"])
