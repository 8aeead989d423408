"""Reports (issue 17): each stay of a case in a state, the targets and bands a province sets, and
the archive of every report produced.

A report counts cases *as of* the end of its period. `case_stays` holds one row per stay of a case
in a state — with the other facts a report groups by (commune, policy group, an account on record)
as they stood during the stay — opened and closed by database triggers (migration 0015) in the
same statement as every INSERT and UPDATE of a case, whatever path wrote it (the engine, a
set-based run, a bulk load). "As of T" is `valid_from <= T < valid_to` on an index, never a replay
of the audit trail. A stay still open ends at OPEN_END, as SQL:2011's system-versioned tables do:
one range condition then serves both the closed and the open stays.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from cases.models.types import enum_column
from extensions import db

OPEN_END = datetime(9999, 12, 31)

# A rowid alias on SQLite, a 64-bit key on PostgreSQL (a million cases leave several million stays).
_StayId = BigInteger().with_variant(Integer(), "sqlite")


class CaseStay(db.Model):
    """One stay of a case in a state, with the commune, policy group and account it had meanwhile.

    Written only by the triggers of migration 0015 — and by the generators, which insert a case
    already in its final state and then write the earlier stays of the past they invent for it
    (`demo/stays.py`); read by `cases.reports`.
    """

    __tablename__ = "case_stays"
    __table_args__ = (
        # The trigger closes the open stay of one case.
        Index("ix_case_stays_case", "case_id", "valid_to"),
        # A province's (or, with no province, the country's) counts as of T: a range on valid_to
        # inside the province, the rest read from the index itself.
        Index("ix_case_stays_as_of", "province_id", "valid_to", "valid_from", "commune_id", "status",
              "policy_group", "has_account"),
    )

    id: Mapped[int] = mapped_column(_StayId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # Plain strings, not the enums: the triggers copy the cases' stored values as they are.
    status: Mapped[str] = mapped_column(String(40))
    province_id: Mapped[int]
    commune_id: Mapped[int]
    policy_group: Mapped[str] = mapped_column(String(10))
    has_account: Mapped[bool]          # an account number on record (an empty one is none)
    valid_from: Mapped[datetime]       # UTC
    valid_to: Mapped[datetime]         # UTC; OPEN_END while the stay lasts


class ReportMonthCount(db.Model):
    """A commune's counts for one policy group as of the end of one month, recorded once the month
    has ended (`cases.reports.month_counts`).

    A month that has ended never changes: the triggers date every stay they open or close at the
    moment of the change, never before. So the reports read the month ends they need (the period's,
    the previous period's, the trend's twelve) from here — a few rows per commune — and count from
    `case_stays` only a month not recorded yet, or not yet ended.
    """

    __tablename__ = "report_month_counts"
    __table_args__ = (Index("ix_report_month_counts_province", "province_id", "month"),)

    month: Mapped[date] = mapped_column(primary_key=True)          # first day of the month
    commune_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    policy_group: Mapped[str] = mapped_column(String(10), primary_key=True)
    province_id: Mapped[int]
    receiving: Mapped[int]
    with_account: Mapped[int]
    paid_by_account: Mapped[int]
    paid_in_cash: Mapped[int]
    suspended: Mapped[int]


class RecordedMonth(db.Model):
    """A month whose counts are in `report_month_counts` (a month with no case has no rows there)."""

    __tablename__ = "report_months"

    month: Mapped[date] = mapped_column(primary_key=True)          # first day of the month
    recorded_at: Mapped[datetime]


class TargetGroup(str, enum.Enum):
    """Which beneficiaries a target counts: one policy group, or both together."""
    ALL = "all"
    BTXH = "btxh"
    NCC = "ncc"


class ReportTarget(db.Model):
    """"At least `share` of the beneficiaries paid through an account by `due_on`", for a province or,
    where set, for one commune (which then overrides the province's for that group).

    A province has a series of them (60 % by 31/12/2026, then 100 % by 31/12/2027): the target in
    force at a date is the earliest whose due date has not passed (`cases.reports.targets`).
    """

    __tablename__ = "report_targets"
    __table_args__ = (
        UniqueConstraint("province_id", "commune_id", "policy_group", "due_on"),
        Index("ix_report_targets_province", "province_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("communes.id"))
    policy_group: Mapped[TargetGroup] = mapped_column(enum_column(TargetGroup, "target_group"))
    # Tenths of a percent (600 = 60.0 %): whole numbers, exact on both databases.
    share_per_mille: Mapped[int]
    due_on: Mapped[date]
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime]


# The bands when a province has set none: the Ba Tơ letter's words, at thresholds an administrator
# may change (`report_bands`).
DEFAULT_HIGH_FROM = 500       # per mille: 50.0 % and above is "high"
DEFAULT_AVERAGE_FROM = 200    # 20.0 % up to "high" is "average"; above 0 below it, "low"; 0, "not started"


class ReportBands(db.Model):
    """A province's thresholds between the bands high / average / low (not started: none paid)."""

    __tablename__ = "report_bands"

    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), primary_key=True, autoincrement=False)
    high_from_per_mille: Mapped[int] = mapped_column(default=DEFAULT_HIGH_FROM)
    average_from_per_mille: Mapped[int] = mapped_column(default=DEFAULT_AVERAGE_FROM)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime]


class UnitKind(str, enum.Enum):
    PROVINCE = "province"
    COMMUNE = "commune"


class ArchivedReport(db.Model):
    """A report as produced: its figures (canonical JSON) and its workbook, with their SHA-256.

    Every production is kept, signed or not. Signing freezes one: `signed_by_id` and `signed_at`
    are set once, and a unit has at most one signed report per period (partial unique index).
    """

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_province", "province_id", "period_end", "id"),
        Index("uq_reports_signed", "unit_kind", "unit_id", "period", unique=True,
              sqlite_where=text("signed_at IS NOT NULL"), postgresql_where=text("signed_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))          # 2026-10, 2026-H1, 2026
    period_end: Mapped[date]                                # the last day counted
    unit_kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "report_unit"))
    unit_id: Mapped[int]                                    # the province's or the commune's id
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))  # the scope, for either kind
    produced_at: Mapped[datetime]
    produced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))   # None: the scheduler
    figures: Mapped[str] = deferred(mapped_column(Text))
    workbook: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    sha256: Mapped[str] = mapped_column(String(64))
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
