"""Payment lists (issue 18, item 2): two consecutive months built by hand — a new account, a
suspension, a resume with two months of arrears, a termination, an account number changed, an
amount changed by a new base amount — and every line of both lists and their differences
asserted; control totals; a signed list frozen against later edits."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from cases import reference
from cases.actions import approve, fire_transition, start_transition
from cases.errors import DomainError
from cases.models import LineChange, PaymentLine, PaymentList, PaymentListState, PaymentProvider, PolicyGroup
from cases.payments.lists import (FIRST_LIST, NEW_ACCOUNT, RESUMED, SUSPENDED, TERMINATED, draft_list, sign_list)
from cases.roles import Role
from cases.users import actor_of
from extensions import db, write_intent
from tests.conftest import BINH_GIA, TAN_VAN
from tests.helpers import pending_of, reload_case
from tests.paths import SYSTEM, payload_for
from workflow.states import CaseState as S
from workflow.table import TRANSITIONS

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 1)
NCC = dict(policy_group=PolicyGroup.NCC, category_code="PL02.D3.c", monthly_amount=1_731_000)
CATEGORY = "D5.K5a.1"


@pytest.fixture(autouse=True)
def base_amounts(monkeypatch):
    """A new base amount from November: 500,000 đ before, 540,000 đ from then."""
    monkeypatch.setattr(reference, "btxh_base_amount", lambda on: 540_000 if on >= NOVEMBER else 500_000)


def btxh(month: date) -> int:
    return reference.btxh_monthly_amount(CATEGORY, month)


def provider(short_name: str) -> PaymentProvider:
    return db.session.scalars(select(PaymentProvider).where(PaymentProvider.short_name == short_name)).one()


@pytest.fixture
def people(make_user):
    return {"officer": make_user(Role.OFFICER, communes=(BINH_GIA, TAN_VAN)),
            "supervisor": make_user(Role.SUPERVISOR, province="20")}


def fire(case_id: int, trigger: str, **changes) -> None:
    with write_intent():
        case = reload_case(case_id)
        payload = payload_for(db.session, case, trigger) | changes
        fire_transition(db.session, SYSTEM, None, case, TRANSITIONS[trigger], payload)
        db.session.commit()


def decide(people, case_id: int, trigger: str, **changes) -> None:
    """Propose as the officer, approve as the province's supervisor (in effect at once)."""
    officer, supervisor = people["officer"], people["supervisor"]
    with write_intent():
        case = reload_case(case_id)
        start_transition(db.session, actor_of(officer), officer, case, trigger,
                         payload_for(db.session, case, trigger) | changes, case.version)
        db.session.commit()
    with write_intent():
        approve(db.session, actor_of(supervisor), supervisor, pending_of(case_id), None)
        db.session.commit()


def choose_agribank(case_id: int) -> None:
    """The person chooses to be paid into an account at Agribank, not yet opened."""
    fire(case_id, "choose_account", account_number=None, provider_id=provider("AGRIBANK-LS").id)


def at_agribank(case_id: int) -> None:
    """The account opened at Agribank, with its number."""
    fire(case_id, "record_account_opened", provider_id=provider("AGRIBANK-LS").id,
         account_number=f"77{case_id:08d}")


def draft(people, short_name: str, month: date) -> PaymentList:
    with write_intent():
        plist = draft_list(db.session, actor_of(people["officer"]), people["officer"], provider(short_name), month)
        db.session.commit()
        return plist


def sign(people, plist: PaymentList) -> PaymentList:
    with write_intent():
        signed = sign_list(db.session, actor_of(people["supervisor"]), people["supervisor"], plist.id, b"xlsx")
        db.session.commit()
        return signed


def lines(plist: PaymentList) -> dict[int, PaymentLine]:
    db.session.rollback()
    return {line.case_id: line for line in db.session.scalars(select(PaymentLine).where(PaymentLine.list_id == plist.id))}


def shape(line: PaymentLine) -> tuple:
    return (line.change, line.reason, line.monthly_amount, line.arrears_amount, line.amount, line.in_cash,
            line.account_number)


@pytest.fixture
def story(people, make_case):
    """October's lists, signed; then what happens before November's."""
    make = lambda state, **kw: make_case(state=state, by=people["officer"], category_code=CATEGORY, **kw).id  # noqa: E731
    c = {name: make(S.PAYMENT_METHOD) for name in ("paid", "suspended", "resumed", "terminated", "changed")}
    c["ncc"] = make_case(state=S.PAYMENT_METHOD, by=people["officer"], commune=TAN_VAN, **NCC).id
    c["new_account"] = make(S.PAYMENT_METHOD)
    c["cash"] = make(S.PAID_IN_CASH)
    for name in ("paid", "suspended", "resumed", "terminated", "changed", "ncc"):
        choose_agribank(c[name])
        at_agribank(c[name])
        fire(c[name], "confirm_account_payment")
    decide(people, c["resumed"], "suspend")                   # suspended before October: on no list
    october = {short: draft(people, short, OCTOBER) for short in ("AGRIBANK-LS", "BUUDIEN-LS")}
    for plist in october.values():
        sign(people, plist)

    choose_agribank(c["new_account"])
    at_agribank(c["new_account"])
    decide(people, c["suspended"], "suspend")
    decide(people, c["resumed"], "resume", effective_month=NOVEMBER.isoformat(), arrears_months=2)
    decide(people, c["terminated"], "terminate")
    decide(people, c["changed"], "change_account", provider_id=provider("AGRIBANK-LS").id, account_number="5555666677")
    c["october"] = october
    return c


def test_octobers_lists_every_line(story):
    bank, post = (lines(story["october"][k]) for k in ("AGRIBANK-LS", "BUUDIEN-LS"))
    first = (LineChange.NEW, FIRST_LIST)
    assert {case_id: shape(line) for case_id, line in bank.items()} == {
        story[n]: (*first, btxh(OCTOBER), 0, btxh(OCTOBER), False, f"77{story[n]:08d}")
        for n in ("paid", "suspended", "terminated", "changed")} | {
        story["ncc"]: (*first, 1_731_000, 0, 1_731_000, False, f"77{story['ncc']:08d}")}
    # Cash: the one paid in cash, and the one still choosing how to be paid.
    assert {case_id: shape(line) for case_id, line in post.items()} == {
        story[n]: (*first, btxh(OCTOBER), 0, btxh(OCTOBER), True, None) for n in ("cash", "new_account")}


def test_novembers_list_and_its_differences(story, people):
    november = draft(people, "AGRIBANK-LS", NOVEMBER)
    got = {case_id: shape(line) for case_id, line in lines(november).items()}
    assert got == {
        # A new base amount: every BTXH line changes amount.
        story["paid"]: (LineChange.AMOUNT_CHANGED, None, btxh(NOVEMBER), 0, btxh(NOVEMBER), False,
                        f"77{story['paid']:08d}"),
        story["ncc"]: (LineChange.SAME, None, 1_731_000, 0, 1_731_000, False, f"77{story['ncc']:08d}"),
        story["changed"]: (LineChange.ACCOUNT_CHANGED, None, btxh(NOVEMBER), 0, btxh(NOVEMBER), False, "5555666677"),
        # Paid in cash in October; its account opened since.
        story["new_account"]: (LineChange.NEW, NEW_ACCOUNT, btxh(NOVEMBER), 0, btxh(NOVEMBER), False,
                               f"77{story['new_account']:08d}"),
        # Resumed from November with two months of arrears, each at its month's amount.
        story["resumed"]: (LineChange.NEW, RESUMED, btxh(NOVEMBER), 2 * btxh(OCTOBER),
                           btxh(NOVEMBER) + 2 * btxh(OCTOBER), False, f"77{story['resumed']:08d}"),
        story["suspended"]: (LineChange.REMOVED, SUSPENDED, 0, 0, 0, False, f"77{story['suspended']:08d}"),
        story["terminated"]: (LineChange.REMOVED, TERMINATED, 0, 0, 0, False, f"77{story['terminated']:08d}"),
    }
    db.session.rollback()
    saved = db.session.get(PaymentList, november.id)
    paid = [line for line in lines(november).values() if line.amount > 0]
    btxh_paid = [line for line in paid if line.policy_group == "btxh"]
    assert saved.totals_dict == {
        "btxh": {"count": len(btxh_paid), "amount": sum(line.amount for line in btxh_paid)},
        "ncc": {"count": 1, "amount": 1_731_000},
        "all": {"count": len(paid), "amount": sum(line.amount for line in paid)}}
    assert (saved.line_count, saved.total_amount) == (5, sum(line.amount for line in paid))
    assert saved.previous_id == story["october"]["AGRIBANK-LS"].id


def test_a_signed_list_is_frozen(story, people):
    october = story["october"]["AGRIBANK-LS"]
    before = {case_id: shape(line) for case_id, line in lines(october).items()}
    # Later changes to cases (made by the story after October's signature) left it as it was.
    assert before[story["suspended"]][0] is LineChange.NEW
    with pytest.raises(DomainError, match="đã được ký duyệt"):
        draft(people, "AGRIBANK-LS", OCTOBER)
    assert {case_id: shape(line) for case_id, line in lines(october).items()} == before
    db.session.rollback()
    assert db.session.get(PaymentList, october.id).state is PaymentListState.SIGNED


def test_redrafting_replaces_the_draft(story, people):
    draft(people, "AGRIBANK-LS", NOVEMBER)
    draft(people, "AGRIBANK-LS", NOVEMBER)
    db.session.rollback()
    (only,) = db.session.scalars(select(PaymentList.id).where(PaymentList.month == NOVEMBER)).all()
    november_lines = db.session.scalars(select(PaymentLine.case_id).join(PaymentList)
                                        .where(PaymentList.month == NOVEMBER)).all()
    assert sorted(november_lines) == sorted(lines(db.session.get(PaymentList, only)))
    assert len(november_lines) == 7
