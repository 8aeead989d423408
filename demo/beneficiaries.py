"""A synthetic beneficiary as registered: person, benefit, guardian and special-case flags.

Values are JSON-ready (dates as ISO text, enums as values), so the same dict is the case row,
the `case.create` snapshot and the source of every later change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from random import Random

from cases import reference
from cases.search import fold_name, given_name_first
from cases.case_rows import BLANK_CASE, CASE_COLUMNS, CASE_TABLE, creation_detail, snapshot  # noqa: F401 - the demo's writers
from cases.models import PolicyGroup, Sex
from demo import names
from demo.people import (CHILD_AGE, NationalIds, age_range, birth_date_at_age, ethnic_mix, full_name, mobile,
                         ncc_amount, policy_category, sex_for)
from demo.places import Place
from workflow.states import CaseState

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
