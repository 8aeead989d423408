"""One synthetic case's history: when each step happened, who did it, and the records it left.

A case is registered by its commune's officer, then walked along its route: each step records
what its form would have posted and what it changed, as `cases.actions.fire_transition` does;
a step that needs approval is proposed by the officer and approved, days later, by the
commune's supervisor. Everything happens in office hours (08:00–17:00 in Vietnam), in order,
before `today`. Records are left unsealed (`cases.audit_chain.Unsealed`): the chain is one sequence,
so only the process writing it numbers and hashes them.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from operator import itemgetter
from random import Random

from cases.models import Proposal, ProposalStatus
from demo.beneficiaries import CASE_COLUMNS, creation_detail, register
from cases.audit_chain import ActorRow, Unsealed, canonical, unsealed
from demo.people import NationalIds
from demo.places import Place
from demo.routes import PENDING_TRIGGERS, ROUTES, Route
from demo.stays import StayLog
from demo.steps import APPROVAL_NOTE, PROPOSAL_NOTES, STEPS, StepContext
from workflow.states import CaseState as S

PROPOSAL_TABLE = Proposal.__table__
PROPOSAL_COLUMNS = tuple(c.name for c in PROPOSAL_TABLE.columns)
_CASE_ROW = itemgetter(*CASE_COLUMNS)
_PROPOSAL_ROW = itemgetter(*PROPOSAL_COLUMNS)

HISTORY_DAYS = 1200          # the oldest synthetic record is at most this many days old
ACTORS_CREATED_DAYS_AGO = 730
OFFICE_START = 3600          # 08:00 in Vietnam, as seconds after midnight UTC
OFFICE_SECONDS = 9 * 3600
PROVIDER_RETURN = ActorRow.system("provider-return")
PROVIDER_TRIGGERS = frozenset({"confirm_account_payment", "report_payment_failure"})

# How long ago a case entered its state, in days: work queues are mostly recent, with a tail of
# stalled cases; paid, suspended and closed cases are spread over the year.
STATE_AGE: dict[S, Callable[[Random], float]] = {
    S.IDENTITY_VERIFICATION: lambda rng: min(365.0, 0.5 + rng.expovariate(1 / 25)),
    S.PAYMENT_METHOD: lambda rng: min(365.0, 0.5 + rng.expovariate(1 / 30)),
    S.ACCOUNT_OPENING: lambda rng: min(365.0, 0.5 + rng.expovariate(1 / 40)),
    S.PAID_BY_ACCOUNT: lambda rng: rng.uniform(1, 365),
    S.PAID_IN_CASH: lambda rng: rng.uniform(1, 365),
    S.SUSPENDED: lambda rng: rng.uniform(1, 300),
    S.TERMINATED: lambda rng: rng.uniform(1, 365),
}


class OfficeClock:
    """Turns fractional day numbers into UTC timestamps in office hours, strictly increasing."""

    def __init__(self, today: date):
        self.horizon = float(HISTORY_DAYS)
        self._epoch = today - timedelta(days=HISTORY_DAYS)
        self._days = [(self._epoch + timedelta(days=n)).isoformat() for n in range(HISTORY_DAYS + 2)]
        self._last_second = -1
        self.last = ""

    def restart(self) -> None:
        """A new case: its own records must increase, not follow the previous case's."""
        self._last_second = -1

    def day_of(self, day: float) -> str:
        """The local date (ISO) of day number `day`: office hours never cross midnight."""
        return self._days[int(day)]

    def stamp(self, day: float) -> str:
        """`YYYY-MM-DD HH:MM:SS.000000`, the text SQLAlchemy stores for a DateTime on SQLite."""
        whole = int(day)
        second = whole * 86400 + OFFICE_START + int((day - whole) * OFFICE_SECONDS)
        second = self._last_second = max(second, self._last_second + 61)
        whole, second = divmod(second, 86400)
        self.last = f"{self._days[whole]} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000000"
        return self.last

    def at(self, days_ago: float) -> datetime:
        return datetime.combine(self._epoch, datetime.min.time()) + timedelta(days=self.horizon - days_ago)


class CaseHistories:
    """Builds cases with their histories into lists: case rows, proposal rows, unsealed records,
    and the stays before the last (`demo.stays`).

    Proposal ids are numbered from 0 here; the writer adds the first free id (`proposal_base`).
    """

    def __init__(self, rng: Random, today: date, ids: NationalIds, *, ncc_share: float, pending_share: float):
        self.rng, self.today, self.ids = rng, today, ids
        self.clock = OfficeClock(today)
        self.ncc_share, self.pending_share = ncc_share, pending_share
        self.cases: list[tuple] = []
        self.proposals: list[tuple] = []
        self.records: list[Unsealed] = []
        self.stays = StayLog()
        self.by_state: Counter[S] = Counter()
        self.pending = self.decided = 0
        self._actor_texts: dict[ActorRow, str] = {}

    def add(self, case_id: int, place: Place, state: S) -> None:
        route = ROUTES[state].pick(self.rng)
        registration = register(self.rng, place, state, self.today, self.ids, self.ncc_share)
        case = registration.fields
        case["id"] = case_id
        created_day, step_days = self._days(route, state)
        self.clock.restart()
        self._create(case, place, created_day)
        last_day = self._walk(case, place, route, created_day, step_days, registration.true_national_id)
        self.stays.end(case)
        if state in PENDING_TRIGGERS and self.rng.random() < self.pending_share:
            self._leave_pending(case, place, state, last_day)
        self.cases.append(_CASE_ROW(case))
        self.by_state[state] += 1

    def _record(self, stamp: str, actor: ActorRow, action: str, case_id: int, proposal: int | None,
                detail: str, reason: str | None = None) -> None:
        actor_text = self._actor_texts.get(actor)
        if actor_text is None:
            actor_text = self._actor_texts[actor] = actor.hashed_text()
        self.records.append(unsealed(stamp, actor, actor_text, action, case_id, proposal, detail, reason))

    def _days(self, route: Route, state: S) -> tuple[float, list[float]]:
        """The day numbers of registration and of each step, the entering step `STATE_AGE` ago."""
        rng, horizon = self.rng, self.clock.horizon
        entered = horizon - STATE_AGE[state](rng)
        days = [0.0] * len(route.steps)
        created = entered
        if route.entering >= 0:
            moment = days[route.entering] = entered
            for i in range(route.entering - 1, -1, -1):
                moment -= rng.uniform(2, 40)
                days[i] = moment
            created = moment - rng.uniform(1, 30)
        start = days[route.entering] if route.entering >= 0 else created
        later = sorted(rng.uniform(0.05, 0.9) for _ in range(len(days) - route.entering - 1))
        for offset, fraction in enumerate(later, start=route.entering + 1):
            days[offset] = start + fraction * (horizon - start)
        return created, days

    def _create(self, case: dict, place: Place, day: float) -> None:
        officer = place.actors.officer
        stamp = self.clock.stamp(day)
        year, month = int(stamp[:4]), int(stamp[5:7]) - self.rng.randint(0, 3)  # decided a little before
        if month < 1:
            year, month = year - 1, month + 12
        case.update(benefit_start_month=f"{year:04d}-{month:02d}-01", created_at=stamp,
                    created_by_id=officer.user_id, updated_at=stamp, updated_by_id=officer.user_id,
                    state_entered_at=stamp)
        self._record(stamp, officer, "case.create", case["id"], None, creation_detail(case))
        self.stays.begin(case, stamp)

    def _walk(self, case: dict, place: Place, route: Route, previous: float, days: list[float],
              true_id: str) -> float:
        steps = route.steps
        for i, step in enumerate(steps):
            following = steps[i + 1].trigger if i + 1 < len(steps) else None
            context = StepContext(self.rng, self.clock.day_of(days[i]), place.banks, true_id, following)
            payload, updates = STEPS[step.trigger](case, context)
            if step.dest is S.SUSPENDED:  # the engine remembers where to resume to
                updates["suspended_from"] = step.source_value
            elif step.trigger == "resume":
                updates["suspended_from"] = None
            changes = {k: [case[k], v] for k, v in updates.items() if case[k] != v}
            detail = {"trigger": step.trigger, "from": step.source_value, "to": step.dest_value,
                      "data": payload, "changes": changes}
            if step.needs_approval:
                actor = self._approve(case, place, step.trigger, payload, detail, previous, days[i])
            else:
                actor = self._actor_of(step.trigger, place)
                self._record(self.clock.stamp(days[i]), actor, "case.transition", case["id"], None, canonical(detail))
            case.update(updates)
            case["status"], case["version"] = step.dest_value, case["version"] + 1
            case["updated_at"], case["updated_by_id"] = self.clock.last, actor.user_id
            if i == route.entering:
                case["state_entered_at"] = self.clock.last
            self.stays.step(case, self.clock.last)
            previous = days[i]
        return previous

    def _actor_of(self, trigger: str, place: Place) -> ActorRow:
        """Half the payment results come in with the provider's return file, not by hand."""
        if trigger in PROVIDER_TRIGGERS and self.rng.random() < 0.5:
            return PROVIDER_RETURN
        return place.actors.officer

    def _approve(self, case: dict, place: Place, trigger: str, payload: dict, detail: dict,
                 previous: float, day: float) -> ActorRow:
        """The officer proposes, the supervisor approves: two records and a decided proposal."""
        officer, supervisor = place.actors.officer, place.actors.supervisor
        proposed_at = self.clock.stamp(previous + (day - previous) * self.rng.uniform(0.4, 0.9))
        decided_at = self.clock.stamp(day)
        proposal = self._propose(case, place, trigger, payload, proposed_at,
                                 (supervisor.user_id, decided_at, APPROVAL_NOTE))
        detail |= {"proposed_by": officer.username, "proposal_reason": PROPOSAL_NOTES[trigger]}
        self._record(decided_at, supervisor, "proposal.approve", case["id"], proposal, canonical(detail),
                     APPROVAL_NOTE)
        self.decided += 1
        return supervisor

    def _propose(self, case: dict, place: Place, trigger: str, payload: dict, proposed_at: str,
                 decision: tuple[int | None, str, str] | None) -> int:
        """A proposal row and its `proposal.create` record; `decision`: (by, at, reason) if approved."""
        officer = place.actors.officer
        proposal = len(self.proposals)
        note = PROPOSAL_NOTES[trigger]
        decided_by, decided_at, decision_reason = decision or (None, None, None)
        status = ProposalStatus.APPROVED if decision else ProposalStatus.PENDING
        self.proposals.append(_PROPOSAL_ROW({
            "id": proposal, "case_id": case["id"], "commune_id": place.commune_id, "trigger": trigger,
            "payload": json.dumps(payload), "reason": note, "case_version": case["version"],
            "status": status.value, "proposed_by_id": officer.user_id, "proposed_at": proposed_at,
            "decided_by_id": decided_by, "decided_at": decided_at, "decision_reason": decision_reason,
            # history's decisions took effect when approved (no decision waits for a later month)
            "takes_effect_on": None, "settled_at": None, "not_applied_reason": None,
            "raised_by": None}))       # an officer proposed it, not a job
        self._record(proposed_at, officer, "proposal.create", case["id"], proposal,
                     canonical({"trigger": trigger, "state": case["status"], "data": payload}), note)
        return proposal

    def _leave_pending(self, case: dict, place: Place, state: S, last_day: float) -> None:
        """A proposal still waiting for the supervisor, made in the last weeks."""
        trigger = PENDING_TRIGGERS[state].pick(self.rng)
        horizon = self.clock.horizon
        day = horizon - min(self.rng.uniform(0.1, 20), (horizon - last_day) * self.rng.uniform(0.1, 0.8))
        context = StepContext(self.rng, self.clock.day_of(day), place.banks, case["national_id"], None)
        payload, _ = STEPS[trigger](case, context)
        self._propose(case, place, trigger, payload, self.clock.stamp(day), None)
        self.pending += 1
