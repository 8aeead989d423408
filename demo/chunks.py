"""Building synthetic cases in chunks, in worker processes when there are many.

A chunk depends only on the plan and its own number (its random generator is seeded with both,
its case ids and ID-number serials are its own), so chunks can be built in any process, in any
order, and the result is the same: the writer takes them in order and chains their records.
Workers never touch the database; they hand back plain tuples.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import tempfile
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from random import Random

from cases.audit_chain import Unsealed
from demo.history import CaseHistories
from demo.people import NationalIds
from demo.places import Place
from demo.routes import STATE_MIX
from workflow.states import CaseState

# Successive cases take states at successive multiples of the golden ratio (mod 1): every state
# gets its share within a few dozen cases, in a small commune as in a large run.
GOLDEN = 0.6180339887498949
# Below this many cases, starting processes costs more than it saves.
PARALLEL_FROM = 50_000
WORKER_NICENESS = 10


@dataclass(frozen=True)
class Plan:
    places: tuple[Place, ...]
    ends: tuple[int, ...]               # place i takes case numbers ends[i-1] <= n < ends[i]
    first_case_id: int
    chunk_size: int
    seed: int
    today: date
    highest_serials: dict[str, int]
    ncc_share: float
    pending_share: float
    state_offset: float

    @property
    def case_count(self) -> int:
        return self.ends[-1] if self.ends else 0

    @property
    def chunks(self) -> int:
        return math.ceil(self.case_count / self.chunk_size)


@dataclass
class Chunk:
    cases: list[tuple]
    proposals: list[tuple]              # ids numbered from 0 within the chunk
    records: list[Unsealed]
    stays: list[tuple]                  # the closed stays (`demo.stays`)
    late_open: list[tuple[str, int]]    # open stays that begin after their case entered its state
    by_state: Counter[CaseState]
    pending: int
    decided: int


def build_chunk(plan: Plan, number: int) -> Chunk:
    rng = Random(f"{plan.seed}:chunk:{number}")
    ids = NationalIds(rng, plan.highest_serials, seed=plan.seed, chunk=number, chunks=plan.chunks)
    histories = CaseHistories(rng, plan.today, ids, ncc_share=plan.ncc_share, pending_share=plan.pending_share)
    start = number * plan.chunk_size
    place = 0
    for n in range(start, min(start + plan.chunk_size, plan.case_count)):
        while n >= plan.ends[place]:
            place += 1
        state = STATE_MIX.at((plan.state_offset + n * GOLDEN) % 1.0)
        histories.add(plan.first_case_id + n, plan.places[place], state)
    return Chunk(histories.cases, histories.proposals, histories.records, histories.stays.closed,
                 histories.stays.late_open, histories.by_state, histories.pending, histories.decided)


def built_chunks(plan: Plan, workers: int | None = None) -> Iterator[Chunk]:
    """The plan's chunks in order; built ahead by `workers` processes (0: here, one by one)."""
    workers = default_workers(plan.case_count) if workers is None else workers
    if workers <= 0 or plan.chunks <= 1:
        yield from (build_chunk(plan, n) for n in range(plan.chunks))
        return
    # fork: workers start at once with the plan and the loaded modules, nothing is pickled in.
    # Built chunks wait in a private directory that goes, whatever happens, with the pool.
    with tempfile.TemporaryDirectory(prefix="ansinh-chunks-") as folder, \
            multiprocessing.get_context("fork").Pool(workers, initializer=_adopt, initargs=(plan, folder)) as pool:
        in_flight: deque = deque()
        for number in range(plan.chunks):
            in_flight.append(pool.apply_async(_build, (number,)))
            if len(in_flight) >= 2 * workers:  # a bounded window: finished chunks never pile up
                yield _collect(in_flight.popleft().get())
        while in_flight:
            yield _collect(in_flight.popleft().get())


def default_workers(case_count: int) -> int:
    return (os.cpu_count() or 1) if case_count >= PARALLEL_FROM else 0


_plan: Plan | None = None
_folder = ""


def _adopt(plan: Plan, folder: str) -> None:
    global _plan, _folder
    _plan, _folder = plan, folder
    # The writer (chaining records, feeding the database) is the one part that cannot run in
    # parallel: builders yield it the CPU and take whatever it leaves.
    os.nice(WORKER_NICENESS)


def _build(number: int) -> str:
    """Build a chunk and leave it pickled in a file; returns the file's path.

    Through the pool's pipe, a worker would wait for the writer to drain its 50 MB before it
    could start the next chunk; a file in the page cache takes it at once.
    """
    chunk = build_chunk(_plan, number)
    path = os.path.join(_folder, f"chunk-{number}.pickle")
    with open(path, "wb") as out:
        pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _collect(path: str) -> Chunk:
    with open(path, "rb") as source:
        # A file this load wrote itself, in its own temporary folder (bandit B301).
        chunk = pickle.load(source)  # nosec
    os.unlink(path)
    return chunk
