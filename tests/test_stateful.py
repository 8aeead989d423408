"""A small world run at random: users of three communes fire triggers, decide proposals and edit
cases, as the views would call the services. After every step the rules that hold whatever the
screen (BRIEF section 3, 8; section 2 for scope) are checked against the database."""
from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from cases.access import OutOfScope, get_case, proposal_scope, scoped_cases
from cases.actions import approve, reject, start_transition
from cases.audit import Actor, verify_chain
from cases.errors import DomainError, NotPermitted
from cases.models import AuditRecord, Case, Proposal, ProposalStatus, User
from cases.organisation import commune_by_code, province_by_code
from cases.registration import edit_case, register_case
from cases.roles import Role
from cases.users import actor_of, create_user
from extensions import db, write_intent
from tests import paths
from tests.brief import BRIEF_MOVES, BRIEF_NEEDS_APPROVAL, RETURNS
from tests.conftest import BINH_GIA, LANG_SON, OTHER_COMMUNE, PASSWORD, TAN_VAN, clean_tables, person
from tests.paths import payload_for
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

SYSTEM = Actor.system("stateful-test")
COMMUNES = (BINH_GIA, TAN_VAN, OTHER_COMMUNE)
LANG_SON_COMMUNES = {BINH_GIA, TAN_VAN}
# (commune codes or province code, role, name): whom the world holds.
PEOPLE = [
    *[((c,), Role.OFFICER, f"can-bo-{c}") for c in COMMUNES],
    *[((c,), Role.SUPERVISOR, f"lanh-dao-{c}") for c in COMMUNES],
    (LANG_SON, Role.SUPERVISOR, "lanh-dao-tinh"),
    (LANG_SON, Role.AUDITOR, "thanh-tra-tinh"),
]
START_STATES = (S.IDENTITY_VERIFICATION, S.PAYMENT_METHOD, S.ACCOUNT_OPENING)
REFUSALS = (OutOfScope, DomainError, NotPermitted)   # StaleCase is a DomainError

index = st.integers(min_value=0, max_value=1000)
# Mostly aim at what the table and the scope allow (else nearly every step is refused); sometimes not.
aimed = st.integers(0, 3).map(lambda n: n != 0)
rarely = st.integers(0, 5).map(lambda n: n == 0)
OFFICE = (Role.OFFICER, Role.SUPERVISOR)


def audit_total() -> int:
    """Records of changes and proposals (a form showing a full number writes a reveal record)."""
    return db.session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action != "case.reveal"))


class CaseWorld(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        clean_tables()
        with write_intent():
            self.users = [self._user(scope, role, name) for scope, role, name in PEOPLE]
            self.cases: dict[int, str] = {}          # case id -> commune code
            for n, (commune, state) in enumerate((c, s) for c in COMMUNES for s in START_STATES[:2]):
                officer = next(u for u in self.users if u.username == f"can-bo-{commune}")
                data = person(full_name=f"Đối tượng {n}", commune_id=commune_by_code(db.session, commune).id)
                case = register_case(db.session, SYSTEM, officer, data, date.today())
                paths.walk(db.session, case, state)
                self.cases[case.id] = commune
            db.session.commit()
        self.case_ids = sorted(self.cases)
        # What the table alone lets us expect: (state, state suspended from) per case.
        self.expected = {c.id: (c.status, c.suspended_from) for c in db.session.scalars(select(Case))}
        self.visible = {u.id: self._scope_of(u) for u in self.users}

    def _user(self, scope, role: Role, username: str) -> User:
        province = province_by_code(db.session, scope) if isinstance(scope, str) else None
        communes = [] if province else [commune_by_code(db.session, c) for c in scope]
        return create_user(db.session, SYSTEM, username=username, full_name=username, password=PASSWORD,
                           role=role, province=province, communes=communes)

    def _scope_of(self, user: User) -> set[int]:
        communes = LANG_SON_COMMUNES if user.province_id is not None else {c.code for c in user.communes}
        return {case_id for case_id, commune in self.cases.items() if commune in communes}

    def _pick(self, who: int, which: int, aim: bool) -> tuple[User, int]:
        """A case, and a user: when aiming, one of the office who may see it."""
        case_id = self.case_ids[which % len(self.case_ids)]
        users = [u for u in self.users if case_id in self.visible[u.id] and u.role in OFFICE] if aim else self.users
        return users[who % len(users)], case_id

    def _trigger(self, case_id: int, pick: int, aim: bool) -> str:
        """A trigger: when aiming, one the brief allows from the state the case should be in."""
        state = self.expected[case_id][0]
        triggers = [t for (s, t) in BRIEF_MOVES if s is state] if aim else list(TRANSITIONS)
        return triggers[pick % len(triggers)] if triggers else list(TRANSITIONS)[pick % len(TRANSITIONS)]

    def _moved(self, case_id: int, trigger: str) -> None:
        """The case took `trigger`: where the brief's table says it must now be."""
        state, suspended_from = self.expected[case_id]
        assert (state, trigger) in BRIEF_MOVES, f"{trigger} fired from {state}"
        dest = BRIEF_MOVES[(state, trigger)]
        if dest == RETURNS:
            self.expected[case_id] = (suspended_from, None)
        elif dest is state:  # a move that records something and stays (change_account, amendments)
            return
        elif dest is S.SUSPENDED:
            self.expected[case_id] = (S.SUSPENDED, state)
        else:
            self.expected[case_id] = (dest, suspended_from)

    def _refused(self, records_before: int) -> None:
        db.session.rollback()
        assert audit_total() == records_before, "a refused change left an audit record"

    # --- rules -------------------------------------------------------------------------------

    @rule(who=index, which=index, pick=index, aim=aimed, stale=rarely)
    def start(self, who, which, pick, aim, stale):
        user, case_id = self._pick(who, which, aim)
        trigger = self._trigger(case_id, pick, aim)
        records = audit_total()
        try:
            with write_intent():
                case = get_case(db.session, user, case_id)              # the view's scope check
                version = case.version - 1 if stale else case.version
                proposal = start_transition(db.session, actor_of(user), user, case, trigger,
                                            payload_for(db.session, case, trigger), version)
                db.session.commit()
        except REFUSALS as refusal:
            self._refused(records)
            if isinstance(refusal, OutOfScope):
                assert case_id not in self.visible[user.id]
            return
        assert case_id in self.visible[user.id] and user.role in (Role.OFFICER, Role.SUPERVISOR)
        assert not stale
        assert audit_total() == records + 1
        if proposal is None:
            assert trigger not in BRIEF_NEEDS_APPROVAL
            self._moved(case_id, trigger)
        else:
            assert trigger in BRIEF_NEEDS_APPROVAL
            assert (self.expected[case_id][0], trigger) in BRIEF_MOVES

    @rule(who=index, which=index, aim=aimed, approving=st.integers(0, 3).map(lambda n: n != 0),
          reason=st.sampled_from(["Đồng ý", "Không đủ căn cứ", "Đồng ý", "", "   "]))
    def decide(self, who, which, aim, approving, reason):
        pending = list(db.session.scalars(
            select(Proposal).where(Proposal.status == ProposalStatus.PENDING).order_by(Proposal.id)))
        if not pending:
            return
        proposal = pending[which % len(pending)]
        users = [u for u in self.users if u.role is Role.SUPERVISOR and u.id != proposal.proposed_by_id
                 and proposal.case_id in self.visible[u.id]] if aim else self.users
        if not users:
            return
        user = users[who % len(users)]
        case_id, trigger, records = proposal.case_id, proposal.trigger, audit_total()
        try:
            with write_intent():
                in_scope = db.session.scalar(
                    select(Proposal.id).where(Proposal.id == proposal.id, proposal_scope(user)))
                if in_scope is None:                                     # the view's 404
                    raise OutOfScope(user, case_id)
                if approving:
                    approve(db.session, actor_of(user), user, proposal, reason or "Đồng ý")
                else:
                    reject(db.session, actor_of(user), user, proposal, reason)
                db.session.commit()
        except REFUSALS as refusal:
            self._refused(records)
            if isinstance(refusal, OutOfScope):
                assert case_id not in self.visible[user.id]
            return
        assert user.role is Role.SUPERVISOR and user.id != proposal.proposed_by_id
        assert case_id in self.visible[user.id]
        assert audit_total() == records + 1
        if approving:
            self._moved(case_id, trigger)
        else:
            assert reason.strip()

    @rule(who=index, which=index, aim=aimed, field=st.sampled_from(["notes", "phone", "full_name"]),
          n=st.integers(0, 99), stale=rarely)
    def edit(self, who, which, aim, field, n, stale):
        user, case_id = self._pick(who, which, aim)
        if aim and db.session.scalar(select(Proposal.id).where(
                Proposal.case_id == case_id, Proposal.status == ProposalStatus.PENDING)) is not None:
            return       # aiming leaves cases under decision alone, so that some approvals can succeed
        value = {"notes": f"Ghi chú {n}", "phone": f"09123456{n:02d}", "full_name": f"Đối tượng sửa {n}"}[field]
        records = audit_total()
        try:
            with write_intent():
                case = get_case(db.session, user, case_id)
                version = case.version - 1 if stale else case.version
                changes = edit_case(db.session, actor_of(user), user, case, {field: value}, version, date.today())
                db.session.commit()
        except REFUSALS as refusal:
            self._refused(records)
            if isinstance(refusal, OutOfScope):
                assert case_id not in self.visible[user.id]
            return
        assert not stale and self.expected[case_id][0] is not S.TERMINATED
        assert audit_total() == records + (1 if changes else 0)

    # --- what holds after every step ---------------------------------------------------------

    @invariant()
    def states_follow_the_table(self):
        db.session.rollback()
        for case in db.session.scalars(select(Case)):
            state, suspended_from = self.expected[case.id]
            assert case.status is state, f"case {case.id} is {case.status}, the table allows {state}"
            if state is S.SUSPENDED:
                assert case.suspended_from is suspended_from

    @invariant()
    def nobody_decides_their_own_proposal(self):
        own = db.session.scalar(select(func.count()).select_from(Proposal).where(
            Proposal.status != ProposalStatus.PENDING, Proposal.decided_by_id == Proposal.proposed_by_id))
        assert own == 0

    @invariant()
    def one_pending_proposal_per_case_at_most(self):
        crowded = db.session.execute(
            select(Proposal.case_id).where(Proposal.status == ProposalStatus.PENDING)
            .group_by(Proposal.case_id).having(func.count() > 1)).all()
        assert crowded == []

    @invariant()
    def the_chain_verifies(self):
        report = verify_chain(db.session)
        assert report.ok, report.problem
        assert report.checked == audit_total()

    @invariant()
    def users_see_only_their_scope(self):
        for user in self.users:
            seen = set(db.session.scalars(scoped_cases(user, Case.id)))
            assert seen == self.visible[user.id], user.username
            proposals = set(db.session.scalars(select(Proposal.case_id).where(proposal_scope(user))))
            assert proposals <= self.visible[user.id], user.username


def test_the_world_keeps_its_rules(app):
    run_state_machine_as_test(CaseWorld, settings=settings(
        max_examples=25, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))


def test_the_world_is_not_trivial():
    """Guard against a machine whose every step is refused: a known sequence must change things."""
    world = CaseWorld()
    officer = world.users.index(next(u for u in world.users if u.username == f"can-bo-{BINH_GIA}"))
    supervisor = world.users.index(next(u for u in world.users if u.username == f"lanh-dao-{BINH_GIA}"))
    first = world.case_ids.index(min(c for c, commune in world.cases.items() if commune == BINH_GIA))
    triggers = list(TRANSITIONS)
    world.start(officer, first, triggers.index("verify_identity"), aim=False, stale=False)
    world.start(officer, first, triggers.index("suspend"), aim=False, stale=False)
    world.decide(supervisor, 0, aim=False, approving=True, reason="Đồng ý")
    world.states_follow_the_table()
    world.the_chain_verifies()
    assert world.expected[world.case_ids[first]] == (S.SUSPENDED, S.PAYMENT_METHOD)
    world.start(officer, first, triggers.index("resume"), aim=False, stale=False)
    world.decide(supervisor, 0, aim=False, approving=True, reason="Đồng ý")
    world.states_follow_the_table()
    assert world.expected[world.case_ids[first]] == (S.PAYMENT_METHOD, None)
