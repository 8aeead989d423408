"""The administrator's targets and bands of a province (what `cases.reports.targets` reads): setting,
replacing and removing targets, setting the bands' thresholds, each audited.

Who keeps them: an active administrator. One scoped to a province keeps that province's targets
and bands, and no other's. The data model has no national user (every user has a province or some
communes), so an administrator scoped to communes keeps only those communes' own targets, in the
provinces they lie in; a province-wide target or the bands need the province's administrator.

Services flush and never commit; `admin` is the administrator acting, `actor` what the audit trail
records.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import format_percent, gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import commune_ids, require_admin
from cases.audit import Actor
from cases.changes import day_text, utcnow
from cases.errors import DomainError, NotPermitted
from cases.models import Commune, Province, ReportBands, ReportTarget, TargetGroup, User
from cases.models.organisation import CODE_LIST_2025
from cases.reports.targets import thresholds

TARGET_GROUP_LABELS = {
    TargetGroup.ALL: _l("Chung (BTXH và NCC)"),
    TargetGroup.BTXH: _l("Bảo trợ xã hội (BTXH)"),
    TargetGroup.NCC: _l("Người có công (NCC)"),
}
WHOLE_PROVINCE = _l("Toàn tỉnh")
LOWEST_SHARE, HIGHEST_SHARE = 1, 1000            # per mille: 0.1 % to 100 %
FIRST_DUE, LAST_DUE = date(2000, 1, 1), date(2100, 12, 31)


@dataclass(frozen=True)
class TargetLine:
    """One target as the page lists it."""
    target: ReportTarget
    commune_name: str | None        # None: the province's own target
    set_by: str | None              # the administrator's username; None: the demo or a script


# --- Who keeps what -------------------------------------------------------------------------

def require_target_admin(user: User) -> None:
    """:raise NotPermitted: (403) `user` is not an active administrator."""
    require_admin(user, _("quản lý chỉ tiêu báo cáo"))


def manageable_provinces(session: Session, admin: User) -> list[Province]:
    """The provinces whose targets `admin` keeps (some of them): theirs, or those of their communes.

    :raise NotPermitted: (403) `admin` is not an administrator.
    """
    require_target_admin(admin)
    if admin.province_id is not None:
        return [session.get(Province, admin.province_id)]
    ids = {c.province_id for c in admin.communes}
    return list(session.scalars(select(Province).where(Province.id.in_(ids)).order_by(Province.name))) if ids else []


def require_province(session: Session, admin: User, province_id: int) -> None:
    """:raise NotPermitted: (403) `admin` keeps no target of the province."""
    if province_id not in {p.id for p in manageable_provinces(session, admin)}:
        raise NotPermitted(_("Bạn chỉ quản lý chỉ tiêu báo cáo của tỉnh mình."))


def keeps_whole_province(admin: User, province_id: int) -> bool:
    """Whether `admin` may set the province-wide targets and the bands of the province."""
    return admin.province_id == province_id


def _require_unit(session: Session, admin: User, province_id: int, commune_id: int | None) -> None:
    require_province(session, admin, province_id)
    if keeps_whole_province(admin, province_id):
        return
    if commune_id is None:
        raise NotPermitted(_("Chỉ quản trị của tỉnh được quản lý chỉ tiêu toàn tỉnh và ngưỡng xếp loại."))
    if commune_id not in (commune_ids(admin) or []):
        raise NotPermitted(_("Bạn chỉ đặt được chỉ tiêu riêng cho xã mình quản lý."))


def province_for(session: Session, admin: User, code: str | None) -> Province | None:
    """The province the page shows: `code` (`?province=`), else the administrator's own, else their
    only one; None when they have several to choose from.

    :raise NotPermitted: (403) not an administrator, or a province they keep no target of.
    :raise NotFound: (404) no province has that code.
    """
    provinces = manageable_provinces(session, admin)
    if code:
        code = code.strip()
        province = session.scalar(select(Province).where(Province.code_list == CODE_LIST_2025,
                                                         Province.code == code)) \
            if len(code) == 2 and code.isascii() and code.isdigit() else None
        if province is None:
            raise NotFound()
        require_province(session, admin, province.id)
        return province
    return provinces[0] if len(provinces) == 1 else None


def communes_for(session: Session, admin: User, province_id: int) -> list[Commune]:
    """The communes of the province `admin` may set a target for, by name."""
    statement = select(Commune).where(Commune.province_id == province_id).order_by(Commune.name)
    if not keeps_whole_province(admin, province_id):
        statement = statement.where(Commune.id.in_(commune_ids(admin) or []))
    return list(session.scalars(statement))


# --- Reading --------------------------------------------------------------------------------

def targets_of(session: Session, province_id: int) -> list[TargetLine]:
    """The province's targets: its own first, then each commune's (by name), each by due date."""
    setter = aliased(User)
    rows = session.execute(
        select(ReportTarget, Commune.name, setter.username)
        .outerjoin(Commune, Commune.id == ReportTarget.commune_id)
        .outerjoin(setter, setter.id == ReportTarget.set_by_id)
        .where(ReportTarget.province_id == province_id)
        .order_by(ReportTarget.commune_id.is_not(None), Commune.name, ReportTarget.due_on, ReportTarget.policy_group))
    return [TargetLine(target, name, username) for target, name, username in rows]


def share_text(per_mille: int) -> str:
    """`60 %`, `62,5 %` in the reader's locale."""
    return format_percent(per_mille / 1000, "#,##0.#%")


# --- Changing -------------------------------------------------------------------------------

def set_target(session: Session, actor: Actor, admin: User, province_id: int, commune_id: int | None,
               group: TargetGroup, share_per_mille: int, due_on: date) -> ReportTarget:
    """"At least `share_per_mille` of `group` paid through an account by `due_on`" for the province
    (`commune_id` None) or one of its communes. The same unit, group and due date replace the share.

    :raise NotPermitted: (403) `admin` does not keep this unit's targets.
    :raise DomainError: a share outside 0.1–100 %, a due date outside 2000–2100, or a commune not
        of the province.
    """
    _require_unit(session, admin, province_id, commune_id)
    return put_target(session, actor, admin.id, province_id, commune_id, group, share_per_mille, due_on)


def put_target(session: Session, actor: Actor, by_id: int | None, province_id: int, commune_id: int | None,
               group: TargetGroup, share_per_mille: int, due_on: date) -> ReportTarget:
    """`set_target` once the permission is settled (also the demo's way in, as its system actor).

    :raise DomainError: as `set_target`.
    """
    province, commune = _checked_unit(session, province_id, commune_id)
    _check_share(share_per_mille)
    if not FIRST_DUE <= due_on <= LAST_DUE:
        raise DomainError(_("Hạn phải trong khoảng từ năm %(first)s đến năm %(last)s.",
                            first=FIRST_DUE.year, last=LAST_DUE.year), "due_on")
    target = session.scalar(select(ReportTarget).where(
        ReportTarget.province_id == province_id, _same_commune(commune_id),
        ReportTarget.policy_group == group, ReportTarget.due_on == due_on))
    if target is not None and target.share_per_mille == share_per_mille:
        return target
    share = share_per_mille if target is None else [target.share_per_mille, share_per_mille]
    if target is None:
        target = ReportTarget(province_id=province_id, commune_id=commune_id, policy_group=group, due_on=due_on,
                              share_per_mille=share_per_mille, set_by_id=by_id, set_at=utcnow())
        session.add(target)
    else:
        target.share_per_mille, target.set_by_id, target.set_at = share_per_mille, by_id, utcnow()
    session.flush()
    audit.record(session, actor, "report_target.set", detail={**_unit(province, commune), "group": group,
                                                               "due_on": due_on, "share_per_mille": share})
    return target


def remove_target(session: Session, actor: Actor, admin: User, target_id: int) -> ReportTarget:
    """Delete one target; the unit falls back on its other targets (a commune on its province's).

    :raise NotPermitted: (403) `admin` does not keep this unit's targets.
    :raise NotFound: (404) no such target.
    """
    require_target_admin(admin)
    target = session.get(ReportTarget, target_id)
    if target is None:
        raise NotFound()
    _require_unit(session, admin, target.province_id, target.commune_id)
    province, commune = _checked_unit(session, target.province_id, target.commune_id)
    detail = {**_unit(province, commune), "group": target.policy_group, "due_on": target.due_on,
              "share_per_mille": target.share_per_mille}
    session.delete(target)
    session.flush()
    audit.record(session, actor, "report_target.remove", detail=detail)
    return target


def set_bands(session: Session, actor: Actor, admin: User, province_id: int, high_from_per_mille: int,
              average_from_per_mille: int) -> ReportBands:
    """The province's thresholds: "high" from `high_from_per_mille`, "average" from
    `average_from_per_mille`, "low" above nothing below it (0 < average < high ≤ 100 %).

    :raise NotPermitted: (403) `admin` is not the province's administrator.
    :raise DomainError: thresholds out of that order.
    """
    _require_unit(session, admin, province_id, None)
    province, _commune = _checked_unit(session, province_id, None)
    if average_from_per_mille <= 0:
        raise DomainError(_("Ngưỡng “Trung bình” phải lớn hơn 0 %."), "average_from")
    if high_from_per_mille > HIGHEST_SHARE:
        raise DomainError(_("Ngưỡng “Cao” không được quá 100 %."), "high_from")
    if average_from_per_mille >= high_from_per_mille:
        raise DomainError(_("Ngưỡng “Trung bình” phải nhỏ hơn ngưỡng “Cao”."), "average_from")
    before = thresholds(session, province_id)
    bands = session.get(ReportBands, province_id)
    if bands is None:
        bands = ReportBands(province_id=province_id)
        session.add(bands)
    bands.high_from_per_mille, bands.average_from_per_mille = high_from_per_mille, average_from_per_mille
    bands.set_by_id, bands.set_at = admin.id, utcnow()
    session.flush()
    audit.record(session, actor, "report_bands.set", detail={
        "province": province.code, "high_from_per_mille": [before[0], high_from_per_mille],
        "average_from_per_mille": [before[1], average_from_per_mille]})
    return bands


def target_text(session: Session, target: ReportTarget) -> dict[str, str]:
    """The words a message says about a target: its share, unit, group and due date."""
    commune = session.get(Commune, target.commune_id) if target.commune_id is not None else None
    return {"share": share_text(target.share_per_mille), "unit": commune.name if commune else str(WHOLE_PROVINCE),
            "group": str(TARGET_GROUP_LABELS[target.policy_group]), "due": day_text(target.due_on)}


def _checked_unit(session: Session, province_id: int, commune_id: int | None) -> tuple[Province, Commune | None]:
    province = session.get(Province, province_id)
    if province is None:
        raise DomainError(_("Không có tỉnh này."), "province")
    if commune_id is None:
        return province, None
    commune = session.get(Commune, commune_id)
    if commune is None or commune.province_id != province_id:
        raise DomainError(_("Xã, phường này không thuộc %(province)s.", province=province.name), "commune")
    return province, commune


def _check_share(per_mille: int) -> None:
    if not LOWEST_SHARE <= per_mille <= HIGHEST_SHARE:
        raise DomainError(_("Chỉ tiêu phải từ 0,1 % đến 100 %."), "share")


def _same_commune(commune_id: int | None):
    return ReportTarget.commune_id.is_(None) if commune_id is None else ReportTarget.commune_id == commune_id


def _unit(province: Province, commune: Commune | None) -> dict:
    return {"province": province.code, "commune": commune.code if commune else None}

