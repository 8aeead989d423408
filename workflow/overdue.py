"""What an overdue case needs, per state: the reason the escalation digest and the queue's
"quá hạn" marker give, beside the SLA in workflow.table. A state not listed here is simply late
("quá thời hạn xử lý"); one listed names the step its SLA is for.
"""
from __future__ import annotations

from datetime import date

from workflow.states import CaseState as S

# {state: (reason, how the stay's start date is written in it)}
OVERDUE_REASONS: dict[S, tuple[str, str]] = {
    S.PAID_IN_CASH: ("đến hạn vận động chuyển sang nhận qua tài khoản (nhận tiền mặt từ {since})", "%d/%m/%Y"),
    S.SUSPENDED: ("đến hạn xem xét lại (tạm dừng từ {since})", "%m/%Y"),
}
# Overdue in these states asks for a decision, not a clerk's step: tier 1 goes to the commune's
# supervisors too, not only to its officers.
SUPERVISORS_REVIEW = frozenset({S.SUSPENDED})


def overdue_reason(state: S, since: date) -> str | None:
    """What an overdue case in `state` since `since` needs (Vietnamese), or None for plain lateness."""
    found = OVERDUE_REASONS.get(state)
    if found is None:
        return None
    text, since_format = found
    return text.format(since=since.strftime(since_format))
