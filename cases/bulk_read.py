"""Reading many rows by key (the imports, bulk transitions): the keys go to the database in
batches, each one condition.

SQLite takes an IN list of up to 900 bound values. PostgreSQL is given one array per 10,000 keys
(`column = ANY(%s)`): an IN list of 900 parameters is parsed and planned anew at every statement,
which cost a 100,000-row return three seconds; an array is one parameter, probed in the index
key by key.

Also here, for the same jobs: a large read as the driver's own tuples (`driver_rows`), and a
worker process that reads and works out the next batch while the job writes the current one
(`read_ahead`).
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import ColumnElement, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

IN_LIST = 900             # SQLite: bound values per IN (...), well under its 32,766
ARRAY_BATCH = 10_000      # PostgreSQL: keys per array

log = logging.getLogger(__name__)


def key_batches(session: Session, column, keys: Sequence) -> Iterator[tuple[list, ColumnElement[bool]]]:
    """(a batch of `keys`, the condition that `column` is one of them), batch after batch, in order."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    size = ARRAY_BATCH if postgresql else IN_LIST
    for start in range(0, len(keys), size):
        batch = list(keys[start:start + size])
        if postgresql:
            yield batch, column == any_(bindparam(None, batch, type_=ARRAY(column.type)))
        else:
            yield batch, column.in_(batch)


def driver_rows(session: Session, statement: Select) -> list[tuple]:
    """`statement`'s rows as the database driver's own tuples, for reads of a hundred thousand rows
    and more: no SQLAlchemy row a row and no column type's conversion, so values come as stored
    (an enum as its text, a boolean as 0 / 1 on SQLite, a datetime as text there). A row object
    and a conversion a row were half the time of such reads. Bound values are written into the
    statement: the app's own (ids, dates, numbers), never a user's text."""
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()
    try:
        cursor.execute(str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})))
        return cursor.fetchall()
    finally:
        cursor.close()


class ReadAhead:
    """A worker process of the job's own (`read_ahead`): `submit(work, *args)` runs
    `work(reader, *args)` there, `reader` a session of its own (rolled back after each work), and
    gives the work's Future (`taken` gives its result), or None where the caller is to do the work
    itself: while the worker is still starting, or when it has broken (logged).

    The worker takes a second or two to start (a new interpreter, the app built); the job does
    its first batches itself meanwhile, instead of waiting for the worker's first answer."""

    def __init__(self, pool: ProcessPoolExecutor):
        self._pool = pool
        self._ready = pool.submit(_worked, _ready)      # the worker starts now, not at the first batch

    @property
    def started(self) -> bool:
        return self._ready.done()

    def wait_started(self, timeout: float = 60) -> None:
        """Block until the worker has started or failed to (a test's slow writer)."""
        wait([self._ready], timeout)

    def submit(self, work, *args) -> Future | None:
        if not self.started:
            return None
        try:
            return self._pool.submit(_worked, work, *args)
        except (BrokenProcessPool, RuntimeError):
            log.warning("read-ahead worker unavailable: the job reads each batch itself", exc_info=True)
            return None


@contextmanager
def read_ahead(session: Session) -> Iterator[ReadAhead | None]:
    """A worker process (`ReadAhead`), so that a bulk job reads its next batch and works it out in
    memory while this process writes the current one. `work` is a module's function; it, its
    arguments and its result cross as pickles, so they are plain values. What is read ahead must
    be written guarded by what was read (a version), since the writer's own session did not
    read it.

    A process, not a thread: the work is pure Python, and a thread beside the writer took the
    interpreter's lock from it at every row SQLite steps through and every reply PostgreSQL
    sends. Spawned, not forked: a forked child inherits the parent's open connections, and on
    SQLite the bookkeeping of its file locks (SQLite forbids carrying a connection across a
    fork). The worker builds the same app as this one (`create_app` with the same overrides).
    None where another process cannot see the data (SQLite in memory)."""
    url = session.get_bind().url
    factory = current_app.extensions.get("ansinh_factory")
    if factory is None or (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")):
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_started, initargs=factory)
    try:
        yield ReadAhead(pool)
    finally:
        # Not waited for: the worker's work is done or cancelled, and its exit (its interpreter
        # torn down, 0.6 s) is no business of the job's.
        pool.shutdown(wait=False, cancel_futures=True)


def taken(future: Future | None):
    """The read-ahead's result; None when there was none or it failed (logged): the caller then
    works the batch out itself."""
    if future is None:
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - the batch is still done, by the writer itself
        log.warning("read-ahead failed: the job reads the batch itself", exc_info=True)
        return None


def _worker_started(create_app, overrides: dict) -> None:
    """In the worker process: the app, and an app context held for the worker's life. The worker
    yields the processor to the writer and its database server: it works ahead, they wait on
    each other, and each chunk waits on them.

    The app's objects, alive as long as the worker, are then left out of the collector's passes:
    a batch's rows by the thousand set off full collections over the whole heap, a fifth of the
    worker's time."""
    os.nice(10)
    app = create_app(overrides)
    app.app_context().push()
    gc.freeze()


def _ready(reader: Session) -> None:
    return None


def _worked(work, *args):
    from extensions import db      # late: the extension imports the models

    reader = db.session
    try:
        return work(reader, *args)
    finally:
        reader.rollback()
