"""What a kind of list does, as the job worker (cases.lists.jobs) calls it: read and check the whole
file without writing anything (the preview), then write it a chunk at a time (the import).

A kind never commits: `apply` flushes a chunk and calls `checkpoint`, and the worker commits the
chunk with the job's progress in one transaction — so a job stopped midway resumes after the last
chunk committed (`start_row`), and nothing is ever half-written.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from cases.audit import Actor
from cases.models import User
from cases.models.lists import ListKind


@dataclass(frozen=True)
class Scope:
    """Who imports, for which unit, on which day."""
    user: User
    actor: Actor
    province_id: int
    commune_id: int | None       # None: a province-wide list (police results of a province)
    today: date
    payment_list_id: int | None = None   # a provider's return: the signed payment list it answers


@dataclass(frozen=True)
class Rejected:
    row: int                     # the row number as the spreadsheet shows it
    name: str | None             # the name on the row, to find it by
    reasons: tuple[str, ...]     # in Vietnamese, as the user reads them


@dataclass
class Preview:
    total: int                                   # data rows: not titles, header, totals, signatures
    counts: dict[str, int]                       # by outcome key (the kind's OUTCOMES)
    rejected: list[Rejected] = field(default_factory=list)
    columns: list[tuple[str, str]] = field(default_factory=list)  # (header as written, field it is read as)
    ignored: list[str] = field(default_factory=list)              # headers not recognised
    rejected_workbook: bytes | None = None       # the rejected rows untouched, plus a reason column
    plan: bytes | None = None                    # what the import may start from (the kind's own form), if anything


Progress = Callable[[int, int], None]            # (data rows checked, data rows in all)
Checkpoint = Callable[[int, dict], None]         # (data rows done from the file's start, the chunk's counts)


class Kind(Protocol):
    kind: ListKind
    label: str                                   # lazy: "Danh sách đối tượng của xã"
    outcomes: dict[str, str]                     # outcome key → lazy label, in display order

    def preview(self, session: Session, scope: Scope, data: bytes, filename: str, progress: Progress) -> Preview:
        """Read and check every row; write nothing.
        :raise DomainError: the file as a whole cannot be read (unsafe, not a spreadsheet, no header)."""

    def apply(self, session: Session, scope: Scope, data: bytes, filename: str, start_row: int,
              checkpoint: Checkpoint, plan: bytes | None = None) -> None:
        """Check again (the database may have changed since the preview) and write the data rows
        from index `start_row` (0-based among data rows) on, a chunk at a time: flush the chunk,
        then `checkpoint(rows done, chunk counts)`. `plan` is the preview's `Preview.plan`: a kind
        that made one may start from it instead of reading the file again, checking again what
        the database may have changed.
        :raise DomainError: as preview."""


def kinds() -> dict[ListKind, Kind]:
    """Every kind, by its ListKind (imported here, late: each kind imports the models)."""
    from cases.lists.beneficiaries import BENEFICIARY_LIST
    from cases.lists.police import POLICE_RESULTS
    from cases.payments.returns import PAYMENT_RETURN

    return {kind.kind: kind for kind in (BENEFICIARY_LIST, POLICE_RESULTS, PAYMENT_RETURN)}
