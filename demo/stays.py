"""The stays a synthetic history leaves in `case_stays`, as the triggers of migration 0015 would
have written them had the case been registered and moved step by step.

A case is written once, in its final state: the INSERT trigger then opens one stay at its
`state_entered_at`, and knows nothing of the states before. So the generator writes the earlier,
closed stays itself — a new stay at registration, at each step that changes the state and, inside
a state, at each step that records an account number where there was none (or takes it away) —
each closed where the next begins. The last, open stay is left to the trigger; where it began after
the case entered its state (an account recorded since), its start is moved to that step.
"""
from __future__ import annotations

from cases.bulk_write import BulkSink
from cases.models import CaseStay
from cases.models.reports import OPEN_END

STAY_TABLE = CaseStay.__table__
STAY_COLUMNS = ("case_id", "status", "province_id", "commune_id", "policy_group", "has_account", "valid_from",
                "valid_to")
OPEN_END_TEXT = OPEN_END.isoformat(sep=" ", timespec="microseconds")   # as the triggers write it


def stay_key(case: dict) -> tuple:
    """The facts whose change ends a stay (the triggers' `_CHANGED`)."""
    return case["status"], case["commune_id"], case["policy_group"], case["account_number"] is not None


class StayLog:
    """Follows one case at a time through its steps; collects the closed stays of a chunk as rows
    for `case_stays`, and the open stays that begin after their case's `state_entered_at`."""

    def __init__(self):
        self.closed: list[tuple] = []
        self.late_open: list[tuple[str, int]] = []      # (valid_from, case_id)
        self._key: tuple = ()
        self._since = ""

    def begin(self, case: dict, at: str) -> None:
        """The case is registered at `at` (its first stay, in the initial state)."""
        self._key, self._since = stay_key(case), at

    def step(self, case: dict, at: str) -> None:
        """A step at `at` has left the case as it is now: a new stay if one of the facts changed."""
        key = stay_key(case)
        if key != self._key:
            status, commune_id, policy_group, has_account = self._key
            self.closed.append((case["id"], status, case["province_id"], commune_id, policy_group, has_account,
                                self._since, at))
            self._key, self._since = key, at

    def end(self, case: dict) -> None:
        """The case is written as it is now: the trigger opens its last stay at `state_entered_at`."""
        if self._since != case["state_entered_at"]:
            self.late_open.append((self._since, case["id"]))


def write_stays(sink: BulkSink, closed: list[tuple], late_open: list[tuple[str, int]]) -> None:
    """Write a chunk's closed stays and move the start of its late open ones, after its cases
    (each stay names its case: the foreign key wants the case's row first)."""
    sink.write(STAY_TABLE, STAY_COLUMNS, closed)
    if not late_open:
        return
    if sink.dialect == "postgresql":
        starts, case_ids = zip(*late_open)
        with sink.raw.cursor() as cursor:
            cursor.execute(
                "UPDATE case_stays AS s SET valid_from = v.valid_from "
                "FROM unnest(%s::timestamp[], %s::integer[]) AS v(valid_from, case_id) "
                "WHERE s.case_id = v.case_id AND s.valid_to = %s", (list(starts), list(case_ids), OPEN_END))
    else:
        sink.connection.exec_driver_sql(
            "UPDATE case_stays SET valid_from = ? WHERE case_id = ? AND valid_to = ?",
            [(start, case_id, OPEN_END_TEXT) for start, case_id in late_open])

