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

from flask_babel import lazy_gettext as _l

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


# The ages a category requires (Decree 20/2021 Art. 5–6), read from the rules file's wording: each
# category's age range(s) [from, to) in whole years, None for no bound. A coefficient's condition
# narrows its category; a category (or point of Art. 5 k5) without one carries its own. A person
# fits when their age is in any of the ranges. Kept here, next to the categories they belong to.
Ages = tuple[tuple[int | None, int | None], ...]
_CHILD, _ADULT, _ELDERLY = (None, 16), (16, 60), (60, None)
_AGES_OF_CONDITION: dict[str, Ages] = {
    "under 4 years": ((None, 4),), "4 years and older": ((4, 16),),
    "under 4": ((None, 4),), "4 to under 16": ((4, 16),),
    "60 to 80": ((60, 80),), "80 and over": ((80, None),),
    "dac biet nang (especially severe), adult": (_ADULT,), "dac biet nang, child or elderly": (_CHILD, _ELDERLY),
    "nang (severe), adult": (_ADULT,), "nang, child or elderly": (_CHILD, _ELDERLY),
}
# Khoản (and point) → the ages of the whole category, when no condition narrows it.
_AGES_OF_CATEGORY: dict[str, Ages] = {
    "1": (_CHILD,), "2": ((16, 23),), "3": (_CHILD,), "5a": (_ELDERLY,), "5b": ((75, 80),), "5c": ((80, None),),
    "5d": (_ELDERLY,), "7": ((None, 3),),
}
# How a refusal words each rule (through the catalogue when shown).
_AGE_RULE_VI = {
    "1": _l("dưới 16 tuổi"), "2": _l("từ đủ 16 đến 22 tuổi"), "3": _l("dưới 16 tuổi"), "5a": _l("từ đủ 60 tuổi"),
    "5b": _l("từ đủ 75 đến dưới 80 tuổi"), "5c": _l("từ đủ 80 tuổi"), "5d": _l("từ đủ 60 tuổi"), "7": _l("dưới 3 tuổi"),
    "under 4 years": _l("dưới 4 tuổi"), "4 years and older": _l("từ đủ 4 đến dưới 16 tuổi"),
    "under 4": _l("dưới 4 tuổi"), "4 to under 16": _l("từ đủ 4 đến dưới 16 tuổi"),
    "60 to 80": _l("từ đủ 60 đến dưới 80 tuổi"), "80 and over": _l("từ đủ 80 tuổi"),
    "adult": _l("từ đủ 16 đến dưới 60 tuổi"), "child or elderly": _l("dưới 16 tuổi hoặc từ đủ 60 tuổi"),
}


@dataclass(frozen=True)
class Category:
    code: str
    group: PolicyGroup
    label: str
    coefficient: float | None  # None for NCC: the amount is entered
    ages: Ages = ()            # empty: no age condition
    age_rule: object = ""      # the condition as the rule says it (a lazy string: str() it to show)
    label_en: str = ""         # the rules file's English wording (NCC groups have none: Vietnamese)

    def label_in(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label

    def fits_age(self, age: int) -> bool:
        return not self.ages or any((low is None or age >= low) and (high is None or age < high)
                                    for low, high in self.ages)


def _age_condition(k: int, point: str, condition: str) -> tuple[Ages, object]:
    if condition in _AGES_OF_CONDITION:   # the disability conditions are worded by whom they cover
        worded = next((w for w in ("adult", "child or elderly") if condition.endswith(w)), condition)
        return _AGES_OF_CONDITION[condition], _AGE_RULE_VI[worded]
    key = f"{k}{point}"
    return _AGES_OF_CATEGORY.get(key, ()), _AGE_RULE_VI.get(key, "")


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
                ages, rule = _age_condition(cat["k"], sub["point"], coef.get("condition", ""))
                english = ", ".join(d for d in (sub.get("en"), coef.get("condition")) if d)
                label_en = (f"Art. 5 cl. {cat['k']}{sub['point']}: {cat['en']}" + (f" — {english}" if english else "")
                            + f" (coefficient {coef['he_so']:g})")
                found.append(Category(code, PolicyGroup.BTXH, f"{label} (hệ số {coef['he_so']:g})", coef["he_so"],
                                      ages, rule, label_en))
    with open(DATA / "ncc_groups.csv", encoding="utf-8") as f:
        found += [Category(r["code"], PolicyGroup.NCC, r["name"], None) for r in csv.DictReader(f)]
    return {c.code: c for c in found}


def categories_of(group: PolicyGroup) -> list[Category]:
    return [c for c in categories().values() if c.group is group]


def _reasons(entries: list[dict]) -> list[ReasonCode]:
    return [ReasonCode(e["code"], f"{e['code']} — {e.get('vi') or _REASON_VI.get(e['code']) or e['en']}") for e in entries]


@cache
def reason_texts() -> dict[str, tuple[str, str]]:
    """Every legal reason code (suspension and termination, BTXH and NCC) → its (Vietnamese,
    English) text from the rules file."""
    r, texts = rules(), {}
    btxh, ncc = r["btxh_monthly_allowance_status_rules"], r["ncc_preferential_allowance_status_rules"]
    for entries in (btxh["tam_dung"]["reasons"], btxh["thoi_huong_tro_cap_xa_hoi_hang_thang"]["reasons"],
                    ncc["tam_dinh_chi"], ncc["cham_dut"]):
        for e in entries:
            texts[e["code"]] = (e.get("vi") or _REASON_VI.get(e["code"]) or e["en"], e.get("en") or e.get("vi") or "")
    return texts


def reason_label(code: str, language: str = "vi") -> str:
    """`TT02.D2.K3.c — <legal text>` in `language` ("vi" or "en"); the code alone if unknown."""
    texts = reason_texts().get(code)
    if texts is None:
        return code
    return f"{code} — {texts[1] if language == 'en' else texts[0]}"


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
