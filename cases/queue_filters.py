"""What a queue page is asked for: its filters, read from the query string, and their SQL.

Every filter lives in the URL (a queue can be bookmarked and shared). A value this code does not
know — a state that does not exist, `commune=1e30`, `deadline=yesterday` — is ignored, as if
absent: a bookmark that outlived a commune still opens a page.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, exists, false, or_

from cases import reference
from cases.calendar import WorkingCalendar
from cases.escalation import TIERS, cutoff
from cases.ids import parse_id
from cases.models import Case, PaymentMethod, PolicyGroup, Proposal, ProposalStatus
from cases.search import case_number, fold_name, name_matches
from workflow.states import CaseState
from workflow.table import STATES

DEADLINES = {"over": _l("Quá hạn"), "soon": _l("Sắp đến hạn (3 ngày làm việc)")}
DUE_SOON_WORKING_DAYS = 3
DEFAULT_STATE = CaseState.IDENTITY_VERIFICATION


@dataclass(frozen=True)
class QueueFilter:
    state: CaseState | None = DEFAULT_STATE   # None: every state (a search)
    commune_id: int | None = None
    village_id: int | None = None
    policy_group: PolicyGroup | None = None
    category: str | None = None
    provider_id: int | None = None
    payment_method: PaymentMethod | None = None
    special: bool = False
    deadline: str | None = None               # "over", "soon"
    pending: bool = False
    mine: bool = False
    q: str = ""                               # a name or a case number, as typed

    @property
    def searching(self) -> bool:
        return bool(self.q)

    @property
    def name_prefix(self) -> str:
        return "" if case_number(self.q) is not None else self.q

    @property
    def counted_by_table(self) -> bool:
        """Whether `case_counts` answers the total: only state, commune and policy group set."""
        return (self.state is not None and not self.q and self.village_id is None and self.category is None
                and self.provider_id is None and self.payment_method is None and not self.special
                and self.deadline is None and not self.pending and not self.mine)

    def url_args(self, **changes) -> dict:
        """The query-string arguments that give this filter back (None and False left out)."""
        chosen = replace(self, **changes) if changes else self
        values = {
            "state": chosen.state.value if chosen.state else "all",
            "commune": chosen.commune_id, "village": chosen.village_id,
            "group": chosen.policy_group.value if chosen.policy_group else None,
            "category": chosen.category, "provider": chosen.provider_id,
            "method": chosen.payment_method.value if chosen.payment_method else None,
            "special": 1 if chosen.special else None, "deadline": chosen.deadline,
            "pending": 1 if chosen.pending else None, "mine": 1 if chosen.mine else None,
            "q": chosen.q or None,
        }
        return {k: v for k, v in values.items() if v is not None}

    @property
    def active_count(self) -> int:
        """How many filters beyond the state tab are set (shown on the filter box's summary)."""
        skip = {"state", "q"}
        return sum(1 for f in fields(self) if f.name not in skip and getattr(self, f.name) not in (None, False, ""))


def _enum(cls, text):
    try:
        return cls(text) if text else None
    except ValueError:
        return None


def parse_filter(args) -> QueueFilter:
    """The filter a query string asks for; anything unknown is dropped."""
    # Printable characters only: a NUL cannot even be bound on PostgreSQL.
    q = " ".join("".join(ch for ch in (args.get("q") or "")[:500] if ch.isprintable()).split())[:120]
    # Kept folded, as it is searched: the page and its links show "nguyen van a" for "Nguyễn Văn A".
    q = q if case_number(q) is not None else fold_name(q)
    state = _enum(CaseState, args.get("state"))
    # No state (every state) when asked for by name, or when searching; else the first queue.
    if state is None and not q and args.get("state") != "all":
        state = DEFAULT_STATE
    category = args.get("category")
    return QueueFilter(
        state=state, commune_id=parse_id(args.get("commune")), village_id=parse_id(args.get("village")),
        policy_group=_enum(PolicyGroup, args.get("group")),
        category=category if category in reference.categories() else None,
        provider_id=parse_id(args.get("provider")), payment_method=_enum(PaymentMethod, args.get("method")),
        special=args.get("special") == "1", deadline=args.get("deadline") if args.get("deadline") in DEADLINES else None,
        pending=args.get("pending") == "1", mine=args.get("mine") == "1", q=q)


def conditions(chosen: QueueFilter, user_id: int, today: date, calendar: WorkingCalendar) -> list[ColumnElement[bool]]:
    """The WHERE clauses of `chosen` on `cases` (the scope is added by the caller)."""
    where: list[ColumnElement[bool]] = []
    if chosen.state is not None:
        where.append(Case.status == chosen.state)
    for column, value in ((Case.commune_id, chosen.commune_id), (Case.village_id, chosen.village_id),
                          (Case.policy_group, chosen.policy_group), (Case.category_code, chosen.category),
                          (Case.provider_id, chosen.provider_id), (Case.payment_method, chosen.payment_method)):
        if value is not None:
            where.append(column == value)
    if chosen.special:
        where.append(or_(Case.special_very_old, Case.special_gravely_ill, Case.special_cannot_travel,
                         Case.special_nobody_to_authorise))
    if chosen.pending:
        where.append(exists().where(Proposal.case_id == Case.id, Proposal.status == ProposalStatus.PENDING))
    if chosen.mine:
        where.append(Case.assigned_to_id == user_id)
    if chosen.deadline:
        where.append(_deadline(chosen, today, calendar))
    number = case_number(chosen.q) if chosen.q else None
    if number is not None:
        where.append(Case.id == number)
    elif chosen.q:
        where.append(name_matches(chosen.name_prefix) if chosen.name_prefix else false())
    return where


def _deadline(chosen: QueueFilter, today: date, calendar: WorkingCalendar) -> ColumnElement[bool]:
    """Over the SLA now, or not yet but within DUE_SOON_WORKING_DAYS working days: a range on
    state_entered_at per state with an SLA, which the queue index serves."""
    soon_day = calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)
    cutoffs = tier_cutoffs(today, calendar)
    per_state = []
    for state, spec in STATES.items():
        if spec.sla is None or (chosen.state is not None and state is not chosen.state):
            continue
        over = cutoffs[state][0]
        if chosen.deadline == "over":
            per_state.append(and_(Case.status == state, Case.state_entered_at < over))
        else:
            per_state.append(and_(Case.status == state, Case.state_entered_at >= over,
                                  Case.state_entered_at < cutoff(spec.sla, 1, soon_day, calendar)))
    return or_(*per_state) if per_state else false()


def overdue_tier(state: CaseState, entered: datetime, cutoffs: dict[CaseState, list[datetime]]) -> int:
    """0 when within the state's SLA, else 1, 2 or 3: past once, twice, three times the SLA."""
    tier = 0
    for n, moment in enumerate(cutoffs.get(state, ()), start=1):
        if entered < moment:
            tier = n
    return tier


def tier_cutoffs(today: date, calendar: WorkingCalendar) -> dict[CaseState, list[datetime]]:
    """Each state's cut-off moments for tiers 1..3: computed once per day and calendar (the
    calendar object is replaced when the swaps are read again), not per page or row."""
    global _last_cutoffs
    day, on_calendar, cutoffs = _last_cutoffs
    if day != today or on_calendar is not calendar:
        cutoffs = {state: [cutoff(spec.sla, tier, today, calendar) for tier in TIERS]
                   for state, spec in STATES.items() if spec.sla is not None}
        _last_cutoffs = (today, calendar, cutoffs)   # one assignment: threads see all or nothing
    return cutoffs


_last_cutoffs: tuple = (None, None, {})


OVERDUE_LABELS = {1: _l("Quá hạn"), 2: _l("Quá hạn gấp đôi"), 3: _l("Quá hạn gấp ba")}
