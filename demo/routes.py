"""Which way a synthetic case came to its state: routes through the workflow table.

Each route is a list of triggers; `walk` follows it through `workflow.table.TRANSITIONS` and
refuses at import any route the table does not allow, so the from → to of every history record
comes from the table, never from this file. Shares are those of a province part-way through the
move to account payment.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from demo.people import Weighted
from workflow.states import CaseState as S
from workflow.table import INITIAL_STATE, RETURN, TRANSITIONS

STATE_SHARES: dict[S, float] = {
    S.PAID_BY_ACCOUNT: 45, S.PAID_IN_CASH: 20, S.ACCOUNT_OPENING: 12, S.PAYMENT_METHOD: 8,
    S.IDENTITY_VERIFICATION: 8, S.SUSPENDED: 4, S.TERMINATED: 3,
}


@dataclass(frozen=True)
class Step:
    trigger: str
    source: S
    dest: S              # the source again for a transition that records without moving
    moves: bool
    needs_approval: bool
    source_value: str = field(init=False)   # the states as stored and recorded, looked up once
    dest_value: str = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "source_value", self.source.value)
        object.__setattr__(self, "dest_value", self.dest.value)


@dataclass(frozen=True)
class Route:
    steps: tuple[Step, ...]
    entering: int        # index of the step that entered the final state; -1: never moved

    @property
    def final(self) -> S:
        return self.steps[-1].dest if self.steps else INITIAL_STATE


class RouteNotAllowed(ValueError):
    """A route takes a transition the workflow table does not have."""


def walk(triggers: tuple[str, ...]) -> Route:
    """Follow `triggers` from the initial state through the table.

    :raise RouteNotAllowed: a trigger is not allowed from the state the route has reached.
    """
    state, suspended_from, steps = INITIAL_STATE, None, []
    for trigger in triggers:
        spec = TRANSITIONS[trigger]
        if state not in spec.sources:
            raise RouteNotAllowed(f"{trigger} is not allowed from {state.value} (route {triggers})")
        if spec.dest is None:
            dest = state
        elif spec.dest == RETURN:
            dest, suspended_from = suspended_from, None
        else:
            dest = spec.dest
        if dest is S.SUSPENDED:
            suspended_from = state
        steps.append(Step(trigger, state, dest, spec.dest is not None, spec.needs_approval))
        state = dest
    entering = max((i for i, step in enumerate(steps) if step.moves), default=-1)
    return Route(tuple(steps), entering)


_V, _A, _C = "verify_identity", "choose_account", "confirm_account_payment"
_ROUTES: dict[S, tuple[tuple[tuple[str, ...], float], ...]] = {
    S.IDENTITY_VERIFICATION: (
        ((), 70), (("record_identity_problem",), 25), ((_V, "reopen_identity"), 5)),
    S.PAYMENT_METHOD: (
        ((_V,), 88), ((_V, "choose_cash", "switch_to_account"), 10),
        ((_V, _A, "switch_to_cash", "switch_to_account"), 2)),
    S.ACCOUNT_OPENING: (
        ((_V, _A), 55), ((_V, _A, "record_account_opened"), 35),
        ((_V, _A, "record_account_opened", _C, "report_payment_failure"), 10)),
    S.PAID_BY_ACCOUNT: (
        ((_V, _A, _C), 58), ((_V, _A, "record_account_opened", _C), 38),
        ((_V, _A, _C, "suspend", "resume"), 2),
        ((_V, "choose_cash", "switch_to_account", _A, "record_account_opened", _C), 2)),
    S.PAID_IN_CASH: (
        ((_V, "choose_cash"), 85), ((_V, _A, "switch_to_cash"), 10), ((_V, _A, _C, "switch_to_cash"), 5)),
    S.SUSPENDED: (
        ((_V, _A, _C, "suspend"), 50), ((_V, "choose_cash", "suspend"), 35), (("suspend",), 15)),
    S.TERMINATED: (
        ((_V, _A, _C, "terminate"), 40), ((_V, "choose_cash", "terminate"), 35), (("terminate",), 10),
        ((_V, "choose_cash", "suspend", "terminate"), 15)),
}


def _checked_routes() -> dict[S, Weighted[Route]]:
    routes = {}
    for state, variants in _ROUTES.items():
        walked = [(walk(triggers), weight) for triggers, weight in variants if weight > 0]
        for route, _ in walked:
            if route.final is not state:
                raise RouteNotAllowed(f"route {[s.trigger for s in route.steps]} ends in {route.final}, not {state}")
        routes[state] = Weighted(walked)
    missing = set(S) - set(routes)
    if missing:
        raise RouteNotAllowed(f"no route to {sorted(s.value for s in missing)}")
    return routes


ROUTES = _checked_routes()
STATE_MIX = Weighted(STATE_SHARES.items())

# Pending proposals left for the demo supervisors to decide, by the state the case is in.
_PENDING: dict[S, tuple[tuple[str, float], ...]] = {
    S.PAYMENT_METHOD: (("choose_cash", 6), ("suspend", 2), ("terminate", 2)),
    S.IDENTITY_VERIFICATION: (("suspend", 5), ("terminate", 5)),
    S.ACCOUNT_OPENING: (("suspend", 5), ("terminate", 5)),
    S.PAID_BY_ACCOUNT: (("suspend", 6), ("terminate", 4)),
    S.PAID_IN_CASH: (("suspend", 6), ("terminate", 4)),
}


def _checked_pending() -> dict[S, Weighted[str]]:
    for state, pairs in _PENDING.items():
        for trigger, _ in pairs:
            spec = TRANSITIONS[trigger]
            if state not in spec.sources or not spec.needs_approval:
                raise RouteNotAllowed(f"a pending {trigger} proposal cannot wait on a case in {state.value}")
    return {state: Weighted(pairs) for state, pairs in _PENDING.items()}


PENDING_TRIGGERS = _checked_pending()
