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


_MISSING = object()


def phrases() -> dict[str, str]:
    """The fixed messages and notes, in the current locale, unformatted."""
    return {
        "missing_name": _("Thiếu họ và tên."), "missing_birth": _("Thiếu ngày sinh."),
        "missing_sex": _("Thiếu giới tính."), "missing_category": _("Thiếu diện đối tượng."),
        "id_problem": _("Số CCCD %(number)s: %(problem)s"),
        "special_note": _("Danh sách của xã ghi đối tượng đặc thù: %(what)s"),
        "account_note": _("Danh sách của xã ghi tài khoản: %(provider)s, số %(account)s"),
        "has_account": _("Danh sách của xã ghi: đã có tài khoản."),
        "no_account": _("Danh sách của xã ghi: chưa có tài khoản."),
    }


@dataclass(frozen=True)
class Place:
    """The commune a list is for, with what its rows are matched against."""
    commune_id: int
    province_id: int
    villages: dict[str, int]           # folded name (without "thôn", "bản"...) → village id
    providers: dict[str, str]          # folded name or short name → the provider's name
    # The messages and notes every row may need, translated once for the whole list (a lookup of
    # the catalogue costs tens of microseconds: a third of the time of a 100,000-row list).
    phrases: dict[str, str] = field(default_factory=lambda: phrases())
    # What a cell's text means (a village, a category at an age, an amount...) is worked out once
    # per distinct text: a list of 100,000 rows names a few dozen of each.
    known: dict = field(default_factory=dict)

    def memo(self, key: tuple, compute):
        found = self.known.get(key, _MISSING)
        if found is _MISSING:
            found = self.known[key] = compute()
        return found

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
        # Sixteen fields a row, most of them absent from a list: `take`'s work in line.
        cell = raw.get(name)
        if cell is None:
            return None
        value = " ".join((cell if cell.__class__ is str else as_text(cell) or "").split())
        if not value:
            return None
        if name in LENGTHS and len(value) > LENGTHS[name]:
            reasons.append(_("«%(value)s…» dài quá %(n)s ký tự.", value=value[:20], n=LENGTHS[name]))
            return None
        return value

    said = place.phrases
    name = text("full_name")
    if name is None and not raw.get("full_name"):
        reasons.append(said["missing_name"])
    elif name is not None:
        values["full_name"] = name.title() if name.isupper() else name

    born = take("birth_date", as_date)
    if born is None:
        if not raw.get("birth_date"):
            reasons.append(said["missing_birth"])
    else:
        born, out.year_only = born
        try:
            values["birth_date"] = check_birth_date(born, today)
        except CheckFailed as failed:
            reasons.append(str(failed))

    number = take("national_id", as_national_id)
    sex = take("sex", lambda cell: place.memo(("sex", cell.__class__, cell), lambda: _parsed(as_sex, cell)))
    if isinstance(sex, BadValue):
        reasons.append(sex.message)
        sex = None
    if sex is None and not raw.get("sex") and number and len(number) == 12 and number.isdigit():
        sex = Sex.FEMALE if int(number[3]) % 2 else Sex.MALE     # digit 4 says it (cases.checks)
    if sex is None and not raw.get("sex"):
        reasons.append(said["missing_sex"])
    values["sex"] = sex
    if number:
        try:
            values["national_id"] = check_national_id(number, values.get("birth_date"), sex)
        except CheckFailed as failed:
            reasons.append(said["id_problem"] % {"number": number, "problem": failed})

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
        village_id = place.memo(("village", village), lambda: place.villages.get(village_key(village)))
        if village_id is not None:
            values["village_id"] = village_id
        else:   # kept, not lost: the officer adds the village to the commune's list and moves it
            values["address_detail"] = ", ".join(v for v in (village, values.get("address_detail")) if v)[:200]

    amount_given = _read_benefit(out, values, take, text, today, place)
    notes = _special_and_payment(out, values, text, place)
    own_notes = text("notes")
    if own_notes or notes:
        values["notes"] = "\n".join(n for n in (own_notes, *notes) if n)
    out.values = values
    # A BTXH amount is the rule's (base amount × coefficient), not the list's: compared only where
    # the list gives an NCC amount, so a re-import after a new base amount changes nothing by itself.
    out.given = frozenset(k for k, v in values.items() if v is not None and (k != "monthly_amount" or amount_given))
    return out


def _read_benefit(out: ReadRow, values: dict, take, text, today: date, place: Place) -> bool:
    """The category, group and amount; whether the list gives an NCC amount of its own."""
    reasons = out.reasons
    written = text("category_code")
    category = None
    born = values.get("birth_date")
    age = _age(born, today) if born else None
    if written is None:
        if not out.source.values.get("category_code"):
            reasons.append(place.phrases["missing_category"])
    else:
        category = place.memo(("category", written, age), lambda: resolve_category(written, born, today))
        if category is None:
            reasons.append(_("Không nhận ra diện đối tượng «%(value)s»; hãy ghi mã diện (ví dụ D5.K5c) hoặc tên "
                             "diện như trong mẫu.", value=written[:60]))
    group_text = text("policy_group")
    group = place.memo(("group", group_text), lambda: _GROUP_WORDS.get(fold_name(group_text))) if group_text else None
    if group_text and group is None:
        reasons.append(_("Không nhận ra nhóm chính sách «%(value)s» (BTXH hoặc NCC).", value=group_text[:40]))
    if category is None:
        return False
    if group is not None and group is not category.group:
        reasons.append(_("Diện đối tượng không đúng với nhóm chính sách."))
        return False
    values["policy_group"], values["category_code"] = category.group, category.code
    # A list writes a few amounts over and over ("540.000"): each read once, by its cell's type too
    # (True and 1 are equal keys, not equal amounts).
    amount = take("monthly_amount", lambda cell: place.memo(("amount", cell.__class__, cell),
                                                            lambda: _parsed(as_amount, cell)))
    if isinstance(amount, BadValue):
        reasons.append(amount.message)
        amount = None
    start = take("benefit_start_month", as_month)
    if start is not None:
        values["benefit_start_month"] = start
    if "birth_date" not in values:
        return False
    # The engine's own checks (cases.entry), each asked once per category, age, start and amount.
    refused = place.memo(("benefit", category.code, age, start, amount),
                         lambda: _benefit_refusal(category.code, values["birth_date"], start, amount, values, today))
    if isinstance(refused, str):
        reasons.append(refused)
    else:
        values["monthly_amount"] = refused
    return amount is not None and category.group is PolicyGroup.NCC


def _benefit_refusal(code: str, born: date, start: date | None, amount: int | None, values: dict,
                     today: date) -> int | str:
    """The monthly amount, or why the category refuses the person (the message)."""
    try:
        check_category_age(code, born, today)
        return monthly_amount({"policy_group": values["policy_group"], "category_code": code,
                               "benefit_start_month": start, "monthly_amount": amount}, today)
    except DomainError as refused:
        return refused.message


def _parsed(parse, cell):
    """parse(cell), or the BadValue it raised (kept as the answer for that cell)."""
    try:
        return parse(cell)
    except BadValue as bad:
        return bad


def _special_and_payment(out: ReadRow, values: dict, text, place: Place) -> list[str]:
    """The special-case flags the list names, and its payment facts kept as a note: the account
    itself is recorded when the officer registers the payment method with the person (the
    transition `choose_account`), not from a list."""
    notes = []
    said = place.phrases
    special = text("special")
    if special:
        flagged, noted = place.memo(("special", special), lambda: _special(special))
        for flag in flagged:
            values[flag] = True
        if noted:
            notes.append(said["special_note"] % {"what": special})
            out.declared = _SPECIAL
    status = text("payment_status")
    if status:
        out.declared = place.memo(("payment", status), lambda: _declared(status)) or out.declared
    provider, account = text("provider"), text("account_number")
    if provider or account:
        out.declared = out.declared or _HAS_ACCOUNT
        known = place.memo(("provider", provider), lambda: place.provider(provider)) if provider else None
        notes.append(said["account_note"] % {"provider": known or provider or "—", "account": account or "—"})
    elif out.declared == _HAS_ACCOUNT:
        notes.append(said["has_account"])
    elif out.declared == _NO_ACCOUNT:
        notes.append(said["no_account"])
    return notes


def _special(written: str) -> tuple[tuple[str, ...], bool]:
    """(the flags the words name, whether the list's words are kept as a note): "già yếu" flags
    a very old person; a bare "x" says special without saying why (kept as a note, no flag)."""
    folded = fold_name(written)
    flagged = tuple(flag for flag, words in _SPECIAL_WORDS if any(w in folded for w in words))
    if flagged:
        return flagged, True
    try:
        return (), as_flag(written)
    except BadValue:
        return (), True


def _declared(written: str) -> str | None:
    folded = fold_name(written)
    return next((kind for kind, words in _PAYMENT_WORDS if any(folded.startswith(w) for w in words)), None)


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
