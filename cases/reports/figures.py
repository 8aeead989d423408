"""A report as values: what the page, the workbook, the CSV and the archive all read.

Shares are percentages rounded as the letters round them — one decimal, half up (443 of 1,492 is
29.7 %) — and None where there is nobody to divide by. A report turns into canonical JSON and back
(`to_json`, `from_json`), so an archived report is shown from what was stored, never recounted.
"""
from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

GROUPS = ("btxh", "ncc", "all")     # the policy groups a row splits by, and both together
ONE_DECIMAL = Decimal("0.1")


def share(part: int, whole: int) -> Decimal | None:
    """`part` of `whole` in percent, one decimal, half up; None when `whole` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


class Band(str, enum.Enum):
    """How far a commune has come, in the Ba Tơ letter's words (thresholds: `ReportBands`)."""
    HIGH = "high"
    AVERAGE = "average"
    LOW = "low"
    NOT_STARTED = "not_started"     # beneficiaries, none of them paid through an account


@dataclass(frozen=True)
class Counts:
    """One policy group (or both) of one commune as of a moment."""
    receiving: int = 0          # receiving a monthly benefit (`workflow.table.RECEIVING`)
    with_account: int = 0       # of them, with an account number on record
    paid_by_account: int = 0    # of them, in `paid_by_account`

    @property
    def share(self) -> Decimal | None:
        """Share paid through an account, in percent (one decimal)."""
        return share(self.paid_by_account, self.receiving)

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.receiving + other.receiving, self.with_account + other.with_account,
                      self.paid_by_account + other.paid_by_account)


@dataclass(frozen=True)
class Target:
    """The target in force for a row: `share_per_mille` (600 = 60.0 %) of `group` by `due_on`."""
    group: str                  # "all", "btxh" or "ncc"
    share_per_mille: int
    due_on: date
    set_for_commune: bool       # False: the province's target, applying to every commune

    @property
    def share(self) -> Decimal:
        return Decimal(self.share_per_mille) / 10


# Projection outcomes besides a month.
ALREADY_MET = "met"
NOT_AT_THIS_PACE = "not_at_this_pace"
NO_TARGET = "no_target"
NOBODY_RECEIVING = "nobody"      # no beneficiary to count a share of


@dataclass(frozen=True)
class Row:
    """One commune (or the total: `commune_id` None) as of the end of the period."""
    commune_id: int | None
    code: str
    name: str
    btxh: Counts
    ncc: Counts
    paid_in_cash: int
    suspended: int
    target: Target | None                 # the target the row is judged by (its group's share)
    met: bool | None                      # None: no target, or nobody receiving
    bands: dict[str, Band | None]         # per group in GROUPS; None: nobody receiving
    change: Decimal | None                # points since the previous period, on the target's group
    previous_share: Decimal | None
    projected: str                        # "YYYY-MM", ALREADY_MET, NOT_AT_THIS_PACE, NO_TARGET or NOBODY_RECEIVING

    @property
    def together(self) -> Counts:
        return self.btxh + self.ncc

    def counts(self, group: str) -> Counts:
        return self.together if group == "all" else getattr(self, group)

    @property
    def judged_group(self) -> str:
        return self.target.group if self.target else "all"

    @property
    def band(self) -> Band | None:
        return self.bands.get(self.judged_group)

    @property
    def projected_month(self) -> date | None:
        if len(self.projected) == 7 and self.projected[4] == "-":
            return date(int(self.projected[:4]), int(self.projected[5:]), 1)
        return None

    @property
    def on_track(self) -> bool | None:
        """Whether the projected month comes by the target's due date (None: no projection)."""
        if self.met:
            return True
        month = self.projected_month
        if self.target is None or (month is None and self.projected != NOT_AT_THIS_PACE):
            return None
        return month is not None and month <= self.target.due_on


@dataclass(frozen=True)
class TrendPoint:
    month: date                 # first day of the month, counted as of its end
    receiving: int
    paid_by_account: int

    @property
    def share(self) -> Decimal | None:
        return share(self.paid_by_account, self.receiving)


@dataclass(frozen=True)
class Report:
    period: str                 # the period's code (cases.reports.periods.Period.parse reads it back)
    unit_kind: str              # "province" or "commune"
    unit_id: int
    unit_code: str
    unit_name: str
    province_id: int
    province_name: str
    as_of: datetime             # UTC: the moment counted
    produced_at: datetime       # UTC
    rows: tuple[Row, ...]
    total: Row
    trend: tuple[TrendPoint, ...] = field(default=())   # the unit, month by month up to the period's end
    thresholds: tuple[int, int] = (500, 200)            # (high from, average from), per mille

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces; dates ISO, shares as text."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=_plain)

    @classmethod
    def from_json(cls, text: str) -> Report:
        data = json.loads(text)
        return cls(
            period=data["period"], unit_kind=data["unit_kind"], unit_id=data["unit_id"],
            unit_code=data["unit_code"], unit_name=data["unit_name"], province_id=data["province_id"],
            province_name=data["province_name"], as_of=datetime.fromisoformat(data["as_of"]),
            produced_at=datetime.fromisoformat(data["produced_at"]),
            rows=tuple(_row(r) for r in data["rows"]), total=_row(data["total"]),
            trend=tuple(TrendPoint(date.fromisoformat(p["month"]), p["receiving"], p["paid_by_account"])
                        for p in data["trend"]),
            thresholds=tuple(data["thresholds"]))


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not part of a report")


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _row(data: dict) -> Row:
    target = data["target"]
    return Row(
        commune_id=data["commune_id"], code=data["code"], name=data["name"],
        btxh=Counts(**data["btxh"]), ncc=Counts(**data["ncc"]),
        paid_in_cash=data["paid_in_cash"], suspended=data["suspended"],
        target=None if target is None else Target(target["group"], target["share_per_mille"],
                                                  date.fromisoformat(target["due_on"]), target["set_for_commune"]),
        met=data["met"], bands={g: (Band(b) if b else None) for g, b in data["bands"].items()},
        change=_decimal(data["change"]), previous_share=_decimal(data["previous_share"]),
        projected=data["projected"])
