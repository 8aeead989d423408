"""Lists in (issue 16): a spreadsheet a user uploads becomes a job — stored, previewed, then
imported — worked by the scheduler process (or inline when small) with its progress on the row,
so a page can follow it from any tab and a restarted worker resumes where the last commit left it.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from cases.models.types import enum_column
from extensions import db


class ListKind(str, enum.Enum):
    BENEFICIARIES = "beneficiaries"      # a commune's own list of beneficiaries → cases
    POLICE_RESULTS = "police_results"    # the police's answers on the identities sent to them
    PAYMENT_RETURN = "payment_return"    # a provider's paid / unpaid file for one signed payment list


class ListJobState(str, enum.Enum):
    QUEUED_PREVIEW = "queued_preview"    # uploaded; waiting for a worker to read and check it
    PREVIEWING = "previewing"            # a worker is reading and checking it (nothing written)
    PREVIEWED = "previewed"              # the preview is ready; waiting for the user to confirm
    QUEUED_IMPORT = "queued_import"      # confirmed; waiting for a worker
    IMPORTING = "importing"              # a worker is writing it, a chunk per commit
    DONE = "done"
    FAILED = "failed"                    # `error` says why; what was committed is in `counts`
    CANCELLED = "cancelled"              # the user dropped it after the preview


# The states a worker picks up, and the state it moves each to while working.
CLAIMS = {ListJobState.QUEUED_PREVIEW: ListJobState.PREVIEWING, ListJobState.QUEUED_IMPORT: ListJobState.IMPORTING}
WORKING = frozenset(CLAIMS.values())
FINISHED = frozenset({ListJobState.DONE, ListJobState.FAILED, ListJobState.CANCELLED})


class ListJob(db.Model):
    __tablename__ = "list_jobs"
    __table_args__ = (
        # The worker's claim: the oldest queued job first.
        Index("ix_list_jobs_state", "state", "created_at", "id"),
        # A user's own jobs, newest first (the lists page).
        Index("ix_list_jobs_owner", "owner_id", "created_at"),
        Index("ix_list_jobs_province", "province_id", "created_at"),
        # A list's returns: the cycle on the home page counts them per list (migration 0017).
        Index("ix_list_jobs_payment_list", "payment_list_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ListKind] = mapped_column(enum_column(ListKind, "list_kind"))
    state: Mapped[ListJobState] = mapped_column(enum_column(ListJobState, "list_job_state"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))
    # The commune the list is for (a beneficiary list is one commune's); None: the whole province.
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("communes.id"))
    filename: Mapped[str] = mapped_column(String(200))          # as uploaded, for the user's eyes only
    size_bytes: Mapped[int]
    content_sha256: Mapped[str] = mapped_column(String(64))
    # The file itself, kept until the job is finished (then dropped: personal data is kept in
    # cases, not in stray copies). Deferred: listing jobs never loads it.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    rows_total: Mapped[int | None]                              # known once the sheet is read
    rows_done: Mapped[int] = mapped_column(default=0)           # committed (import) or checked (preview)
    # JSON: the preview's or the import's counts by outcome ({"created": 3, "rejected": 1, ...}).
    counts: Mapped[str | None] = mapped_column(Text)
    # JSON: what the preview found — the header it recognised, the rejected rows with their reasons
    # (the first few hundred; the workbook below has them all).
    preview: Mapped[str | None] = mapped_column(Text)
    # The rejected rows as a workbook: each original row untouched plus a reason column.
    rejected_workbook: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    # What the import may start from instead of reading the file again (`Preview.plan`, in the
    # kind's own form); dropped with the file.
    plan: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    error: Mapped[str | None] = mapped_column(Text)             # the user's message (Vietnamese)
    created_at: Mapped[datetime]                                # UTC
    started_at: Mapped[datetime | None]                         # the current phase's worker took it
    heartbeat_at: Mapped[datetime | None]                       # the worker's last commit
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(String(80))      # who works it (host:pid), for a stale claim
    # A provider's return is checked against one signed payment list (issue 18).
    payment_list_id: Mapped[int | None] = mapped_column(ForeignKey("payment_lists.id"))

