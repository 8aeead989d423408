"""A case's story as its page tells it: the audit trail's records and the case's escalations, newest
first, each with who did it (full name, role at the time) and what changed.

Two queries whatever the length of the history: the records with their actors' names (joined),
then the names of the villages (and of any user who is not an actor) the records mention. The labels and formats are the
presentation layer's (views/present); this module keeps codes and values as stored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session

from cases.masking import mask_detail
from cases.models import AuditRecord, Case, Escalation, User, Village

# What a record may hold that a reader has no use for: bookkeeping of the row itself, and
# columns kept for search or shown by a field beside them (the province by its commune).
HIDDEN = frozenset({"version", "updated_at", "updated_by_id", "created_at", "created_by_id",
                    "state_entered_at", "status", "province_id", "name_folded", "name_given_first", "id"})
# What a new case's record shows of the data it was registered with.
REGISTERED = ("full_name", "birth_date", "sex", "national_id", "commune_id", "village_id", "address_detail",
              "policy_group", "category_code", "monthly_amount", "benefit_decision_number",
              "benefit_start_month", "guardian_name", "notes")
USER_FIELDS = ("created_by_id", "updated_by_id", "assigned_to_id")
# A form's field → the case's column it is stored in: when the record shows the column changing, the
# form's copy of the value says nothing more.
STORED_AS = {"source": "identity_source", "verified_on": "identity_verified_on", "problem": "identity_problem",
             "follow_up_on": "identity_follow_up_on", "holder": "account_holder", "holder_name": "account_holder_name",
             "holder_national_id": "account_holder_national_id", "opened_on": "account_opened_on",
             "month_paid": "last_paid_month", "reference": "last_payment_reference",
             "reason_code": "status_reason_code", "decision_number": "status_decision_number",
             "effective_month": "status_effective_month"}
LIMIT = 200


@dataclass
class Event:
    """One line of the timeline. `kind` says how the page words it: create, edit, transition,
    proposal, approve, reject, withdraw, take_effect, refused, reveal, escalation or other."""
    at: datetime
    kind: str
    action: str
    actor_name: str | None = None
    actor_role: str | None = None
    trigger: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    changes: dict = field(default_factory=dict)   # {key: [before, after]}, personal numbers masked
    data: dict = field(default_factory=dict)      # {key: value}, what a form recorded
    reason: str | None = None
    detail: dict = field(default_factory=dict)    # the rest of the record (masked)
    tier: int | None = None


@dataclass
class Timeline:
    events: list[Event]
    villages: dict[int, str]     # the names the events mention, for the page's formats
    users: dict[int, str]
    truncated: bool


_KINDS = {"case.create": "create", "case.edit": "edit", "case.transition": "transition",
          "proposal.create": "proposal", "proposal.approve": "approve", "proposal.reject": "reject",
          "proposal.withdraw": "withdraw", "decision.take_effect": "take_effect", "decision.refused": "refused",
          "case.reveal": "reveal"}

_RECORDS = (select(AuditRecord, User.full_name)
            .outerjoin(User, User.id == AuditRecord.actor_id)
            .where(AuditRecord.case_id == bindparam("case_id"))
            .order_by(AuditRecord.seq.desc()).limit(bindparam("limit")))
_VILLAGE_NAMES = select(literal("village"), Village.id, Village.name).where(
    Village.id.in_(bindparam("villages", expanding=True)))
# The people the records name are mostly their own actors, whose names came with the records: the
# others (an assigned officer, say) are read in the same statement as the villages.
_VILLAGE_AND_USER_NAMES = union_all(
    _VILLAGE_NAMES,
    select(literal("user"), User.id, User.full_name).where(User.id.in_(bindparam("users", expanding=True))))


def case_timeline(session: Session, case: Case, escalations: list[Escalation] = (), limit: int = LIMIT) -> Timeline:
    """The case's events, newest first: its last `limit` audit records and its escalations
    (loaded by the caller, `cases.escalation.escalations_of`). The caller has checked scope."""
    rows = session.execute(_RECORDS, {"case_id": case.id, "limit": limit + 1}).all()
    events = [_event(record, name) for record, name in rows[:limit]]
    events += [Event(e.escalated_at, "escalation", "escalation", tier=e.tier,
                     from_state=getattr(e.state, "value", e.state), detail={"proposal": e.proposal_id is not None})
               for e in escalations]
    events.sort(key=lambda e: e.at, reverse=True)
    actors = {record.actor_id: name for record, name in rows if record.actor_id is not None and name}
    villages, users = _mentioned(events)
    users -= set(actors)
    found = session.execute(_VILLAGE_AND_USER_NAMES if users else _VILLAGE_NAMES,
                            {"villages": sorted(villages), "users": sorted(users)}).all()
    return Timeline(events, {i: n for k, i, n in found if k == "village"},
                    actors | {i: n for k, i, n in found if k == "user"}, truncated=len(rows) > limit)


def _event(record: AuditRecord, actor_name: str | None) -> Event:
    detail = mask_detail(json.loads(record.detail)) if record.detail else {}
    kind = _KINDS.get(record.action, "other")
    data = detail.pop("data", None) or {}
    changes = detail.pop("changes", None) or {}
    if kind == "create":
        fields = detail.pop("fields", None) or {}
        data = {k: fields[k] for k in REGISTERED if fields.get(k) not in (None, "", False)}
    if kind in ("approve", "take_effect"):
        data = {}     # the proposal's own record shows what it asked for
    changes = {k: v for k, v in changes.items() if k not in HIDDEN}
    data = {k: v for k, v in data.items()
            if k not in HIDDEN and v not in (None, "", False) and k not in changes and STORED_AS.get(k) not in changes}
    return Event(
        at=record.occurred_at, kind=kind, action=record.action, actor_name=actor_name,
        actor_role=record.actor_role, trigger=detail.pop("trigger", None),
        from_state=detail.pop("from", None), to_state=detail.pop("to", None),
        changes=changes, data=data,
        reason=record.reason, detail=detail)


def _mentioned(events: list[Event]) -> tuple[set[int], set[int]]:
    villages: set[int] = set()
    users: set[int] = set()
    for event in events:
        for key, value in [*event.data.items(), *((k, v) for k, pair in event.changes.items() for v in pair)]:
            if isinstance(value, int) and not isinstance(value, bool):
                if key == "village_id":
                    villages.add(value)
                elif key in USER_FIELDS:
                    users.add(value)
    return villages, users
