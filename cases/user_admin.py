"""Administering users: the password policy, who may manage whom, and each change to an account.

An administrator manages the users whose whole scope lies inside their own (a province
administrator: the users of that province and of its communes) and grants no scope outside it.
Every change is audited (before → after, never a password or a hash), and every change that
alters what a user may do or how they prove who they are ends that user's sessions.
Services flush and never commit; `by` is the administrator acting, None for the command line.
"""
from __future__ import annotations

import re
import secrets

from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import NotFound

from cases import audit, throttle
from cases import access
from cases.access import may_see_commune
from cases.audit import Actor
from cases.changes import utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import Commune, Province, User, user_communes
from cases.roles import Role
from cases.sessions import end_sessions
from cases.throttle import ThrottleRules
from cases.passwords import MAX_PASSWORD_LENGTH, check_password
from cases.users import create_user, hasher

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
# Without look-alikes (0/o, 1/l/i): a generated password is read off a screen and typed by hand.
_GENERATED_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class CurrentPasswordWrong(DomainError):
    """The current password did not match. The failure is counted (as a failed login is) and
    audited, and nothing else was changed: the caller commits instead of rolling back."""


def generate_password() -> str:
    """A random password to read out once: four groups of four (about 79 bits)."""
    return "-".join("".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(4)) for _ in range(4))


# --- Who manages whom -----------------------------------------------------------------------

def require_admin(user: User) -> None:
    """:raise NotPermitted: (403) `user` is not an active administrator."""
    access.require_admin(user, _("quản lý người dùng"))


def manages(admin: User, user: User) -> bool:
    """Whether `user`'s whole scope lies inside `admin`'s (the same rule as `managed_scope`)."""
    if user.province_id is not None:
        return admin.province_id == user.province_id
    return bool(user.communes) and all(may_see_commune(admin, c) for c in user.communes)


def managed_scope(admin: User):
    """The WHERE clause on `users` for the users `admin` manages."""
    with_communes = select(user_communes.c.user_id)
    if admin.province_id is not None:
        outside = select(user_communes.c.user_id).join(Commune, Commune.id == user_communes.c.commune_id) \
            .where(Commune.province_id != admin.province_id)
        return or_(User.province_id == admin.province_id,
                   and_(User.province_id.is_(None), User.id.in_(with_communes), User.id.not_in(outside)))
    own = [c.id for c in admin.communes]
    if not own:
        return false()
    outside = select(user_communes.c.user_id).where(user_communes.c.commune_id.not_in(own))
    return and_(User.province_id.is_(None), User.id.in_(with_communes), User.id.not_in(outside))


def managed_users(session: Session, admin: User) -> list[User]:
    """The users `admin` manages, by username, with the units of their scope.

    :raise NotPermitted: (403) `admin` is not an administrator.
    """
    require_admin(admin)
    return list(session.scalars(select(User).where(managed_scope(admin)).order_by(User.username)
                                .options(selectinload(User.province), selectinload(User.communes))))


def get_managed_user(session: Session, admin: User, user_id: int) -> User:
    """The user `user_id` if `admin` manages them.

    :raise NotPermitted: (403) `admin` is not an administrator.
    :raise NotFound: (404) no such user, or outside `admin`'s scope.
    """
    require_admin(admin)
    user = session.get(User, user_id)
    if user is None or not manages(admin, user):
        raise NotFound()
    return user


def grantable_provinces(admin: User) -> list[Province]:
    return [admin.province] if admin.province is not None else []


def grantable_communes(session: Session, admin: User) -> list[Commune]:
    if admin.province_id is not None:
        return list(session.scalars(select(Commune).where(Commune.province_id == admin.province_id)
                                    .order_by(Commune.name)))
    return sorted(admin.communes, key=lambda c: c.name)


def _check_manages(by: User | None, user: User) -> None:
    if by is not None:
        require_admin(by)
        if not manages(by, user):
            raise NotFound()


def _check_grantable(by: User | None, province: Province | None, communes: list[Commune]) -> None:
    if (province is None) == (not communes):
        raise DomainError(_("Người dùng phải thuộc một tỉnh hoặc một số xã (chỉ một trong hai)."), "scope")
    if by is None:
        return
    if (province is not None and province.id != by.province_id) or not all(may_see_commune(by, c) for c in communes):
        raise NotPermitted(_("Không được giao phạm vi ngoài phạm vi quản lý của bạn."))


def _scope_of(user: User) -> dict:
    return {"province": user.province.code if user.province else None, "communes": [c.code for c in user.communes]}


# --- Changes to an account ------------------------------------------------------------------

def add_user(session: Session, actor: Actor, by: User | None, *, username: str, full_name: str, role: Role,
             province: Province | None = None, communes: list[Commune] = (), email: str | None = None,
             password: str | None = None) -> tuple[User, str | None]:
    """Add a user within `by`'s scope; with no password given, one is generated.

    Returns the user and the generated password (None when one was given), to be shown once.
    :raise NotPermitted: the scope lies outside `by`'s.
    :raise DomainError: a malformed or taken username, a weak password, an unclear scope.
    """
    if by is not None:
        require_admin(by)
    if not USERNAME.fullmatch(username):
        raise DomainError(_("Tên đăng nhập gồm 3–64 chữ thường không dấu, chữ số, dấu chấm, gạch dưới hoặc "
                            "gạch ngang."), "username")
    _check_grantable(by, province, list(communes))
    generated = generate_password() if not password else None
    if password:
        check_password(password, username)
    user = create_user(session, actor, username=username, full_name=full_name, password=password or generated,
                       role=role, province=province, communes=list(communes), email=email)
    user.password_changed_at = utcnow()
    return user, generated


def disable_user(session: Session, actor: Actor, by: User | None, user: User) -> bool:
    """Disable `user` and end their sessions. False if they were disabled already.

    :raise DomainError: an administrator disabling themselves.
    """
    _check_manages(by, user)
    if by is not None and by.id == user.id:
        raise DomainError(_("Bạn không thể tự khoá tài khoản của mình."))
    if not user.active:
        return False
    user.active = False
    end_sessions(session, user)
    audit.record(session, actor, "user.disable", detail={"username": user.username, "active": [True, False]})
    return True


def enable_user(session: Session, actor: Actor, by: User | None, user: User) -> bool:
    """Let a disabled user log in again. False if they were active already."""
    _check_manages(by, user)
    if user.active:
        return False
    user.active = True
    session.flush()
    audit.record(session, actor, "user.enable", detail={"username": user.username, "active": [False, True]})
    return True


def reset_password(session: Session, actor: Actor, by: User | None, user: User, password: str | None = None) -> str:
    """Set a new password for `user` (the one given, or a generated one) and end their sessions.

    Returns the new password, for the administrator to pass on once; it is stored only as a hash.
    :raise DomainError: a weak password, or an administrator resetting their own (they change it
        on their account page, which asks for the current one).
    """
    _check_manages(by, user)
    if by is not None and by.id == user.id:
        raise DomainError(_("Hãy đổi mật khẩu của chính bạn ở trang Đổi mật khẩu."), "password")
    generated = not password
    password = generate_password() if generated else password
    check_password(password, user.username)
    _set_password(session, user, password)
    audit.record(session, actor, "user.password_reset", detail={"username": user.username, "generated": generated})
    return password


def change_role(session: Session, actor: Actor, by: User | None, user: User, role: Role) -> bool:
    """Give `user` another role and end their sessions. False if it is the role they have.

    :raise DomainError: an administrator giving up their own administrator role.
    """
    _check_manages(by, user)
    if role is user.role:
        return False
    if by is not None and by.id == user.id:
        raise DomainError(_("Bạn không thể tự bỏ vai trò quản trị của mình."), "role")
    before, user.role = user.role, role
    end_sessions(session, user)
    audit.record(session, actor, "user.role_change", detail={"username": user.username, "role": [before, role]})
    return True


def change_scope(session: Session, actor: Actor, by: User | None, user: User,
                 province: Province | None = None, communes: list[Commune] = ()) -> bool:
    """Scope `user` to a whole province or to some communes (exactly one), and end their sessions.
    False if the scope is the one they have.

    :raise NotPermitted: the new scope lies outside `by`'s.
    :raise DomainError: both or neither of a province and communes.
    """
    _check_manages(by, user)
    communes = sorted(communes, key=lambda c: c.code)
    _check_grantable(by, province, communes)
    before = _scope_of(user)
    user.province, user.communes = province, communes
    after = _scope_of(user)
    if after == before:
        return False
    end_sessions(session, user)
    audit.record(session, actor, "user.scope_change", detail={
        "username": user.username, **{key: [before[key], after[key]] for key in before if before[key] != after[key]}})
    return True


def change_own_password(session: Session, actor: Actor, user: User, current: str, new: str) -> None:
    """The user's own new password, after checking the current one; ends all their sessions.

    Wrong current passwords are throttled with the user's failed logins: a stolen session must not
    become a way to guess the password.
    :raise CurrentPasswordWrong: the current password does not match (counted and audited).
    :raise DomainError: the new password breaks the policy or is the current one.
    """
    if not _current_password_holds(session, actor, user, current):
        raise CurrentPasswordWrong(_("Mật khẩu hiện tại không đúng."), "current_password")
    check_password(new, user.username, "new_password")
    if new == current:
        raise DomainError(_("Mật khẩu mới phải khác mật khẩu hiện tại."), "new_password")
    _set_password(session, user, new)
    audit.record(session, actor, "user.password_change", detail={"username": user.username})


def _current_password_holds(session: Session, actor: Actor, user: User, current: str) -> bool:
    rules = ThrottleRules.from_config(current_app.config)
    keys = throttle.keys_for(user.username, actor.ip)
    if throttle.attempt_refused(session, keys, rules) or len(current) > MAX_PASSWORD_LENGTH:
        holds = False
    else:
        try:
            holds = hasher().verify(user.password_hash, current)
        except (VerificationError, InvalidHashError):
            holds = False
    if not holds:
        throttle.record_failure(session, keys, rules)
        audit.record(session, actor, "user.password_change", outcome="denied",
                     detail={"username": user.username, "reason": "current_password_wrong"})
    return holds


def _set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hasher().hash(password)
    user.password_changed_at = utcnow()
    end_sessions(session, user)
