"""`flask bench sweep`: the daily escalation over the whole dataset (issue 19).

Times what the scheduler's job does — find the stalled cases and proposals, record the
escalations, write one digest per recipient into the outbox — in one transaction, which is then
rolled back: the dataset stays as generated, so every run measures the same first sweep.
"""
from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import update

from cases.changes import local_today, utcnow
from cases.digests import write_digests
from cases.escalation import escalate_stalled_cases
from cases.models import User
from extensions import db, write_intent


def measure_sweep(app: Flask) -> dict:
    with app.app_context(), write_intent():
        # The generated users have no email address; give each one, inside the transaction that is
        # rolled back (and before the clock starts), so every recipient's digest is written.
        db.session.execute(update(User).where(User.email.is_(None))
                           .values(email=User.username + "@bench.invalid"))
        today, now = local_today(), utcnow()
        started = time.perf_counter()
        escalated = escalate_stalled_cases(db.session, today, now)
        db.session.flush()
        found = time.perf_counter()
        digests = write_digests(db.session, today, app.config["BASE_URL"], now)
        db.session.flush()
        ended = time.perf_counter()
        db.session.rollback()
        _vacuum_after_rollback()
    written = digests.get("digests", 0)
    return {
        "sweep_s": round(ended - started, 2),
        "sweep_escalations": sum(v for k, v in escalated.items() if isinstance(v, int)),
        "sweep_digests": written,
        "digest_render_per_s": round(written / max(ended - found, 1e-6)),
    }


def _vacuum_after_rollback() -> None:
    """On PostgreSQL the rolled-back sweep leaves its 650,000 rows as dead tuples, and the next
    benchmark's queue pages read the escalations through them (queue p95 4.7 → 9 ms measured);
    a real sweep commits, and autovacuum keeps up with a day's rows. Clean them now."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("escalations", "outbox_messages"):
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
