"""Reading many rows by key (the imports, bulk transitions): the keys go to the database in
batches, each one condition.

SQLite takes an IN list of up to 900 bound values. PostgreSQL is given one array per 10,000 keys
(`column = ANY(%s)`): an IN list of 900 parameters is parsed and planned anew at every statement,
which cost a 100,000-row return three seconds; an array is one parameter, probed in the index
key by key.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

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
