"""Users: creation, password hashing (argon2id) and login."""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit, throttle
from cases.audit import Actor
from cases.changes import utcnow
from cases.errors import DomainError
from cases.models import Commune, Province, User
from cases.passwords import check_password
from cases.roles import Role
from cases.throttle import ThrottleRules

# Verifying against this when the username is unknown keeps both answers equally slow.
_DUMMY_PASSWORD = "not-a-real-password"


def hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"],
                          parallelism=config["ARGON2_PARALLELISM"], type=Type.ID)


def actor_of(user: User, ip: str | None = None, request_id: str | None = None) -> Actor:
    return Actor(user.id, user.username, user.role.value, user.unit_label, ip, request_id)


def create_user(session: Session, actor: Actor, *, username: str, full_name: str, password: str, role: Role,
                province: Province | None = None, communes: list[Commune] = (), email: str | None = None) -> User:
    """Add a user scoped to a whole province or to some communes (exactly one of the two).

    :raise DomainError: the username is taken, the password too short, or the scope unclear.
    """
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DomainError(_("Tên đăng nhập %(username)s đã có.", username=username), "username")
    check_password(password, username)
    if (province is None) == (not communes):
        raise DomainError(_("Người dùng phải thuộc một tỉnh hoặc một số xã (chỉ một trong hai)."))
    user = User(username=username, full_name=full_name, email=email, role=role,
                password_hash=hasher().hash(password), province=province, communes=list(communes),
                created_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", detail={
        "username": username, "role": role, "province": province.code if province else None,
        "communes": [c.code for c in communes]})
    return user


def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, made once per process and per work
    factors: an unknown user then costs one argon2 verification, exactly as a wrong password does
    (hashing it on every attempt made unknown users twice as slow, which told usernames apart)."""
    config = current_app.config
    factors = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    if factors not in _DUMMY_HASHES:
        _DUMMY_HASHES[factors] = hasher().hash(_DUMMY_PASSWORD)
    return _DUMMY_HASHES[factors]


_DUMMY_HASHES: dict[tuple, str] = {}
# A password longer than this is refused without being hashed (a 20 MB password was hashed).
MAX_PASSWORD_LENGTH = 1024


def authenticate(session: Session, username: str, password: str, ip: str | None, request_id: str | None) -> User | None:
    """The active user with these credentials, or None. Both outcomes are audited.

    Throttled per account and per address (`cases.throttle`): a refused attempt is not checked
    against the password at all, yet costs the same argon2 verification and reads the same.
    """
    rules = ThrottleRules.from_config(current_app.config)
    keys = throttle.keys_for(username, ip)
    refused = throttle.attempt_refused(session, keys, rules)
    too_long = len(password) > MAX_PASSWORD_LENGTH
    user = None if refused else session.scalar(select(User).where(User.username == username))
    ok = False
    try:
        ok = hasher().verify(user.password_hash if user else _dummy_hash(),
                             _DUMMY_PASSWORD + "!" if refused or too_long else password)
    except (VerificationError, InvalidHashError):
        ok = False
    if ok and user is not None and user.active:
        if hasher().check_needs_rehash(user.password_hash):
            user.password_hash = hasher().hash(password)
        throttle.record_success(session, username)
        audit.record(session, actor_of(user, ip, request_id), "auth.login")
        return user
    if refused:
        audit.record(session, Actor(None, username[:64], None, None, ip, request_id), "auth.login_throttled",
                     outcome="denied")
        return None
    throttle.record_failure(session, keys, rules)
    audit.record(session, Actor(user.id if user else None, username[:64], user.role.value if user else None,
                                None, ip, request_id), "auth.login_failed", outcome="denied")
    return None
