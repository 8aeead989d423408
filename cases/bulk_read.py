"""Reading many rows by key (the imports, bulk transitions): the keys go to the database in
batches, each one condition.

SQLite takes an IN list of up to 900 bound values. PostgreSQL is given one array per 10,000 keys
(`column = ANY(%s)`): an IN list of 900 parameters is parsed and planned anew at every statement,
which cost a 100,000-row return three seconds; an array is one parameter, probed in the index
key by key.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

IN_LIST = 900             # SQLite: bound values per IN (...), well under its 32,766
ARRAY_BATCH = 10_000      # PostgreSQL: keys per array


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


@contextmanager
def read_ahead(session: Session) -> Iterator[Callable[..., Future] | None]:
    """PostgreSQL: `submit(work, *args)` runs `work(reader, *args)` in a thread of its own, with a
    session of its own (`reader`, rolled back after each work), so a bulk job reads its next batch
    and works it out in memory while its current batch's writes run on the server; the work's
    Future. What is read ahead must be written guarded by what was read (a version), since the
    writer's own session did not read it. None on SQLite: every row its writes step through hands
    the interpreter's lock back and waits to take it again, so a thread beside them only slows
    them down."""
    if session.get_bind().dialect.name != "postgresql":
        yield None
        return
    from extensions import db      # late: the extension imports the models

    app = current_app._get_current_object()
    contexts = []

    def enter() -> None:
        context = app.app_context()
        context.push()          # the thread's own app context: its own scoped session
        contexts.append(context)

    def run(work, *args):
        reader = db.session
        try:
            return work(reader, *args)
        finally:
            reader.rollback()

    def leave() -> None:
        db.session.remove()
        contexts.pop().pop()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as thread:
        thread.submit(enter).result()
        try:
            yield lambda work, *args: thread.submit(run, work, *args)
        finally:
            thread.submit(leave).result()
