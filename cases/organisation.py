"""Loading the administrative units, and the villages and providers of a province."""
from __future__ import annotations

import csv

from sqlalchemy import insert, select
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
        provider = PaymentProvider(province=province, short_name=short_name, name=name, kind=kind)
        session.add(provider)
        session.flush()
    return provider
