"""Login throttling, counted in the database so every worker and host sees the same counts.

Failures are counted per account (`user:<name>`) and per client address (`ip:<address>`). After
a few failures each key must wait before its next attempt is even checked (slower), after more
it is locked for a while. A refused attempt reads exactly like a wrong password, so the answer
says nothing about which rule applied or whether the account exists.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cases.changes import utcnow
from cases.models import LoginThrottle


@dataclass(frozen=True)
class ThrottleRules:
    slow_after: int          # failures after which each key waits before its next attempt
    lock_after: int          # failures after which the key is locked
    lock_minutes: int        # how long a lock lasts; also how long failures are remembered
    address_factor: int = 5  # an office shares one address: its limits are this many times higher

    @classmethod
    def from_config(cls, config) -> ThrottleRules:
        return cls(int(config["LOGIN_SLOW_AFTER"]), int(config["LOGIN_LOCK_AFTER"]), int(config["LOGIN_LOCK_MINUTES"]))

    def wait_after(self, failures: int, for_address: bool) -> timedelta:
        """How long a key with `failures` recent failures waits before its next attempt counts."""
        slow = self.slow_after * (self.address_factor if for_address else 1)
        if failures < slow:
            return timedelta(0)
        return timedelta(seconds=min(2 ** (failures - slow), 60))

    def locks_at(self, for_address: bool) -> int:
        return self.lock_after * (self.address_factor if for_address else 1)


def keys_for(username: str, ip: str | None) -> list[str]:
    keys = [f"user:{username.strip().lower()[:64]}"]
    if ip:
        keys.append(f"ip:{ip[:64]}")
    return keys


def attempt_refused(session: Session, keys: list[str], rules: ThrottleRules, moment: datetime | None = None) -> bool:
    """Whether any key is locked, or has not yet waited out its slow-down, right now."""
    moment = moment or utcnow()
    rows = session.execute(select(LoginThrottle).where(LoginThrottle.key.in_(keys))).scalars()
    for row in rows:
        if row.locked_until is not None and row.locked_until > moment:
            return True
        if _expired(row, rules, moment):
            continue
        if moment < row.last_failure_at + rules.wait_after(row.failures, row.key.startswith("ip:")):
            return True
    return False


def record_failure(session: Session, keys: list[str], rules: ThrottleRules, moment: datetime | None = None) -> None:
    """Count one failure on each key, in one atomic statement per key (concurrent workers add up),
    and lock a key that reaches its limit."""
    moment = moment or utcnow()
    forget_before = moment - timedelta(minutes=rules.lock_minutes)
    table = LoginThrottle.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for key in keys:
        statement = insert(table).values(key=key, failures=1, last_failure_at=moment, locked_until=None)
        # Failures older than the lock period are forgotten: the count starts again.
        carried = case((table.c.last_failure_at < forget_before, 1), else_=table.c.failures + 1)
        session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"failures": carried, "last_failure_at": moment}))
        locks_at = rules.locks_at(key.startswith("ip:"))
        session.execute(table.update().where(table.c.key == key, table.c.failures >= locks_at)
                        .values(locked_until=moment + timedelta(minutes=rules.lock_minutes), failures=0))


def record_success(session: Session, username: str) -> None:
    """The account's own count starts again; the address keeps its count (one good password on an
    address does not buy another batch of guesses at other accounts)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys_for(username, None)[0]))


def _expired(row: LoginThrottle, rules: ThrottleRules, moment: datetime) -> bool:
    return row.last_failure_at < moment - timedelta(minutes=rules.lock_minutes)

