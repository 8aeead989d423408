"""Log lines that carry no personal numbers and cannot be forged by input.

Every line the app writes goes through `SafeFormatter`: runs of nine or more digits (ID numbers
have 12, account numbers 9 to 19; dates, amounts and case ids are shorter or broken by
separators) keep only their last three digits, and a CR or LF inside a message is written as
`\\r` / `\\n`, so a username with a line break cannot start a line of its own. SQL parameters
are kept out of production logs altogether by the engine (`hide_parameters`, config).
"""
from __future__ import annotations

import logging
import re

_LONG_NUMBER = re.compile(r"\d{6,}(?=\d{3})")
_LINE_BREAKS = str.maketrans({"\r": "\\r", "\n": "\\n"})
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def mask_numbers(text: str) -> str:
    """`020150001234` → `*********234`: personal numbers unreadable, still tellable apart in a log."""
    return _LONG_NUMBER.sub(lambda m: "*" * len(m.group()), text)


class SafeFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = mask_numbers(record.message.translate(_LINE_BREAKS))
        return super().formatMessage(record)

    def formatException(self, exc_info) -> str:
        # A traceback is multi-line by nature; only its numbers are masked (SQL errors quote values).
        return mask_numbers(super().formatException(exc_info))

    def formatStack(self, stack_info: str) -> str:
        return mask_numbers(super().formatStack(stack_info))


def configure(level: int = logging.INFO) -> None:
    """Route the root logger through `SafeFormatter` (once; idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if type(handler) is logging.StreamHandler and not isinstance(handler.formatter, SafeFormatter):
            handler.setFormatter(SafeFormatter(FORMAT))
    if not any(isinstance(h.formatter, SafeFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(SafeFormatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
