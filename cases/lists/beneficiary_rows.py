"""One row of a commune's beneficiary list read into a case's fields, with every entry check of
the engine applied in memory (cases.checks, cases.entry) and each failure said in Vietnamese.

The checks are the ones registration runs (`cases.registration._checked`); what only the database
can tell — an ID number already on a live case, a duplicate inside the file — is checked by
`cases.lists.beneficiaries` over the whole file at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from flask_babel import gettext as _

from cases import reference
from cases.checks import CheckFailed, check_birth_date, check_mobile, check_national_id
from cases.entry import check_category_age, monthly_amount
from cases.errors import DomainError
from cases.models import PolicyGroup, Sex
from cases.search import fold_name
from cases.sheets import SheetRow
from cases.sheets.values import BadValue, as_amount, as_date, as_flag, as_month, as_national_id, as_sex, as_text

# The column lengths of the case (cases.models.case): a longer value is refused, not cut.
LENGTHS = {"full_name": 120, "ethnicity": 40, "address_detail": 200, "benefit_decision_number": 60,
           "guardian_name": 120, "guardian_relation": 60}
_VILLAGE_WORDS = re.compile(r"^(thon|ban|khoi|to dan pho|to|xom|ap|khu pho|khu|lang|buon|soc|phum)\s+")
_GROUP_WORDS = {"btxh": PolicyGroup.BTXH, "bao tro xa hoi": PolicyGroup.BTXH, "tro cap xa hoi": PolicyGroup.BTXH,
                "ncc": PolicyGroup.NCC, "nguoi co cong": PolicyGroup.NCC, "co cong": PolicyGroup.NCC}
# "Đối tượng đặc thù" as lists word it → the case's flags (BRIEF: why an account may be out of reach).
_SPECIAL_WORDS = (("special_very_old", ("gia yeu", "cao tuoi", "tuoi cao", "gia")),
                  ("special_gravely_ill", ("om nang", "benh nang", "om dau", "benh")),
                  ("special_cannot_travel", ("khong di lai", "liet", "nam mot cho", "khuyet tat")),
                  ("special_nobody_to_authorise", ("khong co nguoi", "khong nguoi uy quyen", "khong co ai")))
# "Tình trạng tài khoản" as lists word it.
_HAS_ACCOUNT, _NO_ACCOUNT, _SPECIAL = "has_account", "no_account", "special"
_PAYMENT_WORDS = ((_NO_ACCOUNT, ("chua co", "khong co", "chua")), (_HAS_ACCOUNT, ("da co", "co tai khoan", "co tk", "co")),
                  (_SPECIAL, ("dac thu",)))


@dataclass
class ReadRow:
    """A data row as the case it would make: `values` (the person fields, checked) or `reasons`."""
    source: SheetRow
    values: dict = field(default_factory=dict)
    given: frozenset = frozenset()     # the fields the row itself gives (an update compares these only)
    reasons: list[str] = field(default_factory=list)
    year_only: bool = False            # the list gives a birth year only (1 January is recorded)
    declared: str | None = None        # has_account / no_account / special, as the list classifies

    @property
    def name(self) -> str | None:
        return self.values.get("full_name")


@dataclass(frozen=True)
class Place:
    """The commune a list is for, with what its rows are matched against."""
    commune_id: int
    province_id: int
    villages: dict[str, int]           # folded name (without "thôn", "bản"...) → village id
    providers: dict[str, str]          # folded name or short name → the provider's name

    def provider(self, written: str) -> str | None:
        """The provider a list names, by its name or short name, or the one whose name begins so
        ("Agribank" for "Agribank chi nhánh Lạng Sơn"); None when none or several do."""
        folded = fold_name(written)
        if folded in self.providers:
            return self.providers[folded]
        found = {name for key, name in self.providers.items() if key.startswith((folded + " ", folded + "-"))}
        return found.pop() if len(found) == 1 else None


def village_key(name: str) -> str:
    return _VILLAGE_WORDS.sub("", fold_name(name))


def read_row(row: SheetRow, place: Place, today: date) -> ReadRow:
    """Every field of `row` read and checked; the first failure of each field is a reason."""
    out = ReadRow(row)
    raw = row.values
    values: dict = {"commune_id": place.commune_id, "province_id": place.province_id}
    reasons = out.reasons

    def take(name: str, parse, *args):
        cell = raw.get(name)
        if cell is None or cell == "":
            return None
        try:
            return parse(cell, *args)
        except BadValue as bad:
            reasons.append(str(bad))
            return None

    def text(name: str) -> str | None:
        value = take(name, as_text)
        if value is not None:
            value = " ".join(value.split())
            if name in LENGTHS and len(value) > LENGTHS[name]:
                reasons.append(_("«%(value)s…» dài quá %(n)s ký tự.", value=value[:20], n=LENGTHS[name]))
                return None
        return value or None

    name = text("full_name")
    if name is None and not raw.get("full_name"):
        reasons.append(_("Thiếu họ và tên."))
    elif name is not None:
        values["full_name"] = name.title() if name.isupper() else name

    born = take("birth_date", as_date)
    if born is None:
        if not raw.get("birth_date"):
            reasons.append(_("Thiếu ngày sinh."))
    else:
        born, out.year_only = born
        try:
            values["birth_date"] = check_birth_date(born, today)
        except CheckFailed as failed:
            reasons.append(str(failed))

    number = take("national_id", as_national_id)
    sex = take("sex", as_sex)
    if sex is None and not raw.get("sex") and number and len(number) == 12 and number.isdigit():
        sex = Sex.FEMALE if int(number[3]) % 2 else Sex.MALE     # digit 4 says it (cases.checks)
    if sex is None and not raw.get("sex"):
        reasons.append(_("Thiếu giới tính."))
    values["sex"] = sex
    if number:
        try:
            values["national_id"] = check_national_id(number, values.get("birth_date"), sex)
        except CheckFailed as failed:
            reasons.append(_("Số CCCD %(number)s: %(problem)s", number=number, problem=failed))

    for phone_field in ("phone", "guardian_phone"):
        phone = text(phone_field)
        if phone:
            try:
                values[phone_field] = check_mobile(phone)
            except CheckFailed as failed:
                reasons.append(str(failed))
    guardian_number = take("guardian_national_id", as_national_id)
    if guardian_number:
        try:
            values["guardian_national_id"] = check_national_id(guardian_number, None, None)
        except CheckFailed as failed:
            reasons.append(_("CCCD người giám hộ: %(problem)s", problem=failed))
    for name_field in ("ethnicity", "address_detail", "benefit_decision_number", "guardian_name", "guardian_relation"):
        value = text(name_field)
        if value is not None:
            values[name_field] = value

    village = text("village")
    if village:
        village_id = place.villages.get(village_key(village))
        if village_id is not None:
            values["village_id"] = village_id
        else:   # kept, not lost: the officer adds the village to the commune's list and moves it
            values["address_detail"] = ", ".join(v for v in (village, values.get("address_detail")) if v)[:200]

    amount_given = _read_benefit(out, values, take, text, today)
    notes = _special_and_payment(out, values, text, place)
    own_notes = text("notes")
    if own_notes or notes:
        values["notes"] = "\n".join(n for n in (own_notes, *notes) if n)
    out.values = values
    # A BTXH amount is the rule's (base amount × coefficient), not the list's: compared only where
    # the list gives an NCC amount, so a re-import after a new base amount changes nothing by itself.
    out.given = frozenset(k for k, v in values.items() if v is not None and (k != "monthly_amount" or amount_given))
    return out


def _read_benefit(out: ReadRow, values: dict, take, text, today: date) -> bool:
    """The category, group and amount; whether the list gives an NCC amount of its own."""
    reasons = out.reasons
    written = text("category_code")
    category = None
    if written is None:
        if not out.source.values.get("category_code"):
            reasons.append(_("Thiếu diện đối tượng."))
    else:
        category = resolve_category(written, values.get("birth_date"), today)
        if category is None:
            reasons.append(_("Không nhận ra diện đối tượng «%(value)s»; hãy ghi mã diện (ví dụ D5.K5c) hoặc tên "
                             "diện như trong mẫu.", value=written[:60]))
    group_text = text("policy_group")
    group = _GROUP_WORDS.get(fold_name(group_text)) if group_text else None
    if group_text and group is None:
        reasons.append(_("Không nhận ra nhóm chính sách «%(value)s» (BTXH hoặc NCC).", value=group_text[:40]))
    if category is None:
        return False
    if group is not None and group is not category.group:
        reasons.append(_("Diện đối tượng không đúng với nhóm chính sách."))
        return False
    values["policy_group"], values["category_code"] = category.group, category.code
    amount = take("monthly_amount", as_amount)
    start = take("benefit_start_month", as_month)
    if start is not None:
        values["benefit_start_month"] = start
    if "birth_date" not in values:
        return False
    try:
        check_category_age(category.code, values["birth_date"], today)
        values["monthly_amount"] = monthly_amount(values | {"monthly_amount": amount}, today)
    except DomainError as refused:
        reasons.append(refused.message)
    return amount is not None and category.group is PolicyGroup.NCC


def _special_and_payment(out: ReadRow, values: dict, text, place: Place) -> list[str]:
    """The special-case flags the list names, and its payment facts kept as a note: the account
    itself is recorded when the officer registers the payment method with the person (the
    transition `choose_account`), not from a list."""
    notes = []
    special = text("special")
    if special:
        folded = fold_name(special)
        flagged = [flag for flag, words in _SPECIAL_WORDS if any(w in folded for w in words)]
        for flag in flagged:
            values[flag] = True
        if not flagged:
            try:
                if not as_flag(special):
                    special = None
            except BadValue:
                pass
        if special:
            notes.append(_("Danh sách của xã ghi đối tượng đặc thù: %(what)s", what=special))
            out.declared = _SPECIAL
    status = text("payment_status")
    if status:
        folded = fold_name(status)
        out.declared = next((kind for kind, words in _PAYMENT_WORDS if any(folded.startswith(w) for w in words)),
                            out.declared)
    provider, account = text("provider"), text("account_number")
    if provider or account:
        out.declared = out.declared or _HAS_ACCOUNT
        known = place.provider(provider) if provider else None
        notes.append(_("Danh sách của xã ghi tài khoản: %(provider)s, số %(account)s",
                       provider=known or provider or "—", account=account or "—"))
    elif out.declared == _HAS_ACCOUNT:
        notes.append(_("Danh sách của xã ghi: đã có tài khoản."))
    elif out.declared == _NO_ACCOUNT:
        notes.append(_("Danh sách của xã ghi: chưa có tài khoản."))
    return notes


_CODE = re.compile(r"^(?:d(?:ieu)?\s*5\W*)?k(?:hoan)?\s*(\d)\s*(?:diem\s*)?([a-d])?(?:\W*(\d))?$")


def resolve_category(written: str, born: date | None, today: date) -> reference.Category | None:
    """The category a list names: its code (`D5.K5c`, `PL02.D3.g`), a short code (`5c`, `K5c`,
    `khoản 5 điểm c`) or its name; where the rules split a category by age (clause 1, 3, 5a, 6),
    the person's age picks the part."""
    categories = reference.categories()
    exact = {code.lower(): c for code, c in categories.items()}.get(written.strip().lower())
    if exact is not None:
        return _by_age(exact, born, today)
    folded = fold_name(written).replace(".", " ").strip()
    match = _CODE.match(folded.replace(" ", "") if len(folded) <= 6 else folded) or _CODE.match(f"k{folded}")
    if match:
        clause, point, part = match.groups()
        code = f"D5.K{clause}{point or ''}" + (f".{part}" if part else "")
        found = categories.get(code) or next((c for k, c in categories.items() if k.startswith(code + ".")), None)
        return _by_age(found, born, today) if found else None
    names = _names()
    by_name = names.get(folded)
    if by_name is None and len(folded) >= 6:   # "Thương binh" for "Thương binh, người hưởng chính sách như thương binh"
        begun = {c.code: c for name, c in names.items() if name.startswith(folded)}
        by_name = next(iter(begun.values())) if len(begun) == 1 else None
    return _by_age(by_name, born, today) if by_name else None


@cache
def _names() -> dict[str, reference.Category]:
    """Folded category names (without "Khoản 5c:" and the coefficient) → the first category so named."""
    found: dict[str, reference.Category] = {}
    for category in reference.categories().values():
        label = category.label.split(": ", 1)[-1].split(" (hệ số")[0]
        for text in (label, label.split(" — ")[0], label.split(", ")[0]):
            found.setdefault(fold_name(text).replace(".", " ").strip(), category)
    return found


def _by_age(category: reference.Category, born: date | None, today: date) -> reference.Category:
    """The part of `category`'s clause that fits the person's age, when the clause is split by age."""
    if born is None or category.fits_age(_age(born, today)):
        return category
    clause = category.code.rsplit(".", 1)[0] if category.code.count(".") == 2 else category.code
    siblings = [c for code, c in reference.categories().items() if code.startswith(clause + ".") and c.ages]
    fitting = [c for c in siblings if c.fits_age(_age(born, today))
               and _severity(c) == _severity(category)]
    return fitting[0] if len(fitting) == 1 else category


def _severity(category: reference.Category) -> str:
    return "dac biet" if "đặc biệt nặng" in category.label.split(" — ")[-1] else ""


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
