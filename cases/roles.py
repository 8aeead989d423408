"""Who a user is to the system. The workflow table says which role may fire what."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Role(str, enum.Enum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.OFFICER: _l("Cán bộ xã"),
    Role.SUPERVISOR: _l("Lãnh đạo phê duyệt"),
    Role.AUDITOR: _l("Kiểm tra, thanh tra"),
    Role.ADMIN: _l("Quản trị hệ thống"),
}
