"""Refusals a user can meet. Each carries the message the screen shows (Vietnamese)."""
from __future__ import annotations


class DomainError(Exception):
    """A business rule refuses the change; nothing was written."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


class NotPermitted(Exception):
    """The user's role may not do this: a 403, audited as a denied access."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class StaleCase(DomainError):
    """The case changed since the form was rendered (a 409); nothing was overwritten."""
