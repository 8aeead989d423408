"""Column types shared by the models."""
from __future__ import annotations

import enum

from sqlalchemy import Enum as SAEnum


def enum_column(enum_cls: type[enum.Enum], name: str) -> SAEnum:
    """Store an enum by its value as a plain string (no database ENUM type to migrate)."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )
