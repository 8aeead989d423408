"""The monthly payment cycle (issue 18): each provider's payment list for a month, its lines, and
the differences against the month before.

A list is drafted (its lines computed as of its cut-off, recomputed at will while a draft), then
signed off by a supervisor, which freezes it: its lines never change again, its workbook is stored
with its SHA-256, and a later change to a case goes into next month's list.
"""
from __future__ import annotations

import enum
import json
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from cases.models.types import enum_column
from extensions import db

_LineId = BigInteger().with_variant(Integer(), "sqlite")


class PaymentListState(str, enum.Enum):
    DRAFT = "draft"          # computed, may be recomputed; not downloadable
    SIGNED = "signed"        # frozen: lines, totals and workbook stored; downloadable (audited)


class PaymentList(db.Model):
    __tablename__ = "payment_lists"
    __table_args__ = (
        Index("ix_payment_lists_provider_month", "provider_id", "month"),
        Index("ix_payment_lists_province_month", "province_id", "month"),
        # One signed list per provider and month.
        Index("uq_payment_lists_signed", "provider_id", "month", unique=True,
              sqlite_where=text("state = 'signed'"), postgresql_where=text("state = 'signed'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("payment_providers.id"))
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))
    month: Mapped[date]                                   # first day of the month the list pays
    state: Mapped[PaymentListState] = mapped_column(enum_column(PaymentListState, "payment_list_state"))
    cut_off_at: Mapped[datetime]                          # UTC: the cases as they stood then
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[datetime]
    # Control totals: per policy group (and "all"): {"count": n, "amount": đồng}, canonical JSON.
    totals: Mapped[str] = mapped_column(Text, default="{}")
    line_count: Mapped[int] = mapped_column(default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("payment_lists.id"))   # the list compared with
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    workbook: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    sha256: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]                      # first downloaded once signed: sent to the provider

    @property
    def totals_dict(self) -> dict[str, dict[str, int]]:
        return json.loads(self.totals or "{}")


class LineChange(str, enum.Enum):
    """How a line differs from the previous month's list of the same provider."""
    SAME = "same"
    NEW = "new"                        # not on the previous list (new account, resumed, moved here, first list)
    ACCOUNT_CHANGED = "account_changed"
    AMOUNT_CHANGED = "amount_changed"
    REMOVED = "removed"                # on the previous list, not on this one: `reason` says why


class LineOutcome(str, enum.Enum):
    PAID = "paid"
    UNPAID = "unpaid"


class PaymentLine(db.Model):
    """One person on a list: who, how much, into which account (or in cash) — or, for a REMOVED
    line, who was on last month's list and why they are not on this one (amount 0)."""

    __tablename__ = "payment_lines"
    __table_args__ = (
        Index("uq_payment_lines_list_case", "list_id", "case_id", unique=True),
        Index("ix_payment_lines_case", "case_id", "list_id"),
    )

    id: Mapped[int] = mapped_column(_LineId, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("payment_lists.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    commune_id: Mapped[int]
    policy_group: Mapped[str] = mapped_column(String(10))
    full_name: Mapped[str] = mapped_column(String(120))
    national_id: Mapped[str | None] = mapped_column(String(12))
    in_cash: Mapped[bool]                                 # paid in cash (a post office's list)
    account_holder_name: Mapped[str | None] = mapped_column(String(120))
    account_number: Mapped[str | None] = mapped_column(String(30))
    monthly_amount: Mapped[int] = mapped_column(BigInteger)   # in force in the list's month
    arrears_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger)           # monthly + arrears; 0 on a REMOVED line
    change: Mapped[LineChange] = mapped_column(enum_column(LineChange, "payment_line_change"))
    reason: Mapped[str | None] = mapped_column(String(200))   # why new / removed / changed (a code, labelled on screen)
    # What the provider's return said of this line (item 3): the case's outcome for the month.
    outcome: Mapped[LineOutcome | None] = mapped_column(enum_column(LineOutcome, "payment_line_outcome"))
    outcome_reason: Mapped[str | None] = mapped_column(String(200))       # why unpaid, as the provider wrote it
    outcome_reference: Mapped[str | None] = mapped_column(String(60))     # the provider's reference
    outcome_at: Mapped[datetime | None]
    outcome_job_id: Mapped[int | None] = mapped_column(ForeignKey("list_jobs.id"))


class ReturnException(db.Model):
    """A row of a provider's return that matches no line of the list: waits to be resolved by hand."""

    __tablename__ = "payment_return_exceptions"
    __table_args__ = (Index("ix_payment_return_exceptions_list", "list_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("payment_lists.id"))
    job_id: Mapped[int] = mapped_column(ForeignKey("list_jobs.id"))
    row: Mapped[int]                                       # the row number as the spreadsheet shows it
    full_name: Mapped[str | None] = mapped_column(String(120))
    national_id: Mapped[str | None] = mapped_column(String(12))
    account_number: Mapped[str | None] = mapped_column(String(30))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(20))
    problem: Mapped[str] = mapped_column(String(300))      # why it matched nothing, in Vietnamese
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(300))


class UnpaidRun(db.Model):
    """A run of consecutive unpaid months of a case (its payment lines' outcomes), proposed for
    suspension once (issue 18, item 4): the key is the run's first month, so the watcher's daily
    pass and a fourth unpaid month of the same run raise nothing more."""

    __tablename__ = "unpaid_runs"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    first_month: Mapped[date] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    raised_at: Mapped[datetime]
