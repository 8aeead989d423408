"""What an overdue case needs, per state: the reason the escalation digest and the queue's
"quá hạn" marker give, beside the SLA in workflow.table. A state not listed here is simply late
("quá thời hạn xử lý"); one listed names the step its SLA is for.
"""
from __future__ import annotations

from datetime import date
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from cases.changes import day_text, month_text
from workflow.states import CaseState as S

# {state: (reason, how the stay's start is written in it: a day or a month)}
OVERDUE_REASONS: dict[S, tuple[str, str]] = {
    S.PAID_IN_CASH: (_l("đến hạn vận động chuyển sang nhận qua tài khoản (nhận tiền mặt từ %(since)s)"), "day"),
    S.SUSPENDED: (_l("đến hạn xem xét lại (tạm dừng từ %(since)s)"), "month"),
}
# Overdue in these states asks for a decision, not a clerk's step: tier 1 goes to the commune's
# supervisors too, not only to its officers.
SUPERVISORS_REVIEW = frozenset({S.SUSPENDED})


class OverdueReason(NamedTuple):
    """What an overdue case needs, read in the reader's language when turned into text (`str()`):
    a digest line made once is read by recipients of different languages. Its parts stay open so
    a digest renders thousands of them from its own catalogue (cases.digests._Words)."""
    text: LazyString           # the message, with `%(since)s`
    unit: str                  # how the stay's start is written: "day" or "month"
    since: date

    def __str__(self) -> str:
        written = month_text if self.unit == "month" else day_text
        return str(self.text) % {"since": written(self.since)}


def overdue_reason(state: S, since: date) -> OverdueReason | None:
    """What an overdue case in `state` since `since` needs, or None for plain lateness."""
    found = OVERDUE_REASONS.get(state)
    if found is None:
        return None
    text, unit = found
    return OverdueReason(text, unit, since)
