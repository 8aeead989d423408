"""The one bulk generator of synthetic cases, for the demo province and the national benchmark.

`generate` writes cases in every state with the history that led there: a `case.create` record,
one record per transition along a route the workflow table allows (approvals as a proposal by
the officer and its approval by a supervisor), the stays in each state the reports read
(`demo.stays`), and some pending proposals for supervisors to decide. Records continue the audit
hash chain from its head; `flask audit verify` passes after.

It streams: cases are built in chunks (`demo.chunks`, in worker processes for large counts),
and each chunk's cases, proposals and records are written in bulk (`cases.bulk_write`) and dropped, so
memory stays flat whatever the count. Statuses are written directly, past the engine's guard on
`Case.status`: that is for bulk generation only. The caller commits.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from random import Random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.models import Case
from demo.actors import ensure_commune_actors
from demo.beneficiaries import CASE_COLUMNS, CASE_TABLE
from cases.bulk_write import BulkSink, next_id
from cases.audit_chain import ActorRow, AuditChain
from demo.chunks import Chunk, Plan, built_chunks
from demo.history import ACTORS_CREATED_DAYS_AGO, PROPOSAL_COLUMNS, PROPOSAL_TABLE, OfficeClock
from demo.places import CommuneLike, load_places, province_codes
from demo.stays import write_stays
from workflow.states import CaseState

CHUNK_SIZE = 20_000


@dataclass
class GenerationReport:
    cases: int = 0
    audit_records: int = 0
    pending_proposals: int = 0
    decided_proposals: int = 0
    users_created: int = 0
    seconds: float = 0.0
    by_state: Counter[CaseState] = field(default_factory=Counter)

    def count(self, chunk: Chunk) -> None:
        self.cases += len(chunk.cases)
        self.by_state.update(chunk.by_state)
        self.pending_proposals += chunk.pending
        self.decided_proposals += chunk.decided


def generate(session: Session, communes: Sequence[CommuneLike], case_count: int, *, seed: int, today: date,
             weights: Sequence[float] | None = None, ncc_share: float = 0.25, pending_share: float = 0.03,
             chunk_size: int = CHUNK_SIZE, workers: int | None = None,
             system_name: str = "synthetic") -> GenerationReport:
    """Write `case_count` cases over `communes` (in proportion to `weights`), with histories.

    Creates the officer and supervisor each commune needs if it has none. The same seed, today
    and database content give the same data, whatever the number of `workers` (default: one per
    CPU for large counts).
    :raise ValueError: a commune's province has no bank to open accounts with.
    """
    started = time.perf_counter()
    session.flush()  # users and places added through the ORM must exist before rows point at them
    sink = BulkSink(session)
    report = GenerationReport()
    with sink.tuned():
        chain = AuditChain(session, sink)
        provinces = province_codes(session, {c.province_id for c in communes})
        actors, report.users_created = ensure_commune_actors(
            session, communes, provinces, chain, seed=seed, system=ActorRow.system(system_name),
            created_at=OfficeClock(today).at(ACTORS_CREATED_DAYS_AGO))
        plan = Plan(tuple(load_places(session, communes, actors)),
                    tuple(accumulate(allocate(case_count, weights or [1.0] * len(communes)))),
                    next_id(session, CASE_TABLE), chunk_size, seed, today, highest_serials(session),
                    ncc_share, pending_share, state_offset=Random(seed).random())
        _write_all(sink, chain, plan, workers, report, next_id(session, PROPOSAL_TABLE))
    report.audit_records = chain.appended
    report.seconds = time.perf_counter() - started
    return report


def _write_all(sink: BulkSink, chain: AuditChain, plan: Plan, workers: int | None, report: GenerationReport,
               proposal_base: int) -> None:
    """Write the plan's chunks as they come, chain their records, and close the chain."""
    for chunk in built_chunks(plan, workers):
        _write(sink, chain, chunk, proposal_base)
        proposal_base += len(chunk.proposals)
        report.count(chunk)
    chain.close()
    sink.finish([CASE_TABLE, PROPOSAL_TABLE])


def _write(sink: BulkSink, chain: AuditChain, chunk: Chunk, proposal_base: int) -> None:
    sink.write(CASE_TABLE, CASE_COLUMNS, chunk.cases)    # the insert trigger opens each case's last stay
    write_stays(sink, chunk.stays, chunk.late_open)
    sink.write(PROPOSAL_TABLE, PROPOSAL_COLUMNS, [(proposal_base + row[0], *row[1:]) for row in chunk.proposals])
    chain.seal(chunk.records, proposal_base)
    chain.flush()


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights` (largest remainders), summing exactly to `total`."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[:total - sum(shares)]:
        shares[i] += 1
    return shares


def highest_serials(session: Session) -> dict[str, int]:
    """For each ID group already used (first six digits), the highest serial in it."""
    found: dict[str, int] = {}
    for column in (Case.national_id, Case.guardian_national_id, Case.account_holder_national_id):
        group = func.substr(column, 1, 6)
        for prefix, serial in session.execute(
                select(group, func.max(func.substr(column, 7, 6))).where(column.is_not(None)).group_by(group)):
            if serial and serial.isdigit():
                found[prefix] = max(found.get(prefix, 0), int(serial))
    return found
