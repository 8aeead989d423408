"""The administrator's payment providers of a province (issue 18): the banks and post office that
pay its beneficiaries, whom each pays (policy groups, communes, in cash or not) and the headings of
its files where they differ from ours; creating and changing them, each audited.

Who keeps them: an active administrator of the province. An administrator scoped to communes keeps
none (a provider serves several communes, often the whole province).

Services flush and never commit; `admin` is the administrator acting, `actor` what the audit trail
records. After any change this process's list of providers for the forms is dropped
(`cases.organisation.forget_provider_choices`).
"""
from __future__ import annotations

import json
import re

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import NotFound

from cases import audit
from cases.access import require_admin
from cases.audit import Actor
from cases.changes import unique_or
from cases.errors import DomainError, NotPermitted
from cases.models import Commune, PaymentProvider, Province, ProviderKind, User
from cases.models.organisation import CODE_LIST_2025
from cases.organisation import forget_provider_choices
from cases.payments.workbook import PAYMENT_LIST_COLUMNS, PAYMENT_LIST_HEADINGS

# The columns of a payment list, in the workbook's order (the payment-list workbook reads these):
# a provider's `file_layout` may rename any of them, never add one.
# The payment list's columns and our headings: one home, the list's workbook.
DEFAULT_HEADINGS = PAYMENT_LIST_HEADINGS
POLICY_GROUPS = ("all", "btxh", "ncc")
POLICY_GROUP_LABELS = {
    "all": _l("Chung (BTXH và NCC)"),
    "btxh": _l("Bảo trợ xã hội (BTXH)"),
    "ncc": _l("Người có công (NCC)"),
}
SHORT_NAME_LENGTH, NAME_LENGTH, HEADING_LENGTH = (2, 30), (1, 200), (1, 80)
# A short code as banks write one: letters, digits, `-`, `_`, `.`; no spaces.
_SHORT_NAME = re.compile(r"^[\w.-]+$")
# As forms.base refuses in any text field: C0 and C1 controls, DEL, U+FFFD, and here line breaks too.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffd]")
_FIELDS = ("short_name", "name", "kind", "policy_groups", "pays_in_cash", "active", "communes", "file_layout")


# --- Who keeps what -------------------------------------------------------------------------

def require_provider_admin(admin: User) -> None:
    """:raise NotPermitted: (403) `admin` is not an active administrator of a province."""
    require_admin(admin, _("quản lý tổ chức chi trả"))
    if admin.province_id is None:
        raise NotPermitted(_("Chỉ quản trị của tỉnh được quản lý tổ chức chi trả."))


def manageable_provinces(session: Session, admin: User) -> list[Province]:
    """The provinces whose providers `admin` keeps: their own.

    :raise NotPermitted: (403) as `require_provider_admin`.
    """
    require_provider_admin(admin)
    return [session.get(Province, admin.province_id)]


def require_province(session: Session, admin: User, province_id: int) -> None:
    """:raise NotPermitted: (403) `admin` does not keep the providers of the province."""
    if province_id not in {p.id for p in manageable_provinces(session, admin)}:
        raise NotPermitted(_("Bạn chỉ quản lý tổ chức chi trả của tỉnh mình."))


def province_for(session: Session, admin: User, code: str | None) -> Province | None:
    """The province the page shows: `code` (`?province=`), else the administrator's own.

    :raise NotPermitted: (403) not a province's administrator, or of another province.
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


def provider_for(session: Session, admin: User, provider_id: int) -> PaymentProvider:
    """The provider `admin` asked for.

    :raise NotPermitted: (403) not a province's administrator, or the provider is of another province.
    :raise NotFound: (404) no such provider.
    """
    require_provider_admin(admin)
    provider = session.get(PaymentProvider, provider_id)
    if provider is None:
        raise NotFound()
    require_province(session, admin, provider.province_id)
    return provider


def communes_of(session: Session, province_id: int) -> list[Commune]:
    """The province's communes, by name (what a provider may serve)."""
    return list(session.scalars(select(Commune).where(Commune.province_id == province_id).order_by(Commune.name)))


# --- Reading --------------------------------------------------------------------------------

def providers_of(session: Session, province_id: int) -> list[PaymentProvider]:
    """The province's providers, the active ones first, each by name, with their communes."""
    return list(session.scalars(
        select(PaymentProvider).options(selectinload(PaymentProvider.communes))
        .where(PaymentProvider.province_id == province_id)
        .order_by(PaymentProvider.active.desc(), PaymentProvider.name, PaymentProvider.id)))


def layout_of(provider: PaymentProvider) -> dict[str, str]:
    """The provider's own headings, {our column key: its heading}; {} when it uses ours."""
    if not provider.file_layout:
        return {}
    stored = json.loads(provider.file_layout)
    return {key: stored[key] for key in PAYMENT_LIST_COLUMNS if key in stored}


def headings_of(provider: PaymentProvider) -> list[str]:
    """The headings of the provider's files, in the columns' order: its own, else ours."""
    own = layout_of(provider)
    return [own.get(key) or str(DEFAULT_HEADINGS[key]) for key in PAYMENT_LIST_COLUMNS]


# --- Changing -------------------------------------------------------------------------------

def save_provider(session: Session, actor: Actor, admin: User, province_id: int, provider_id: int | None, *,
                  short_name: str, name: str, kind: ProviderKind, policy_groups: str, pays_in_cash: bool,
                  active: bool, commune_ids: list[int], file_layout: dict[str, str]) -> PaymentProvider:
    """Create a provider of the province (`provider_id` None) or change one; audited as
    `provider.create` (every field) or `provider.update` (each changed field, before → after;
    nothing written when nothing changed). No commune listed: it serves the whole province. A blank
    heading in `file_layout` means ours. Deactivating keeps the provider on the cases that name it.

    :raise NotPermitted: (403) `admin` does not keep the providers of the province.
    :raise NotFound: (404) no such provider in the province.
    :raise DomainError: a short code not 2–30 letters, digits, `-`, `_` or `.`, or taken in the
        province; a name not 1–200 characters; an unknown kind or policy group; a commune not of
        the province; a column key not of the payment list; a heading not 1–80 characters, with
        control characters, or the same as another column's.
    """
    require_province(session, admin, province_id)
    province = session.get(Province, province_id)
    provider = None
    if provider_id is not None:
        provider = session.get(PaymentProvider, provider_id)
        if provider is None or provider.province_id != province_id:
            raise NotFound()
    short_name, name = (short_name or "").strip(), (name or "").strip()
    _check_short_name(session, province_id, provider_id, short_name)
    _check_text(name, NAME_LENGTH, "name", _("Tên tổ chức chi trả"))
    kind = _check_kind(kind)
    if policy_groups not in POLICY_GROUPS:
        raise DomainError(_("Nhóm đối tượng không hợp lệ."), "policy_groups")
    communes = _checked_communes(session, province, commune_ids)
    layout = checked_layout(file_layout)
    after = {"short_name": short_name, "name": name, "kind": kind.value, "policy_groups": policy_groups,
             "pays_in_cash": bool(pays_in_cash), "active": bool(active),
             "communes": sorted(c.code for c in communes), "file_layout": layout}
    if provider is None:
        provider = PaymentProvider(province_id=province_id)
        session.add(provider)
        changes = None
    else:
        changes = {key: [value, after[key]] for key, value in _state(provider).items() if value != after[key]}
        if not changes:
            return provider
    provider.short_name, provider.name, provider.kind = short_name, name, kind
    provider.policy_groups, provider.pays_in_cash, provider.active = policy_groups, bool(pays_in_cash), bool(active)
    provider.communes = communes
    provider.file_layout = json.dumps(layout, ensure_ascii=False) if layout else None
    with unique_or(_("Mã viết tắt “%(short_name)s” đã có trong tỉnh.", short_name=short_name), "short_name"):
        session.flush()
    forget_provider_choices()
    if changes is None:
        audit.record(session, actor, "provider.create",
                     detail={"province": province.code, "provider_id": provider.id, **after})
    else:
        audit.record(session, actor, "provider.update",
                     detail={"province": province.code, "provider_id": provider.id, "short_name": short_name,
                             "changes": changes})
    return provider


def checked_layout(file_layout: dict[str, str]) -> dict[str, str]:
    """A provider's headings as stored: blank ones dropped (ours), in the columns' order.

    :raise DomainError: as `save_provider` says of a layout.
    """
    unknown = sorted(set(file_layout) - set(PAYMENT_LIST_COLUMNS))
    if unknown:
        raise DomainError(_("Cột “%(key)s” không có trong danh sách chi trả.", key=unknown[0]), "file_layout")
    layout = {}
    for key in PAYMENT_LIST_COLUMNS:
        heading = (file_layout.get(key) or "").strip()
        if heading:
            _check_text(heading, HEADING_LENGTH, f"heading_{key}", DEFAULT_HEADINGS[key])
            layout[key] = heading
    seen: dict[str, str] = {}
    for key in PAYMENT_LIST_COLUMNS:
        heading = layout.get(key) or str(DEFAULT_HEADINGS[key])
        other = seen.setdefault(heading.casefold(), key)
        if other != key:
            raise DomainError(_("Hai cột “%(first)s” và “%(second)s” không được cùng tiêu đề “%(heading)s”.",
                                first=DEFAULT_HEADINGS[other], second=DEFAULT_HEADINGS[key], heading=heading),
                              f"heading_{key}")
    return layout


def _state(provider: PaymentProvider) -> dict:
    return {"short_name": provider.short_name, "name": provider.name, "kind": provider.kind.value,
            "policy_groups": provider.policy_groups, "pays_in_cash": provider.pays_in_cash, "active": provider.active,
            "communes": sorted(c.code for c in provider.communes), "file_layout": layout_of(provider)}


def _check_short_name(session: Session, province_id: int, provider_id: int | None, short_name: str) -> None:
    low, high = SHORT_NAME_LENGTH
    if not low <= len(short_name) <= high or not _SHORT_NAME.match(short_name):
        raise DomainError(_("Mã viết tắt phải từ %(low)s đến %(high)s ký tự: chữ, số, dấu “-”, “_” hoặc “.”, "
                            "không có dấu cách.", low=low, high=high), "short_name")
    # Case does not make another code: "bidv-ls" beside "BIDV-LS" would only confuse.
    taken = session.scalars(select(PaymentProvider.short_name).where(
        PaymentProvider.province_id == province_id, PaymentProvider.id != (provider_id or 0)))
    if short_name.casefold() in {s.casefold() for s in taken}:
        raise DomainError(_("Mã viết tắt “%(short_name)s” đã có trong tỉnh.", short_name=short_name), "short_name")


def _check_text(value: str, length: tuple[int, int], field: str, label) -> None:
    low, high = length
    if not low <= len(value) <= high:
        raise DomainError(_("%(label)s phải từ %(low)s đến %(high)s ký tự.", label=label, low=low, high=high), field)
    if _CONTROL.search(value):
        raise DomainError(_("%(label)s có ký tự không hợp lệ (ký tự điều khiển hoặc xuống dòng).", label=label),
                          field)


def _check_kind(kind) -> ProviderKind:
    try:
        return ProviderKind(kind)
    except ValueError:
        raise DomainError(_("Loại tổ chức chi trả không hợp lệ."), "kind") from None


def _checked_communes(session: Session, province: Province, commune_ids: list[int]) -> list[Commune]:
    wanted = set(commune_ids)
    if not wanted:
        return []
    communes = list(session.scalars(select(Commune).where(Commune.id.in_(wanted)).order_by(Commune.code)))
    if len(communes) != len(wanted) or any(c.province_id != province.id for c in communes):
        raise DomainError(_("Xã, phường này không thuộc %(province)s.", province=province.name), "communes")
    return communes
