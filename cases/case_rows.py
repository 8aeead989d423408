"""A case as a row of values, for the writers that bypass the ORM (list imports, the demo and the
benchmark generator): the columns in table order, a blank registration, and the `case.create`
audit detail exactly as `cases.registration.register_case` writes it.

Values are JSON-ready (dates as ISO text, enums as values), so the same dict is the case row and
the source of its `case.create` snapshot.
"""
from __future__ import annotations

from json.encoder import encode_basestring as encode_json_string

from sqlalchemy import inspect

from cases.changes import NOT_DIFFED  # the audit snapshot leaves out the same bookkeeping fields
from cases.models import Case
from workflow.table import INITIAL_STATE

CASE_TABLE = Case.__table__
CASE_COLUMNS = tuple(c.name for c in CASE_TABLE.columns)
SNAPSHOT_FIELDS = tuple(c.key for c in inspect(Case).column_attrs if c.key not in NOT_DIFFED)
# A registration as `workflow.engine.start` leaves it: the initial state, version 1, no flags.
BLANK_CASE = {name: None for name in CASE_COLUMNS} | {
    "special_very_old": False, "special_gravely_ill": False, "special_cannot_travel": False,
    "special_nobody_to_authorise": False, "status": INITIAL_STATE.value, "version": 1,
}


def snapshot(case: dict) -> dict:
    """The case's fields as `cases.changes.snapshot` gives them to the `case.create` record."""
    return {name: case[name] for name in SNAPSHOT_FIELDS}


_SORTED = tuple(sorted(SNAPSHOT_FIELDS))
_TEMPLATE = '{"fields":{' + ",".join(f'"{name}":%s' for name in _SORTED) + "}}"


def creation_detail(case: dict) -> str:
    """`canonical_json({"fields": snapshot(case)})` for a case just registered, three times faster.

    Keys are sorted once, into a template; values are None, bool, int or str, encoded as the
    json module does. tests/test_demo.py checks the text against `canonical_json` for every case.
    """
    return _TEMPLATE % tuple([_encoded(value) for value in map(case.__getitem__, _SORTED)])


def creation_detail_over_blank(given: dict) -> str:
    """`creation_detail(BLANK_CASE | given)`, encoding only the fields `given` (a list's row sets
    a dozen of the forty: the rest are the blank registration's, encoded once)."""
    pieces = _BLANK_PIECES.copy()
    at = _SORTED_AT
    for name, value in given.items():
        if name in at:
            pieces[at[name]] = _encoded(value)
    return _TEMPLATE % tuple(pieces)


def _encoded(value) -> str:
    if value is None:
        return "null"
    if value.__class__ is str:
        return encode_json_string(value)
    if value.__class__ is bool:
        return "true" if value else "false"
    return str(value)


_SORTED_AT = {name: i for i, name in enumerate(_SORTED)}
_BLANK_PIECES = [_encoded(BLANK_CASE[name]) for name in _SORTED]
