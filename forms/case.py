"""The beneficiary's data: the new-case form and the edit form."""
from __future__ import annotations

from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import Optional

from cases import reference
from cases.models import PolicyGroup, Sex
from forms.base import (REQUIRED, VersionedForm, amount_field, choice, date_field, long_text, month_field, optional_id,
                        options, text)

SEX_CHOICES = [(Sex.MALE.value, "Nam"), (Sex.FEMALE.value, "Nữ")]
GROUP_CHOICES = [(PolicyGroup.BTXH.value, "Bảo trợ xã hội (BTXH)"), (PolicyGroup.NCC.value, "Người có công (NCC)")]


class CaseForm(VersionedForm):
    full_name = text("Họ và tên", 120, required=True)
    birth_date = date_field("Ngày sinh")
    sex = RadioField("Giới tính", choices=options(SEX_CHOICES), coerce=Sex, validators=[REQUIRED])
    national_id = text("Số CCCD (12 số)", 12)
    phone = text("Số điện thoại di động", 15)
    ethnicity = text("Dân tộc", 40)
    commune_id = choice("Xã/phường", [], coerce=int)
    village_id = SelectField("Thôn/khối", choices=[], coerce=optional_id, validators=[Optional()], validate_choice=False)
    address_detail = text("Địa chỉ chi tiết", 200)
    policy_group = RadioField("Nhóm chính sách", choices=options(GROUP_CHOICES), coerce=PolicyGroup, validators=[REQUIRED])
    category_code = choice("Diện đối tượng", [])
    monthly_amount = amount_field("Mức trợ cấp hàng tháng (đồng) — chỉ nhập với người có công")
    benefit_decision_number = text("Số quyết định hưởng", 60)
    benefit_start_month = month_field("Hưởng từ tháng", required=False)
    guardian_name = text("Họ tên người giám hộ / người được ủy quyền", 120)
    guardian_national_id = text("Số CCCD người giám hộ / ủy quyền", 12)
    guardian_relation = text("Quan hệ với đối tượng", 60)
    guardian_phone = text("Điện thoại người giám hộ / ủy quyền", 15)
    special_very_old = BooleanField("Cao tuổi, không tự đi lại được")
    special_gravely_ill = BooleanField("Ốm đau nặng")
    special_cannot_travel = BooleanField("Khuyết tật, không thể di chuyển")
    special_nobody_to_authorise = BooleanField("Không có người để ủy quyền")
    notes = long_text("Ghi chú", 2000)
    # Only on the edit form: why the amount or ID number changes, for the supervisor who approves it.
    change_reason = long_text("Lý do thay đổi mức trợ cấp / số CCCD (gửi lãnh đạo phê duyệt)", 500)

    def __init__(self, *args, communes=(), villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.commune_id.choices = options((c.id, c.name) for c in communes)
        self.village_id.choices = options([("", "— chưa chọn —")] + [(v.id, f"{v.name} ({v.commune.name})") for v in villages])
        self.category_code.choices = (
            options([(c.code, c.label) for c in reference.categories_of(PolicyGroup.BTXH)], "Bảo trợ xã hội")
            + options([(c.code, c.label) for c in reference.categories_of(PolicyGroup.NCC)], "Người có công"))

    def person_data(self) -> dict:
        """The typed values for `cases.registration` (not JSON-made: they never wait in a proposal)."""
        skip = {"csrf_token", "version", "submit", "change_reason"}
        return {name: field.data for name, field in self._fields.items() if name not in skip}
