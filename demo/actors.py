"""The officer and supervisor who act on each commune's synthetic cases.

A commune's first active officer and supervisor are reused; the missing ones are created in bulk
(`canbo.<code>`, `lanhdao.<code>`) with a `user.create` record each, like `cases.users.create_user`
writes. They share one password hash of a random secret nobody is told: they exist to be named
in the history, and an administrator can give one a password later. One argon2 hash instead of
one per user is what makes 6,642 national actors take a second instead of twenty minutes.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from random import Random

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from cases.models import Commune, Sex, User, user_communes
from cases.roles import Role
from cases.users import hasher
from cases.audit_chain import ActorRow, AuditChain, canonical, unsealed
from demo.people import ethnic_mix, full_name
from demo.places import CommuneActors, CommuneLike

ACTOR_ROLES = (Role.OFFICER, Role.SUPERVISOR)
USERNAME_PREFIX = {Role.OFFICER: "canbo", Role.SUPERVISOR: "lanhdao"}


def ensure_commune_actors(session: Session, communes: Sequence[CommuneLike], province_codes: dict[int, str],
                          chain: AuditChain, *, seed: int, created_at: datetime,
                          system: ActorRow) -> tuple[dict[int, CommuneActors], int]:
    """An officer and a supervisor for every commune; returns them and how many were created."""
    found = existing_actors(session, [c.id for c in communes])
    wanted = [(c, role) for c in communes for role in ACTOR_ROLES if (c.id, role) not in found]
    if wanted:
        found |= _create(session, wanted, province_codes, chain, seed=seed, created_at=created_at, system=system)
    return {c.id: CommuneActors(found[c.id, Role.OFFICER], found[c.id, Role.SUPERVISOR]) for c in communes}, len(wanted)


def existing_actors(session: Session, commune_ids: list[int]) -> dict[tuple[int, Role], ActorRow]:
    """(commune id, role) → the lowest-numbered active user of that role scoped to that commune."""
    rows = session.execute(
        select(User.id, User.username, User.role, user_communes.c.commune_id)
        .join(user_communes, user_communes.c.user_id == User.id)
        .where(user_communes.c.commune_id.in_(commune_ids), User.active, User.role.in_(ACTOR_ROLES))
        .order_by(User.id)).all()
    units = _unit_labels(session, {r.id for r in rows})
    found: dict[tuple[int, Role], ActorRow] = {}
    for row in rows:
        found.setdefault((row.commune_id, row.role), ActorRow(row.id, row.username, row.role.value, units[row.id]))
    return found


def _unit_labels(session: Session, user_ids: set[int]) -> dict[int, str]:
    """As `User.unit_label` says it: "communes:" and the codes, in code order."""
    codes: dict[int, list[str]] = defaultdict(list)
    if user_ids:
        for user_id, code in session.execute(
                select(user_communes.c.user_id, Commune.code).join(Commune, Commune.id == user_communes.c.commune_id)
                .where(user_communes.c.user_id.in_(user_ids)).order_by(Commune.code)):
            codes[user_id].append(code)
    return {user_id: "communes:" + ",".join(found) for user_id, found in codes.items()}


def _create(session: Session, wanted: list[tuple[CommuneLike, Role]], province_codes: dict[int, str],
            chain: AuditChain, *, seed: int, created_at: datetime,
            system: ActorRow) -> dict[tuple[int, Role], ActorRow]:
    users = _new_users(session, wanted, province_codes, Random(f"{seed}:actors"), created_at)
    first_new = session.execute(select(func.coalesce(func.max(User.id), 0))).scalar_one() + 1
    session.execute(insert(User), users)
    ids = dict(session.execute(select(User.username, User.id).where(User.id >= first_new)).all())
    session.execute(insert(user_communes), [{"user_id": ids[u["username"]], "commune_id": c.id}
                                            for u, (c, _) in zip(users, wanted)])
    when, system_text = created_at.isoformat(sep=" ", timespec="microseconds"), system.hashed_text()
    chain.seal(unsealed(when, system, system_text, "user.create", None, None, canonical({
        "username": user["username"], "role": role, "province": None, "communes": [commune.code]}))
        for user, (commune, role) in zip(users, wanted))
    return {(commune.id, role): ActorRow(ids[user["username"]], user["username"], role.value,
                                         f"communes:{commune.code}")
            for user, (commune, role) in zip(users, wanted)}


def _new_users(session: Session, wanted: list[tuple[CommuneLike, Role]], province_codes: dict[int, str],
               rng: Random, created_at: datetime) -> list[dict]:
    """Rows for the users table, one per (commune, role), sharing one unusable password hash."""
    password_hash = hasher().hash(secrets.token_urlsafe(24))
    taken = set(session.scalars(select(User.username).where(
        User.username.in_([_username(c, r) for c, r in wanted]))))
    users = []
    for commune, role in wanted:
        username = _username(commune, role)
        if username in taken:  # a deactivated or re-scoped account keeps its name
            username = f"{username}.{rng.randrange(10_000):04d}"
        sex = Sex.FEMALE if rng.random() < 0.6 else Sex.MALE
        ethnicity = ethnic_mix(province_codes[commune.province_id]).pick(rng)
        users.append({"username": username, "full_name": full_name(rng, ethnicity, sex, rng.randint(1970, 1995)),
                      "email": None, "password_hash": password_hash, "role": role, "province_id": None,
                      "active": True, "created_at": created_at})
    return users


def _username(commune: CommuneLike, role: Role) -> str:
    return f"{USERNAME_PREFIX[role]}.{commune.code}"
