"""The demo province: Lạng Sơn's 65 communes, its banks and post office, demo users and a few
thousand synthetic beneficiaries in every state. `flask demo load` calls `load_demo` and commits.
"""
from __future__ import annotations

from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.audit import Actor
from cases.changes import local_today
from cases.models import Case, Commune, Province, User
from cases.organisation import commune_by_code, ensure_villages, province_by_code
from cases.roles import Role
from cases.users import create_user
from demo.payments import sign_recent_lists
from demo.people import village_names
from demo.places import ensure_province_providers
from demo.synthetic import GenerationReport, generate

LANG_SON, BINH_GIA = "20", "06112"
DEMO_SEED = 2025
DEMO_ACTOR = Actor.system("demo")
# Bình Gia carries about four communes' worth of cases, so its officer opens a full queue.
BINH_GIA_WEIGHT = 4.0
# The demo logins receive the escalation digests (written to instance/mail without a mail server).
DEMO_MAIL_DOMAIN = "demo.ansinh.vn"

# (username, password, role, full name, scope: a commune code or None for the province, what for)
DEMO_USERS = (
    ("canbo.binhgia", "binhgia-canbo-2025", Role.OFFICER, "Hoàng Văn Pình", BINH_GIA,
     "cán bộ Văn hóa – Xã hội, Xã Bình Gia"),
    ("lanhdao.binhgia", "binhgia-lanhdao-2025", Role.SUPERVISOR, "Nông Thị Mảy", BINH_GIA,
     "lãnh đạo phê duyệt, Xã Bình Gia"),
    ("so.langson", "langson-so-2025", Role.SUPERVISOR, "Lương Đức Hùng", None,
     "Sở Y tế (bảo trợ xã hội) tỉnh Lạng Sơn: cả tỉnh, phê duyệt"),
    ("kiemtra.langson", "langson-kiemtra-2025", Role.AUDITOR, "Vi Thị Lan", None,
     "kiểm tra, thanh tra: cả tỉnh, chỉ xem, nhật ký"),
    ("quantri.langson", "langson-quantri-2025", Role.ADMIN, "Chu Văn Sơn", None,
     "quản trị hệ thống tỉnh Lạng Sơn"),
)


def load_demo(session: Session, case_count: int = 5000) -> list[tuple[str, str, str]]:
    """Set up Lạng Sơn for a demo; returns the demo logins as (username, password, description).

    Idempotent: villages, providers and users are added only if missing, cases only while the
    province has none, and last month's list of its busiest bank signed only while no bank's list
    of that month is. Flushes, never commits.
    """
    province = province_by_code(session, LANG_SON)
    communes = list(province.communes)
    _ensure_villages(session, communes)
    ensure_province_providers(session, province)
    _ensure_demo_users(session, province)
    from demo.targets import load_demo_targets   # here: demo.targets reads DEMO_ACTOR from this module
    load_demo_targets(session, province)
    if not _has_cases(session, province):
        demo_cases(session, communes, case_count)
    # Last month's signed list: this month's draft shows its differences, and its return can be imported.
    sign_recent_lists(session, province)
    return [(username, password, description) for username, password, _, _, _, description in DEMO_USERS]


def demo_cases(session: Session, communes: list[Commune], case_count: int) -> GenerationReport:
    """Synthetic cases over the province; the communes' own officers and supervisors act."""
    rng = Random(DEMO_SEED)
    weights = [BINH_GIA_WEIGHT if c.code == BINH_GIA else rng.uniform(0.5, 1.5) for c in communes]
    return generate(session, communes, case_count, seed=DEMO_SEED, today=local_today(), weights=weights,
                    system_name="demo")


def _ensure_villages(session: Session, communes: list[Commune]) -> None:
    for commune in communes:
        rng = Random(f"{DEMO_SEED}:villages:{commune.code}")
        ensure_villages(session, commune, village_names(rng, LANG_SON, commune.kind, rng.randint(3, 6)))


def _ensure_demo_users(session: Session, province: Province) -> None:
    taken = set(session.scalars(select(User.username).where(User.username.in_([u[0] for u in DEMO_USERS]))))
    for username, password, role, full_name, commune_code, _ in DEMO_USERS:
        if username in taken:
            continue
        scope = {"communes": [commune_by_code(session, commune_code)]} if commune_code else {"province": province}
        create_user(session, DEMO_ACTOR, username=username, full_name=full_name, password=password, role=role,
                    email=f"{username}@{DEMO_MAIL_DOMAIN}", **scope)


def _has_cases(session: Session, province: Province) -> bool:
    return session.scalar(select(Case.id).where(Case.province_id == province.id).limit(1)) is not None
