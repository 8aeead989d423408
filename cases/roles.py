"""Who a user is to the system. The workflow table says which role may fire what."""
from __future__ import annotations

import enum


class Role(str, enum.Enum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.OFFICER: "Cán bộ xã",
    Role.SUPERVISOR: "Lãnh đạo phê duyệt",
    Role.AUDITOR: "Kiểm tra, thanh tra",
    Role.ADMIN: "Quản trị hệ thống",
}
