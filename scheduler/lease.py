"""One active scheduler: a lease row in the database, on SQLite and PostgreSQL alike.

Every scheduler process tries to take the lease every poll; the holder renews it. The UPDATE is
conditional (the lease is free, has expired, or is already ours), so the database decides who
holds it. A holder that dies stops renewing and a standby takes over once the lease expires;
a clean shutdown releases it at once. Clocks of the hosts are taken to agree (NTP) to well
within the lease's length.
"""
from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from cases.changes import utcnow
from cases.models.scheduling import SchedulerLease
from extensions import write_intent

LEASE_NAME = "scheduler"
_lease = SchedulerLease.__table__


def new_holder_id() -> str:
    """host:pid:random, so an administrator can tell which process acts."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


class Lease:
    """The lease as one scheduler process sees it. Each call runs in a short transaction of its
    own on `engine`, never in a job's session."""

    def __init__(self, engine: Engine, holder: str, seconds: float, clock: Callable[[], datetime] = utcnow,
                 name: str = LEASE_NAME):
        self.engine, self.holder, self.seconds, self.clock, self.name = engine, holder, seconds, clock, name
        self.held_until: datetime | None = None

    def acquire(self) -> bool:
        """Take or renew the lease; whether this process holds it now."""
        now = self.clock()
        until = now + timedelta(seconds=self.seconds)
        free = or_(_lease.c.holder.is_(None), _lease.c.holder == self.holder, _lease.c.expires_at < now)
        taken = {"holder": self.holder, "expires_at": until}
        with write_intent(), self.engine.begin() as conn:
            current = conn.execute(select(_lease.c.holder).where(_lease.c.name == self.name)).first()
            if current is not None:
                if current.holder != self.holder:
                    taken["taken_at"] = now
                won = conn.execute(update(_lease).where(_lease.c.name == self.name, free).values(**taken)).rowcount == 1
        if current is None:
            return self._create(now, until)
        self.held_until = until if won else None
        return won

    def _create(self, now: datetime, until: datetime) -> bool:
        try:
            with write_intent(), self.engine.begin() as conn:
                conn.execute(insert(_lease).values(name=self.name, holder=self.holder, expires_at=until, taken_at=now))
        except IntegrityError:      # another scheduler created it first: it holds it
            self.held_until = None
            return False
        self.held_until = until
        return True

    def holds(self) -> bool:
        """Whether the lease this process last took is still valid by its own clock (no query)."""
        return self.held_until is not None and self.clock() < self.held_until

    def release(self) -> None:
        """Give the lease up (clean shutdown), so a standby takes over at its next poll."""
        with write_intent(), self.engine.begin() as conn:
            conn.execute(update(_lease).where(_lease.c.name == self.name, _lease.c.holder == self.holder)
                         .values(holder=None, expires_at=None))
        self.held_until = None


def current_lease(session, name: str = LEASE_NAME) -> SchedulerLease | None:
    """The lease row as it stands (for the administrators' page), or None before any scheduler ran."""
    return session.get(SchedulerLease, name)
