"""Python's cyclic garbage collector kept off work that makes hundreds of thousands of objects,
none of them cyclic: a large sheet read, a list checked, a workbook built, a day's digests
written. Left on, each would set off full collections over the whole heap again and again — half
a 100,000-row list's reading time, a third of a country report's."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The call that paused the collector starts it again when it ends (a call that found it
    paused leaves it be), so it never stays off."""
    was_running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_running:
            gc.enable()


@contextmanager
def heap_frozen() -> Iterator[None]:
    """The objects alive now (a list's rows and verdicts, read and checked) left out of the
    collector's passes until the block ends; what the block makes is collected as usual. For work
    that goes on over a large plan and may leave cycles (the ORM's), where pausing would keep them."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
