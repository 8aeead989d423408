"""The list the police ask for (issue 16): the cases of a commune (or a province) in
`identity_verification`, with empty columns for the police to fill — their answer comes back
through `cases.lists.police`. The export of personal data is audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.access import case_scope, may_see_commune
from cases.audit import Actor
from cases.changes import day_text
from cases.errors import DomainError, NotPermitted
from cases.models import Case, Commune, Province, Sex, User, Village
from cases.sheets.writer import SheetSpec, workbook_bytes
from workflow.states import CaseState
from workflow.table import TRANSITIONS

AWAITING = CaseState.IDENTITY_VERIFICATION

TITLE = _l("DANH SÁCH ĐỀ NGHỊ XÁC THỰC THÔNG TIN CÔNG DÂN")
EXPORT_HEADER = [_l("STT"), _l("Mã hồ sơ"), _l("Họ và tên"), _l("Ngày sinh"), _l("Giới tính"), _l("Số CCCD"),
                 _l("Địa chỉ"), _l("Kết quả (Khớp / Không khớp)"), _l("Họ tên đúng"), _l("Ngày sinh đúng"),
                 _l("Giới tính đúng"), _l("Ghi chú")]
EXPORT_WIDTHS = [6, 10, 28, 12, 9, 15, 48, 16, 28, 14, 12, 30]
SEX_WORDS = {Sex.MALE: _l("Nam"), Sex.FEMALE: _l("Nữ")}


def _awaiting(user: User, commune_id: int | None, province_id: int):
    """The cases awaiting verification in the unit and in `user`'s scope, with their places; each
    unit's queue index (commune or province, then state) serves it."""
    unit = Case.commune_id == commune_id if commune_id is not None else Case.province_id == province_id
    return (select(Case.id, Case.full_name, Case.birth_date, Case.sex, Case.national_id, Case.address_detail,
                   Village.name.label("village"), Commune.name.label("commune"), Province.name.label("province"))
            .join(Commune, Commune.id == Case.commune_id).join(Province, Province.id == Case.province_id)
            .outerjoin(Village, Village.id == Case.village_id)
            .where(case_scope(user), unit, Case.status == AWAITING)
            .order_by(Commune.name, Village.name, Case.name_folded, Case.id))


def cases_awaiting_verification(session: Session, user: User, commune_id: int | None, province_id: int) -> list:
    """The cases of a commune (or, with `commune_id` None, of a province) awaiting identity
    verification that `user` may see, by commune, village and name: rows with id, full_name,
    birth_date, sex, national_id, address_detail, village, commune and province (names)."""
    return list(session.execute(_awaiting(user, commune_id, province_id)))


def police_list_workbook(session: Session, actor: Actor, user: User, commune_id: int | None, province_id: int,
                         today: date) -> tuple[bytes, int]:
    """The workbook the police ask for, and the number of people on it; the export of personal
    data is audited (`police_list.export`: the unit, the count and the case ids). Flushes nothing.

    :raise NotPermitted: the user's role does not verify identities.
    :raise DomainError: the unit is not in the user's scope.
    """
    unit = _export_unit(session, user, commune_id, province_id)
    rows = cases_awaiting_verification(session, user, commune_id, province_id)
    # In Vietnamese whatever the officer reads: it goes to the police, and comes back to be read
    # by the header synonyms.
    with force_locale("vi"):
        sheet = SheetSpec(
            title=str(_("Đề nghị xác thực")),
            heading_lines=[unit.heading, str(TITLE),
                           _("Ngày lập: %(day)s — %(n)s người", day=day_text(today), n=len(rows))],
            header=[str(h) for h in EXPORT_HEADER],
            rows=[_export_row(n, row) for n, row in enumerate(rows, 1)],
            column_widths=EXPORT_WIDTHS)
    data = workbook_bytes([sheet])
    audit.record(session, actor, "police_list.export", detail={
        "unit": unit.code, "count": len(rows), "case_ids": [row.id for row in rows]})
    return data, len(rows)


@dataclass(frozen=True)
class _Unit:
    code: str
    heading: str


def _export_unit(session: Session, user: User, commune_id: int | None, province_id: int) -> _Unit:
    if user.role not in TRANSITIONS["verify_identity"].roles or not user.is_active:
        raise NotPermitted(_("Chỉ cán bộ và lãnh đạo được lập danh sách gửi công an."))
    if commune_id is not None:
        commune = session.get(Commune, commune_id)
        if commune is None or commune.province_id != province_id or not may_see_commune(user, commune):
            raise DomainError(_("Xã/phường không thuộc phạm vi bạn quản lý."))
        return _Unit(commune.code, f"{commune.name}, {commune.province.name}")
    province = session.get(Province, province_id)
    if province is None or user.province_id != province_id:
        raise DomainError(_("Chỉ người phụ trách cả tỉnh được lập danh sách của cả tỉnh."))
    return _Unit(province.code, province.name)


def _export_row(n: int, row) -> tuple:
    place = ", ".join(p for p in (row.address_detail, row.village, row.commune, row.province) if p)
    return (n, row.id, row.full_name, row.birth_date, str(SEX_WORDS[row.sex]), row.national_id or "", place,
            None, None, None, None, None)


