"""Synthetic beneficiaries: who they are (name, sex, birth date, ethnicity, ID number, phone,
guardian), drawn to fit their category and province. Deterministic for a given `random.Random`.
"""
from __future__ import annotations

import csv
import zlib
from bisect import bisect
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache
from itertools import accumulate
from random import Random
from typing import Generic, TypeVar

from cases.checks import MOBILE_PREFIXES, id_century_sex_digit
from cases.models import PolicyGroup, Sex
from cases.reference import DATA
from demo import names

T = TypeVar("T")


class Weighted(Generic[T]):
    """Items with weights; `pick` costs one random number and a bisection."""

    def __init__(self, pairs: Iterable[tuple[T, float]]):
        pairs = list(pairs)
        self.items = [item for item, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: Random) -> T:
        return self.items[bisect(self.cumulative, rng.random() * self.total)]

    def at(self, fraction: float) -> T:
        """The item at `fraction` (0 ≤ fraction < 1) of the cumulative weight."""
        return self.items[bisect(self.cumulative, fraction * self.total)]


# Category code → (weight, youngest age, oldest age). Weights follow the national caseload:
# people over 80 without a pension and the severely disabled are most of BTXH.
BTXH_CATEGORIES: dict[str, tuple[float, int, int]] = {
    "D5.K5c": (38, 80, 98), "D5.K6.3": (12, 16, 59), "D5.K6.4": (8, 60, 90), "D5.K6.1": (6, 16, 59),
    "D5.K6.2": (6, 60, 92), "D5.K5a.1": (5, 60, 79), "D5.K5a.2": (3, 80, 95), "D5.K5b": (4, 75, 79),
    "D5.K5d": (1, 60, 90), "D5.K1.1": (1, 0, 3), "D5.K1.2": (3, 4, 15), "D5.K2": (1, 16, 21),
    "D5.K3.1": (0.2, 0, 3), "D5.K3.2": (0.5, 4, 15), "D5.K4": (3, 20, 50), "D5.K7": (4, 0, 2),
    "D5.K8": (1, 18, 59),
}
# NCC group → (weight, youngest, oldest, lowest and highest monthly amount in thousands of đồng).
NCC_CATEGORIES: dict[str, tuple[float, int, int, int, int]] = {
    "PL02.D3.c": (30, 55, 92, 1500, 3000), "PL02.D3.g": (22, 62, 88, 1800, 6000),
    "PL02.D3.h": (10, 62, 88, 1800, 5000), "PL02.D3.i": (12, 62, 88, 1500, 4500),
    "PL02.D3.l": (8, 62, 90, 1500, 2500), "PL02.D3.k": (4, 72, 95, 1500, 2500),
    "PL02.D3.than_nhan": (8, 40, 85, 1500, 2800), "PL02.D3.m": (2, 85, 99, 1500, 2500),
    "PL02.D3.d": (0.5, 92, 100, 5000, 6000), "PL02.D3.a": (0.2, 95, 100, 4000, 6000),
    "PL02.D3.b": (0.5, 94, 100, 3500, 6000), "PL02.D3.dd": (0.4, 65, 90, 2500, 4000),
    "PL02.D3.e": (0.2, 80, 95, 2500, 4000),
}
BTXH_CATEGORY = Weighted((code, spec[0]) for code, spec in BTXH_CATEGORIES.items())
NCC_CATEGORY = Weighted((code, spec[0]) for code, spec in NCC_CATEGORIES.items())
FEMALE_ONLY = frozenset({"PL02.D3.d"})
MOSTLY_FEMALE = frozenset({"D5.K4"})
CHILD_AGE = 16
MODERN_NAMES_FROM = 2008

_MOBILE_PREFIXES = tuple(sorted(MOBILE_PREFIXES))
_STOCKS = {
    group: (Weighted(stock.family), Weighted(stock.middle_male), Weighted(stock.middle_female),
            stock.given_male, stock.given_female)
    for group, stock in names.STOCKS.items()
}


@cache
def ethnic_mix(province_code: str) -> Weighted[str]:
    return Weighted(names.ETHNIC_MIX.get(province_code, names.DEFAULT_ETHNIC_MIX))


@cache
def id_prefixes_by_province() -> dict[str, tuple[str, ...]]:
    """2025 province code → the pre-2025 CCCD prefixes of the provinces merged into it."""
    found: dict[str, list[str]] = {}
    with open(DATA / "province_codes_before_2025.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found.setdefault(row["province_code_2025"], []).append(row["id_prefix"])
    return {code: tuple(prefixes) for code, prefixes in found.items()}


@cache
def all_id_prefixes() -> tuple[str, ...]:
    return tuple(p for prefixes in id_prefixes_by_province().values() for p in prefixes)


def full_name(rng: Random, ethnicity: str, sex: Sex, birth_year: int) -> str:
    family, middle_male, middle_female, given_male, given_female = _STOCKS[ethnicity]
    female = sex is Sex.FEMALE
    clan = family.pick(rng)
    if ethnicity in names.CLAN_LAST:
        return f"{rng.choice(given_female if female else given_male)} {clan}"
    if birth_year >= MODERN_NAMES_FROM and ethnicity in ("Kinh", "Tày", "Nùng"):
        given = rng.choice(names.MODERN_GIVEN_FEMALE if female else names.MODERN_GIVEN_MALE)
        return f"{clan} {given}"
    middle = (middle_female if female else middle_male).pick(rng)
    given = rng.choice(given_female if female else given_male)
    return f"{clan} {middle} {given}" if middle else f"{clan} {given}"


def birth_date_at_age(rng: Random, today: date, youngest: int, oldest: int) -> date:
    """A birth date making the person between `youngest` and `oldest` (inclusive) years old."""
    days_old = int((youngest + rng.random() * (oldest - youngest + 1)) * 365.2425)
    return today - timedelta(days=max(days_old, 30))


def sex_for(rng: Random, category: str, age: int) -> Sex:
    if category in FEMALE_ONLY:
        return Sex.FEMALE
    female_share = 0.85 if category in MOSTLY_FEMALE else 0.6 if age >= 80 else 0.5
    return Sex.FEMALE if rng.random() < female_share else Sex.MALE


def mobile(rng: Random) -> str:
    return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10_000_000):07d}"


def ncc_amount(rng: Random, category: str) -> int:
    """An entered NCC amount: whole thousands of đồng within the group's range."""
    _, _, _, lowest, highest = NCC_CATEGORIES[category]
    return rng.randint(lowest, highest) * 1000


def age_range(category: str) -> tuple[int, int]:
    spec = BTXH_CATEGORIES.get(category) or NCC_CATEGORIES[category]
    return spec[1], spec[2]


def policy_category(rng: Random, ncc_share: float) -> tuple[PolicyGroup, str]:
    if rng.random() < ncc_share:
        return PolicyGroup.NCC, NCC_CATEGORY.pick(rng)
    return PolicyGroup.BTXH, BTXH_CATEGORY.pick(rng)


FIRST_SERIAL_SPREAD = 400_000


class NationalIds:
    """Issues CCCD numbers that are valid and unique across the whole database, by construction.

    The first six digits (province prefix, century-and-sex digit, birth year) are fixed by the
    person. The six-digit serial counts up within that group, from above the highest serial the
    database already holds there (or from a start that depends only on the seed and the group).
    Generation runs in chunks, possibly in parallel processes: chunk `k` of `n` takes the serials
    `k+1, k+1+n, k+1+2n, ...` above the start, so no two chunks can issue the same number and no
    retry loop is needed.
    """

    def __init__(self, rng: Random, highest_serials: dict[str, int], *, seed: int, chunk: int = 0,
                 chunks: int = 1, home_share: float = 0.92):
        self._rng, self._highest, self._seed = rng, highest_serials, seed
        self._chunk, self._chunks, self._home_share = chunk, chunks, home_share
        self._issued: dict[str, int] = {}

    def issue(self, province_code: str, birth_year: int, sex: Sex) -> str:
        prefix = self._prefix(province_code)
        group = f"{prefix}{id_century_sex_digit(birth_year, sex)}{birth_year % 100:02d}"
        count = self._issued.get(group, 0)
        self._issued[group] = count + 1
        serial = self._start(group) + 1 + self._chunk + count * self._chunks
        if serial > 999_999:
            raise OverflowError(f"no CCCD serial left in group {group}")
        return f"{group}{serial:06d}"

    def _start(self, group: str) -> int:
        known = self._highest.get(group)
        if known is not None:
            return known
        # Not `hash()`: it differs between processes. A new group starts somewhere in its range.
        return zlib.crc32(f"{self._seed}:{group}".encode()) % FIRST_SERIAL_SPREAD

    def _prefix(self, province_code: str) -> str:
        home = id_prefixes_by_province().get(province_code)
        if home and self._rng.random() < self._home_share:
            return home[0] if len(home) == 1 else self._rng.choice(home)
        return self._rng.choice(all_id_prefixes())


def village_names(rng: Random, province_code: str, commune_kind: str, count: int) -> list[str]:
    """`count` distinct village names that read like the commune's region."""
    if commune_kind == "Phường":
        label = rng.choice(("Khối", "Tổ dân phố"))
        return [f"{label} {n}" for n in range(1, count + 1)]
    if province_code in names.NORTHERN_HILL_PROVINCES:
        found: list[str] = []
        while len(found) < count:  # a handful of picks from 300 combinations
            name = f"Thôn {rng.choice(names.TAY_PLACE_FIRST)} {rng.choice(names.TAY_PLACE_SECOND)}"
            if name not in found:
                found.append(name)
        return found
    if province_code in names.SOUTHERN_PROVINCES:
        return [f"Ấp {name}" for name in rng.sample(names.SOUTHERN_PLACE, count)]
    return [f"Thôn {n}" for n in range(1, count + 1)]
