"""A synthetic beneficiary as registered: person, benefit, guardian and special-case flags.

Values are JSON-ready (dates as ISO text, enums as values), so the same dict is the case row,
the `case.create` snapshot and the source of every later change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from json.encoder import encode_basestring as encode_json_string
from random import Random

from sqlalchemy import inspect

from cases import reference
from cases.search import fold_name, given_name_first
from cases.changes import NOT_DIFFED  # the audit snapshot leaves out the same bookkeeping fields
from cases.models import Case, PolicyGroup, Sex
from demo import names
from demo.people import (CHILD_AGE, NationalIds, age_range, birth_date_at_age, ethnic_mix, full_name, mobile,
                         ncc_amount, policy_category, sex_for)
from demo.places import Place
from workflow.states import CaseState

CASE_TABLE = Case.__table__
CASE_COLUMNS = tuple(c.name for c in CASE_TABLE.columns)
SNAPSHOT_FIELDS = tuple(c.key for c in inspect(Case).column_attrs if c.key not in NOT_DIFFED)
BLANK_CASE = {name: None for name in CASE_COLUMNS} | {
    "special_very_old": False, "special_gravely_ill": False, "special_cannot_travel": False,
    "special_nobody_to_authorise": False, "status": CaseState.IDENTITY_VERIFICATION.value, "version": 1,
}
DISABILITY_CATEGORIES = frozenset({"D5.K6.1", "D5.K6.2", "D5.K6.3", "D5.K6.4"})


@dataclass(frozen=True)
class Registration:
    fields: dict                 # the case's values at registration
    true_national_id: str        # the number the police will confirm, even if not yet on file


@cache
def btxh_amounts(on: date) -> dict[str, int]:
    return {c.code: reference.btxh_monthly_amount(c.code, on) for c in reference.categories_of(PolicyGroup.BTXH)}


def register(rng: Random, place: Place, state: CaseState, today: date, ids: NationalIds,
             ncc_share: float) -> Registration:
    """A beneficiary of `place` whose case will end in `state` (cash cases are more often special)."""
    group, category = policy_category(rng, ncc_share)
    birth = birth_date_at_age(rng, today, *age_range(category))
    age = (today - birth).days / 365.2425
    sex = sex_for(rng, category, int(age))
    ethnicity = ethnic_mix(place.province_code).pick(rng)
    true_id = ids.issue(place.province_code, birth.year, sex)
    case = BLANK_CASE.copy()
    case["province_id"], case["commune_id"] = place.province_id, place.commune_id
    case["village_id"] = rng.choice(place.village_ids) if place.village_ids else None
    case["full_name"] = full_name(rng, ethnicity, sex, birth.year)
    case["name_folded"] = fold_name(case["full_name"])  # written around the ORM: fold as Case does
    case["name_given_first"] = given_name_first(case["name_folded"])
    case["birth_date"], case["sex"], case["ethnicity"] = birth.isoformat(), sex.value, ethnicity
    case["national_id"] = true_id if rng.random() < (0.7 if age < 14 else 0.9) else None
    case["phone"] = _phone(rng, age)
    case["policy_group"], case["category_code"] = group.value, category
    case["monthly_amount"] = (btxh_amounts(today)[category] if group is PolicyGroup.BTXH
                              else ncc_amount(rng, category))
    case["benefit_decision_number"] = f"{int(rng.random() * 2999) + 1}/QĐ-UBND"
    _add_guardian(rng, case, place, age, ids)
    _flag_special(rng, case, category, age, likely=state is CaseState.PAID_IN_CASH)
    return Registration(case, true_id)


def _phone(rng: Random, age: float) -> str | None:
    share = 0.0 if age < CHILD_AGE else 0.5 if age >= 80 else 0.85
    return mobile(rng) if rng.random() < share else None


def _add_guardian(rng: Random, case: dict, place: Place, age: float, ids: NationalIds) -> None:
    """Children always have a guardian; a third of the very old and disabled name a proxy."""
    if age < CHILD_AGE:
        relation = rng.choice(names.GUARDIAN_RELATIONS_CHILD)
        generations_up = 2 if relation.startswith(("bà", "ông")) else 1
        born = int(case["birth_date"][:4]) - rng.randint(20 * generations_up, 20 * generations_up + 20)
    elif (age >= 80 or case["category_code"] in DISABILITY_CATEGORIES) and rng.random() < 0.35:
        relation = rng.choice(names.PROXY_RELATIONS_ELDER)
        born = rng.randint(1955, 1995)
    else:
        return
    female = relation in ("mẹ", "bà nội", "bà ngoại", "cô ruột", "con gái", "con dâu") or (
        relation.startswith("cháu") and rng.random() < 0.5)
    sex = Sex.FEMALE if female else Sex.MALE
    case.update(guardian_name=full_name(rng, case["ethnicity"], sex, born), guardian_relation=relation,
                guardian_national_id=ids.issue(place.province_code, born, sex), guardian_phone=mobile(rng))


def _flag_special(rng: Random, case: dict, category: str, age: float, likely: bool) -> None:
    """Special cases (đối tượng đặc thù): why an account may be out of reach."""
    boost = 2.5 if likely else 1.0
    case["special_very_old"] = age >= 85 and rng.random() < 0.25 * boost
    case["special_gravely_ill"] = rng.random() < 0.04 * boost
    case["special_cannot_travel"] = category in DISABILITY_CATEGORIES and rng.random() < 0.2 * boost
    special = case["special_very_old"] or case["special_gravely_ill"] or case["special_cannot_travel"]
    case["special_nobody_to_authorise"] = special and case["guardian_name"] is None and rng.random() < 0.5


def snapshot(case: dict) -> dict:
    """The case's fields as `cases.changes.snapshot` gives them to the `case.create` record."""
    return {name: case[name] for name in SNAPSHOT_FIELDS}


# Fields a registration never fills (payment, identity check, decisions): their part of the
# `case.create` text is the same for every case and is written once, into the template below.
EMPTY_AT_REGISTRATION = frozenset({
    "account_holder", "account_holder_name", "account_holder_national_id", "account_number", "account_opened_on",
    "address_detail", "cash_reason", "consent_date", "identity_follow_up_on", "identity_problem", "identity_source",
    "identity_verified_on", "last_paid_month", "last_payment_reference", "notes", "payment_failure_reason",
    "payment_method", "provider_id", "status_decision_number", "status_effective_month", "status_reason_code",
    "suspended_from",
})
_FILLED = tuple(name for name in sorted(SNAPSHOT_FIELDS) if name not in EMPTY_AT_REGISTRATION)
_TEMPLATE = '{"fields":{' + ",".join(
    f'"{name}":null' if name in EMPTY_AT_REGISTRATION else f'"{name}":%s' for name in sorted(SNAPSHOT_FIELDS)) + "}}"


def creation_detail(case: dict) -> str:
    """`canonical_json({"fields": snapshot(case)})` for a case just registered, three times faster.

    Keys are sorted once, into a template; values are None, bool, int or str, encoded as the
    json module does. tests/test_demo.py checks the text against `canonical_json` for every case.
    """
    return _TEMPLATE % tuple([
        "null" if value is None else encode_json_string(value) if value.__class__ is str
        else ("true" if value else "false") if value.__class__ is bool else str(value)
        for value in map(case.__getitem__, _FILLED)])
