"""Reference data read from `cases/data/`, loaded once per process.

The legal rules (reason codes, BTXH categories and coefficients, base amounts) come from
`vn_social_assistance_rules.json`: a new base amount is a change to that file, never to code.
Entries marked `unverified` there are not applied to anyone's money until someone checks the
legal text and changes their confidence.
"""
from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from cases.models.case import PolicyGroup

DATA = Path(__file__).parent / "data"
log = logging.getLogger(__name__)

APPLIED_CONFIDENCE = {"verified", "secondary"}

# Vietnamese wording for the category conditions, which the rules file gives in English.
_CONDITION_VI = {
    "under 4 years": "dưới 4 tuổi", "4 years and older": "từ đủ 4 tuổi",
    "under 4": "dưới 4 tuổi", "4 to under 16": "từ đủ 4 đến dưới 16 tuổi",
    "per child being raised": "mỗi con đang nuôi",
    "60 to 80": "từ đủ 60 đến dưới 80 tuổi", "80 and over": "từ đủ 80 tuổi",
    "dac biet nang (especially severe), adult": "khuyết tật đặc biệt nặng, người lớn",
    "dac biet nang, child or elderly": "khuyết tật đặc biệt nặng, trẻ em hoặc người cao tuổi",
    "nang (severe), adult": "khuyết tật nặng, người lớn",
    "nang, child or elderly": "khuyết tật nặng, trẻ em hoặc người cao tuổi",
}
_POINT_VI = {
    "a": "hộ nghèo, không có người phụng dưỡng",
    "b": "75–80 tuổi, hộ nghèo/cận nghèo, vùng DTTS & miền núi đặc biệt khó khăn",
    "c": "từ đủ 80 tuổi, không có lương hưu hoặc trợ cấp BHXH hàng tháng",
    "d": "hộ nghèo, không có người phụng dưỡng, đủ điều kiện vào cơ sở nhưng sống tại cộng đồng",
}

# Vietnamese text for the NCC codes that the rules file explains in English only.
_REASON_VI = {
    "PL02.D55 + ND131.D118.2": "Nghi ngờ giả mạo, khai man giấy tờ: tạm dừng trong 05 ngày làm việc để xác minh",
    "PL02.D54.K3": "Hoạt động chống lại Nhà nước, đào ngũ, phản bội, chiêu hồi",
    "PL02.D54.K4": "Bị kết án về tội xâm phạm an ninh quốc gia, tù chung thân hoặc tử hình",
    "PL02.D54.K5": "Người hoạt động cách mạng trước năm 1945 bị khai trừ khỏi Đảng",
    "PL02.D55.K1-2": "Giả mạo hoặc khai man giấy tờ: thu hồi công nhận, chấm dứt chế độ",
    "ND131.D122": "Người có công từ trần",
}


@dataclass(frozen=True)
class Category:
    code: str
    group: PolicyGroup
    label: str
    coefficient: float | None  # None for NCC: the amount is entered


@dataclass(frozen=True)
class ReasonCode:
    code: str
    label: str


@dataclass(frozen=True)
class BaseAmount:
    starts: date
    amount: int
    confidence: str


@cache
def rules() -> dict:
    return json.loads((DATA / "vn_social_assistance_rules.json").read_text(encoding="utf-8"))


@cache
def categories() -> dict[str, Category]:
    """BTXH categories with their coefficients (Decree 20/2021 Art. 5–6), then NCC groups."""
    found: list[Category] = []
    for cat in rules()["btxh_categories_dieu_5_with_coefficients_dieu_6"]["categories"]:
        subcases = cat.get("subcases") or [{"point": "", "coefficients": cat["coefficients"]}]
        for sub in subcases:
            coefficients = sub["coefficients"]
            for i, coef in enumerate(coefficients):
                code = f"D5.K{cat['k']}{sub['point']}" + (f".{i + 1}" if len(coefficients) > 1 else "")
                label = f"Khoản {cat['k']}{sub['point']}: {cat['vi'].split(' (')[0]}"
                details = [d for d in (_POINT_VI.get(sub["point"]), _CONDITION_VI.get(coef.get("condition", ""))) if d]
                if details:
                    label += " — " + ", ".join(details)
                found.append(Category(code, PolicyGroup.BTXH, f"{label} (hệ số {coef['he_so']:g})", coef["he_so"]))
    with open(DATA / "ncc_groups.csv", encoding="utf-8") as f:
        found += [Category(r["code"], PolicyGroup.NCC, r["name"], None) for r in csv.DictReader(f)]
    return {c.code: c for c in found}


def categories_of(group: PolicyGroup) -> list[Category]:
    return [c for c in categories().values() if c.group is group]


def _reasons(entries: list[dict]) -> list[ReasonCode]:
    return [ReasonCode(e["code"], f"{e['code']} — {e.get('vi') or _REASON_VI.get(e['code']) or e['en']}") for e in entries]


@cache
def suspension_reasons() -> dict[PolicyGroup, list[ReasonCode]]:
    r = rules()
    return {
        PolicyGroup.BTXH: _reasons(r["btxh_monthly_allowance_status_rules"]["tam_dung"]["reasons"]),
        PolicyGroup.NCC: _reasons(r["ncc_preferential_allowance_status_rules"]["tam_dinh_chi"]),
    }


@cache
def termination_reasons() -> dict[PolicyGroup, list[ReasonCode]]:
    r = rules()
    return {
        PolicyGroup.BTXH: _reasons(r["btxh_monthly_allowance_status_rules"]["thoi_huong_tro_cap_xa_hoi_hang_thang"]["reasons"]),
        PolicyGroup.NCC: _reasons(r["ncc_preferential_allowance_status_rules"]["cham_dut"]),
    }


@cache
def btxh_base_amounts() -> list[BaseAmount]:
    """Applied base amounts, oldest first. Unverified entries are logged and left out."""
    amounts = []
    for entry in rules()["btxh_base_amount_muc_chuan_tro_giup_xa_hoi"]:
        if entry["confidence"] not in APPLIED_CONFIDENCE:
            log.warning("base amount %s from %s is %s in the rules file; not applied",
                        entry["vnd_per_month"], entry["from"], entry["confidence"])
            continue
        amounts.append(BaseAmount(date.fromisoformat(entry["from"]), int(entry["vnd_per_month"]), entry["confidence"]))
    return sorted(amounts, key=lambda a: a.starts)


def btxh_base_amount(on: date) -> int:
    """The BTXH base amount (mức chuẩn trợ giúp xã hội) in force on `on`.

    :raise ValueError: `on` is before the first base amount the rules file knows.
    """
    applicable = [a for a in btxh_base_amounts() if a.starts <= on]
    if not applicable:
        raise ValueError(f"no BTXH base amount in force on {on}")
    return applicable[-1].amount


def btxh_monthly_amount(category_code: str, on: date) -> int:
    """Base amount × the category's coefficient, in whole đồng."""
    category = categories()[category_code]
    if category.coefficient is None:
        raise ValueError(f"{category_code} is not a BTXH category")
    return round(btxh_base_amount(on) * category.coefficient)


def monthly_amount_maximum() -> int:
    """The highest monthly amount accepted for one person, in whole đồng: a sanity bound against
    mistyped or inflated entries, set in the rules file (not a legal ceiling; see its note there)."""
    return int(rules()["monthly_amount_maximum"]["vnd_per_month"])


@cache
def id_province_prefixes() -> dict[str, str]:
    """The first three digits a CCCD may start with → the pre-2025 province they name."""
    with open(DATA / "province_codes_before_2025.csv", encoding="utf-8") as f:
        return {r["id_prefix"]: r["province_name"] for r in csv.DictReader(f)}
