"""Entry checks that read the database or the rules data: one live case per ID number, and the
monthly amount. Registration, edits, transitions and approvals all run these same checks."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import reference
from cases.access import may_see_commune
from cases.errors import DomainError
from cases.models import Case, Commune, PolicyGroup, User
from workflow.states import CaseState

# The unique index refused a number between the check and the write: we know nothing of the
# other case here, and say nothing of it.
DUPLICATE_ID = "Số CCCD này vừa được ghi cho một hồ sơ khác; hãy kiểm tra lại số CCCD."
DUPLICATE_ELSEWHERE = ("Số CCCD này đã được đăng ký ở một xã/phường khác. "
                       "Vui lòng liên hệ Sở để được hỗ trợ.")
# How the message names the state of a case the reader may see ("đang hưởng trợ cấp" otherwise).
_STATE_WORDING = {
    CaseState.IDENTITY_VERIFICATION: "đang chờ xác thực danh tính",
    CaseState.SUSPENDED: "đang tạm dừng trợ cấp",
}


class DuplicateNationalId(DomainError):
    """Another live case carries the number. By default the message names nothing of it; `told_to`
    words it for a reader who may see that case (its number, commune and state)."""

    def __init__(self, national_id: str, other_id: int, other_status: CaseState, other_commune: Commune):
        super().__init__(DUPLICATE_ELSEWHERE, "national_id")
        self.national_id, self.other_id, self.other_status, self.other_commune = (
            national_id, other_id, other_status, other_commune)
        self.visible_case_id: int | None = None   # set when the reader may open the other case

    def told_to(self, reader: User | None) -> DuplicateNationalId:
        if reader is not None and may_see_commune(reader, self.other_commune):
            wording = _STATE_WORDING.get(self.other_status, "đang hưởng trợ cấp")
            self.message = (f"Số CCCD {self.national_id} đã có trong hồ sơ số {self.other_id} "
                            f"({self.other_commune.name}) {wording}.")
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


def monthly_amount(values: dict, today: date) -> int:
    """BTXH: base amount in force × the category's coefficient; NCC: as entered, up to the
    maximum in the rules data.

    :raise DomainError: the category is not of the policy group, or an NCC amount is missing,
        not positive, or above the maximum.
    """
    category = reference.categories().get(values.get("category_code") or "")
    group = values["policy_group"]
    if category is None or category.group is not group:
        raise DomainError("Diện đối tượng không đúng với nhóm chính sách.", "category_code")
    if group is PolicyGroup.NCC:
        amount = values.get("monthly_amount")
        if not amount or amount <= 0:
            raise DomainError("Người có công: cần nhập mức trợ cấp hàng tháng.", "monthly_amount")
        maximum = reference.monthly_amount_maximum()
        if amount > maximum:
            shown = f"{maximum:,}".replace(",", ".")
            raise DomainError(f"Mức trợ cấp hàng tháng không được vượt quá {shown} đ; hãy kiểm tra lại "
                              "số đã nhập.", "monthly_amount")
        return int(amount)
    start = values.get("benefit_start_month")
    return reference.btxh_monthly_amount(category.code, max(today, start) if start else today)
