"""Loading the administrative units, and the villages and providers of a province."""
from __future__ import annotations

import csv
import time

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from cases.models import Commune, PaymentProvider, Province, ProviderKind, Village
from cases.models.organisation import CODE_LIST_2025
from cases.reference import DATA


def load_admin_units(session: Session) -> tuple[int, int]:
    """Insert the 34 provinces and 3,321 communes that are not there yet. Idempotent.

    Returns (provinces added, communes added).
    """
    with open(DATA / "admin_units_2025.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    provinces = {p.code: p.id for p in session.execute(
        select(Province.code, Province.id).where(Province.code_list == CODE_LIST_2025))}
    new_provinces = {r["province_code"]: r["province_name"] for r in rows if r["province_code"] not in provinces}
    if new_provinces:
        session.execute(insert(Province), [{"code": c, "name": n, "code_list": CODE_LIST_2025}
                                           for c, n in new_provinces.items()])
        provinces = {p.code: p.id for p in session.execute(
            select(Province.code, Province.id).where(Province.code_list == CODE_LIST_2025))}
    known = set(session.scalars(select(Commune.code).where(Commune.code_list == CODE_LIST_2025)))
    new_communes = [
        {"province_id": provinces[r["province_code"]], "code": r["commune_code"], "name": r["commune_name"],
         "kind": r["commune_type"], "code_list": CODE_LIST_2025}
        for r in rows if r["commune_code"] not in known
    ]
    if new_communes:
        session.execute(insert(Commune), new_communes)
    return len(new_provinces), len(new_communes)


def province_by_code(session: Session, code: str) -> Province:
    return session.execute(
        select(Province).where(Province.code_list == CODE_LIST_2025, Province.code == code)).scalar_one()


def commune_by_code(session: Session, code: str) -> Commune:
    return session.execute(
        select(Commune).where(Commune.code_list == CODE_LIST_2025, Commune.code == code)).scalar_one()


def ensure_villages(session: Session, commune: Commune, names: list[str]) -> list[Village]:
    have = {v.name: v for v in commune.villages}
    for name in names:
        if name not in have:
            have[name] = Village(commune=commune, name=name)
            session.add(have[name])
    session.flush()
    return [have[n] for n in names]


def ensure_provider(session: Session, province: Province, short_name: str, name: str,
                    kind: ProviderKind) -> PaymentProvider:
    provider = session.scalar(select(PaymentProvider).where(
        PaymentProvider.province_id == province.id, PaymentProvider.short_name == short_name))
    if provider is None:
        provider = PaymentProvider(province=province, short_name=short_name, name=name, kind=kind,
                                   pays_in_cash=kind is ProviderKind.POST_OFFICE)
        session.add(provider)
        session.flush()
        forget_provider_choices()
    return provider


# Providers change rarely (an administrator adds or closes a bank branch), and every account form
# offers them: loading them each time was a quarter of the request. Each process keeps a
# province's list for a minute, so a change shows in every worker within one; the transition
# itself checks the chosen provider against the database (`provider_serving`).
PROVIDER_CHOICES_TTL_S = 60.0
_provider_choices: dict[tuple, tuple[float, list[tuple[int, str]]]] = {}
_ACTIVE_PROVIDERS = (select(PaymentProvider.id, PaymentProvider.name)
                     .where(PaymentProvider.province_id == bindparam("province_id"), PaymentProvider.active)
                     .order_by(PaymentProvider.name))
_PROVIDER_SERVING = select(PaymentProvider.id).where(
    PaymentProvider.id == bindparam("provider_id"), PaymentProvider.province_id == bindparam("province_id"),
    PaymentProvider.active)


def provider_choices(session: Session, province_id: int) -> list[tuple[int, str]]:
    """(id, name) of the active providers of a province, by name, as forms offer them."""
    key, now = (session.get_bind(), province_id), time.monotonic()
    cached = _provider_choices.get(key)
    if cached is None or now - cached[0] > PROVIDER_CHOICES_TTL_S:
        cached = now, [tuple(row) for row in session.execute(_ACTIVE_PROVIDERS, {"province_id": province_id})]
        _provider_choices[key] = cached
    return cached[1]


def forget_provider_choices() -> None:
    """Drop this process's lists (after a change to the providers, made here)."""
    _provider_choices.clear()


def provider_serving(session: Session, provider_id: int, province_id: int) -> int | None:
    """`provider_id` if that provider is active and serves the province, else None (read now)."""
    return session.execute(_PROVIDER_SERVING, {"provider_id": provider_id, "province_id": province_id}).scalar()
