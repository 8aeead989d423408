from __future__ import annotations

import enum


class CaseState(str, enum.Enum):
    """The states of a case (BRIEF section 3). Values are what the database stores."""

    IDENTITY_VERIFICATION = "identity_verification"
    PAYMENT_METHOD = "payment_method"
    ACCOUNT_OPENING = "account_opening"
    PAID_BY_ACCOUNT = "paid_by_account"
    PAID_IN_CASH = "paid_in_cash"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"
