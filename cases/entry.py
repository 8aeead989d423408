"""Entry checks that read the database or the rules data: one live case per ID number, and the
monthly amount. Registration, edits, transitions and approvals all run these same checks."""
from __future__ import annotations

from datetime import date

from babel.numbers import format_decimal
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import reference
from cases.access import may_see_commune
from cases.changes import day_text
from cases.errors import DomainError
from cases.models import Case, Commune, PolicyGroup, User
from workflow.states import CaseState

# The unique index refused a number between the check and the write: we know nothing of the
# other case here, and say nothing of it.
DUPLICATE_ID = _l("Số CCCD này vừa được ghi cho một hồ sơ khác; hãy kiểm tra lại số CCCD.")
DUPLICATE_ELSEWHERE = _l("Số CCCD này đã được đăng ký ở một xã/phường khác. Vui lòng liên hệ Sở để được hỗ trợ.")
# How the message names the state of a case the reader may see ("đang hưởng trợ cấp" otherwise).
_STATE_WORDING = {
    CaseState.IDENTITY_VERIFICATION: _l("đang chờ xác thực danh tính"),
    CaseState.SUSPENDED: _l("đang tạm dừng trợ cấp"),
}


class DuplicateNationalId(DomainError):
    """Another live case carries the number. By default the message names nothing of it; `told_to`
    words it for a reader who may see that case (its number, commune and state)."""

    def __init__(self, national_id: str, other_id: int, other_status: CaseState, other_commune: Commune):
        super().__init__(str(DUPLICATE_ELSEWHERE), "national_id")
        self.national_id, self.other_id, self.other_status, self.other_commune = (
            national_id, other_id, other_status, other_commune)
        self.visible_case_id: int | None = None   # set when the reader may open the other case

    def told_to(self, reader: User | None) -> DuplicateNationalId:
        if reader is not None and may_see_commune(reader, self.other_commune):
            wording = _STATE_WORDING.get(self.other_status) or _("đang hưởng trợ cấp")
            self.message = _("Số CCCD %(number)s đã có trong hồ sơ số %(case)s (%(commune)s) %(state)s.",
                             number=self.national_id, case=self.other_id, commune=self.other_commune.name,
                             state=wording)
            self.args, self.visible_case_id = (self.message,), self.other_id
        return self


def ensure_unique_national_id(session: Session, national_id: str, case_id: int | None,
                              reader: User | None = None) -> None:
    """:raise DuplicateNationalId: another live (not terminated) case carries this ID number;
    the message names that case only if `reader` may see it."""
    other = session.execute(
        select(Case.id, Case.status, Case.commune_id)
        .where(Case.national_id == national_id, Case.status != CaseState.TERMINATED, Case.id != (case_id or 0))
    ).first()
    if other is not None:
        commune = session.get(Commune, other.commune_id)
        raise DuplicateNationalId(national_id, other.id, other.status, commune).told_to(reader)


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day` (a birthday counts from that day)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def check_category_age(category_code: str | None, birth_date: date | None, today: date) -> None:
    """A category with an age condition (Decree 20/2021 Art. 5–6, `reference.Category.ages`) takes
    only a person whose age today meets it.

    :raise DomainError: (on `category_code`) the person's age does not meet the category's rule,
        quoted in the message.
    """
    category = reference.categories().get(category_code or "")
    if category is None or birth_date is None or birth_date > today:
        return     # an unknown category or an impossible birth date is refused by its own check
    age = age_on(birth_date, today)
    if not category.fits_age(age):
        raise DomainError(_("Diện «%(category)s» chỉ dành cho người %(rule)s; người sinh ngày %(born)s "
                            "hiện %(age)s tuổi. Hãy kiểm tra lại ngày sinh hoặc chọn diện khác.",
                            category=category.label_in(getattr(get_locale(), "language", "vi")), rule=str(category.age_rule), born=day_text(birth_date), age=age),
                          "category_code")


def monthly_amount(values: dict, today: date) -> int:
    """BTXH: base amount in force × the category's coefficient; NCC: as entered, up to the
    maximum in the rules data.

    :raise DomainError: the category is not of the policy group, or an NCC amount is missing,
        not positive, or above the maximum.
    """
    category = reference.categories().get(values.get("category_code") or "")
    group = values["policy_group"]
    if category is None or category.group is not group:
        raise DomainError(_("Diện đối tượng không đúng với nhóm chính sách."), "category_code")
    if group is PolicyGroup.NCC:
        amount = values.get("monthly_amount")
        if not amount or amount <= 0:
            raise DomainError(_("Người có công: cần nhập mức trợ cấp hàng tháng."), "monthly_amount")
        maximum = reference.monthly_amount_maximum()
        if amount > maximum:
            shown = format_decimal(maximum, locale=get_locale() or "vi")
            raise DomainError(_("Mức trợ cấp hàng tháng không được vượt quá %(amount)s đ; hãy kiểm tra lại "
                                "số đã nhập.", amount=shown), "monthly_amount")
        return int(amount)
    start = values.get("benefit_start_month")
    return reference.btxh_monthly_amount(category.code, max(today, start) if start else today)
