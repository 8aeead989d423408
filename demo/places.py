"""Where synthetic cases live: communes with their villages, banks and the officers who act there."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random
from typing import Protocol

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cases.models import PaymentProvider, Province, ProviderKind, Village
from cases.organisation import ensure_provider
from cases.audit_chain import ActorRow
from demo.people import village_names
from demo.steps import Bank


class CommuneLike(Protocol):
    """What the generator needs of a commune: a `Commune` row or anything shaped like one."""
    id: int
    code: str
    name: str
    kind: str
    province_id: int


@dataclass(frozen=True)
class CommuneActors:
    officer: ActorRow
    supervisor: ActorRow


@dataclass(frozen=True)
class Place:
    commune_id: int
    commune_code: str
    province_id: int
    province_code: str
    village_ids: tuple[int, ...]
    banks: tuple[Bank, ...]
    actors: CommuneActors


# The banks every province's beneficiaries open accounts with, and the post office that pays cash.
PROVIDERS = (("AGRIBANK", "Agribank chi nhánh {province}", ProviderKind.BANK),
             ("VIETINBANK", "VietinBank chi nhánh {province}", ProviderKind.BANK),
             ("BIDV", "BIDV chi nhánh {province}", ProviderKind.BANK),
             ("BUUDIEN", "Bưu điện {province_full}", ProviderKind.POST_OFFICE))
PROVINCE_ABBREVIATIONS = {"20": "LS", "01": "HN", "79": "HCM", "51": "QNG", "92": "CT"}


def provider_short_name(prefix: str, province: Province) -> str:
    return f"{prefix}-{PROVINCE_ABBREVIATIONS.get(province.code, province.code)}"


def ensure_province_providers(session: Session, province: Province) -> list[PaymentProvider]:
    """The three banks and the post office of `province` (idempotent)."""
    short = province.name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    full = province.name[:1].lower() + province.name[1:]          # "tỉnh Lạng Sơn"
    return [ensure_provider(session, province, provider_short_name(prefix, province),
                            name.format(province=short, province_full=full), kind)
            for prefix, name, kind in PROVIDERS]


def ensure_village_sets(session: Session, communes: Sequence[CommuneLike], province_codes: dict[int, str],
                        seed: int) -> int:
    """Give 3–6 villages to each commune that has none, in one bulk insert. Returns how many."""
    have = set(session.scalars(select(Village.commune_id).where(
        Village.commune_id.in_([c.id for c in communes])).distinct()))
    rows = []
    for commune in communes:
        if commune.id in have:
            continue
        rng = Random(f"{seed}:villages:{commune.code}")
        rows += [{"commune_id": commune.id, "name": name}
                 for name in village_names(rng, province_codes[commune.province_id], commune.kind, rng.randint(3, 6))]
    if rows:
        session.execute(insert(Village), rows)
    return len(rows)


def province_codes(session: Session, province_ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(Province.id, Province.code).where(Province.id.in_(province_ids))).all())


def load_places(session: Session, communes: Sequence[CommuneLike], actors: dict[int, CommuneActors]) -> list[Place]:
    """Each commune with what a case there refers to.

    :raise ValueError: a commune's province has no active bank to open accounts with.
    """
    ids = [c.id for c in communes]
    codes = province_codes(session, {c.province_id for c in communes})
    villages: dict[int, list[int]] = defaultdict(list)
    for village_id, commune_id in session.execute(
            select(Village.id, Village.commune_id).where(Village.commune_id.in_(ids)).order_by(Village.id)):
        villages[commune_id].append(village_id)
    banks: dict[int, list[Bank]] = defaultdict(list)
    for provider_id, short_name, province_id in session.execute(
            select(PaymentProvider.id, PaymentProvider.short_name, PaymentProvider.province_id)
            .where(PaymentProvider.kind == ProviderKind.BANK, PaymentProvider.active).order_by(PaymentProvider.id)):
        banks[province_id].append(Bank(provider_id, short_name))
    missing = sorted({codes[c.province_id] for c in communes if not banks[c.province_id]})
    if missing:
        raise ValueError(f"no active bank in province(s) {', '.join(missing)}: add providers first")
    return [Place(c.id, c.code, c.province_id, codes[c.province_id], tuple(villages[c.id]),
                  tuple(banks[c.province_id]), actors[c.id]) for c in communes]
