"""The daily escalation sweep (BRIEF section 6): a case past its state's SLA escalates to tier 1
(its commune's officers), past twice the SLA to tier 2 (the commune's supervisors), past three
times to tier 3 (the province's supervisors); a pending proposal the same way on PROPOSAL_SLA.

Set-based: each (state, tier)'s cut-off moment is computed once per run, and one
INSERT ... SELECT per (state, tier) records every stalled case that has no escalation for that
tier and stay yet, found by a range on the queue index (commune, status, state_entered_at). What
is due is computed from the data and the calendar, so one run after a missed day catches up.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import DateTime, String, and_, exists, func, insert, literal, select, true, union_all
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from cases import audit
from cases.audit import Actor
from cases.calendar import WorkingCalendar, working_calendar
from cases.changes import utcnow
from cases.models import Case, Commune, Escalation, Proposal, ProposalStatus
from workflow.table import PROPOSAL_SLA, STATES, Sla

TIERS = (1, 2, 3)
SWEEPER = Actor.system("escalation")
_COLUMNS = ["case_id", "proposal_id", "tier", "state", "stay_started_at", "commune_id", "province_id",
            "escalated_on", "escalated_at"]


def months_back(day: date, months: int) -> date:
    """The same day `months` earlier, or the month's last day when it has fewer days."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return min(day.replace(year=year, month=month, day=1) + timedelta(days=day.day - 1),
               following - timedelta(days=1))


def cutoff(sla: Sla, tier: int, today: date, calendar: WorkingCalendar) -> datetime:
    """The moment (UTC, exclusive) before which a stay began that is past `tier` times `sla` on
    `today`. Days are counted on the stay's start date, as the queues count them."""
    n = tier * sla.amount
    if sla.unit == "working_days":
        # The last start date that has n + 1 working days in state by today: past n.
        last = calendar.add_working_days(today, -(n + 1))
    elif sla.unit == "days":
        last = today - timedelta(days=n + 1)
    elif sla.unit == "months":
        last = months_back(today, n) - timedelta(days=1)
    else:
        raise ValueError(f"unknown SLA unit {sla.unit!r}")
    return datetime.combine(last + timedelta(days=1), time())


def escalate_stalled_cases(session: Session, today: date, now: datetime | None = None) -> dict:
    """Record the escalations due on `today` (the run's local date); flushes, never commits.
    Returns counts per tier ("cases_tier_1", ..., "proposals_tier_1", ...)."""
    now = now or utcnow()
    calendar = working_calendar(session)
    counts = {}
    for tier in TIERS:
        cutoffs = [(spec.state.value, cutoff(spec.sla, tier, today, calendar))
                   for spec in STATES.values() if spec.sla is not None]
        counts[f"cases_tier_{tier}"] = _escalate_cases(session, tier, cutoffs, today, now)
        counts[f"proposals_tier_{tier}"] = _escalate_proposals(
            session, tier, cutoff(PROPOSAL_SLA, tier, today, calendar), today, now)
    # One record per run: a million-case sweep stays set-based; the rows say which cases.
    audit.record(session, SWEEPER, "escalation.sweep", detail={"on": today.isoformat(), **counts})
    return counts


def _escalate_cases(session: Session, tier: int, cutoffs: list[tuple[str, datetime]], today: date,
                    now: datetime) -> int:
    """One INSERT ... SELECT for the tier, the states' cut-offs joined as a table, so PostgreSQL
    reads the cases once per tier and SQLite, from the communes, walks one range of the queue
    index (commune, status, state_entered_at) per commune and state."""
    # A UNION ALL of one-row SELECTs: SQLite cannot name the columns of a VALUES list.
    due = union_all(*(select(literal(state, String).label("state"), literal(before, DateTime).label("before"))
                      for state, before in cutoffs)).subquery("due")
    recorded = exists().where(Escalation.case_id == Case.id, Escalation.tier == tier,
                              Escalation.stay_started_at == Case.state_entered_at,
                              Escalation.proposal_id.is_(None))
    stalled = (select(Case.id, literal(None), literal(tier), Case.status, Case.state_entered_at,
                      Case.commune_id, Case.province_id, literal(today), literal(now))
               .select_from(due)
               .join(Commune, true())
               .join(Case, and_(Case.commune_id == Commune.id, Case.status == due.c.state,
                                Case.state_entered_at < due.c.before)))
    return _insert(session, stalled, recorded, ["case_id", "tier", "stay_started_at"], Escalation.proposal_id.is_(None))


def _escalate_proposals(session: Session, tier: int, before: datetime, today: date, now: datetime) -> int:
    recorded = exists().where(Escalation.proposal_id == Proposal.id, Escalation.tier == tier)
    stalled = (select(Proposal.case_id, Proposal.id, literal(tier), Case.status, Proposal.proposed_at,
                      Case.commune_id, Case.province_id, literal(today), literal(now))
               .join(Case, Case.id == Proposal.case_id)
               .where(Proposal.status == ProposalStatus.PENDING, Proposal.proposed_at < before))
    return _insert(session, stalled, recorded, ["proposal_id", "tier"], Escalation.proposal_id.is_not(None))


def _insert(session: Session, stalled, recorded, unique: list[str], where) -> int:
    """Insert what `stalled` selects, but for the rows `recorded` says exist; the number inserted.

    PostgreSQL skips them by the unique index itself (ON CONFLICT DO NOTHING), which also waits
    for a concurrent run's uncommitted rows instead of failing. It is not also given NOT EXISTS:
    planned from statistics that know nothing of the rows being inserted (an empty table on a
    first sweep), the anti-join became a nested loop scanning every new row for each candidate,
    and the sweep never ended. SQLite writes one transaction at a time and plans by the index,
    so NOT EXISTS serves there.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        statement = (postgresql.insert(Escalation.__table__).from_select(_COLUMNS, stalled)
                     .on_conflict_do_nothing(index_elements=unique, index_where=where))
    else:
        statement = insert(Escalation.__table__).from_select(_COLUMNS, stalled.where(~recorded))
    # SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg would report -1).
    return connection.execute(statement, execution_options={"preserve_rowcount": True}).rowcount


def escalations_of(session: Session, case_id: int) -> list[Escalation]:
    """The case's escalations and its proposals', newest first (the case page; the caller has
    checked scope). Two lookups, each naming the predicate of its partial unique index: a bare
    `case_id =` matches neither index, and one query OR-ing the two was planned as a scan."""
    of_case = select(Escalation).where(Escalation.proposal_id.is_(None), Escalation.case_id == case_id)
    of_proposals = select(Escalation).where(
        Escalation.proposal_id.is_not(None),
        Escalation.proposal_id.in_(select(Proposal.id).where(Proposal.case_id == case_id)))
    found = [*session.scalars(of_case), *session.scalars(of_proposals)]
    return sorted(found, key=lambda e: (e.escalated_on, e.id), reverse=True)


def current_tiers(session: Session, case_ids: list[int]) -> dict[int, int]:
    """{case id: highest tier of its current stay} among `case_ids` (a queue page's flags)."""
    if not case_ids:
        return {}
    rows = session.execute(
        select(Escalation.case_id, func.max(Escalation.tier))
        .join(Case, and_(Case.id == Escalation.case_id, Case.state_entered_at == Escalation.stay_started_at))
        .where(Escalation.case_id.in_(case_ids), Escalation.proposal_id.is_(None))
        .group_by(Escalation.case_id))
    return dict(rows.all())
