"""How many cases each commune holds per state and policy group, kept exact by database triggers.

A queue's tabs and its total read this small table instead of counting a million cases. The
triggers (migration 0012) change it in the same statement as every INSERT, DELETE, and UPDATE of
`cases.status`, `commune_id` or `policy_group` — through the engine, a set-based decision run or a
bulk load alike — so no code path can forget it.
"""
from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


class CaseCount(db.Model):
    __tablename__ = "case_counts"
    __table_args__ = (
        # A province supervisor's tabs: every commune of the province.
        Index("ix_case_counts_province", "province_id", "status"),
    )

    # Plain strings, not the enums: the triggers copy the cases' stored values as they are.
    commune_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_group: Mapped[str] = mapped_column(String(10), primary_key=True)
    province_id: Mapped[int]
    n: Mapped[int] = mapped_column(default=0)
