"""The beneficiary's data: the new-case form and the edit form."""
from __future__ import annotations

from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import Optional

from cases import reference
from cases.models import PolicyGroup, Sex
from views.present.labels import POLICY_GROUP_LABELS, SEX_LABELS
from forms.base import (REQUIRED, VersionedForm, amount_field, choice, date_field, long_text, month_field, optional_id,
                        options, text)

# Choices read their labels from the one registry the pages use.
SEX_CHOICES = list(SEX_LABELS.items())
GROUP_CHOICES = list(POLICY_GROUP_LABELS.items())


class CaseForm(VersionedForm):
    full_name = text(_l("Họ và tên"), 120, required=True)
    birth_date = date_field(_l("Ngày sinh"))
    sex = RadioField(_l("Giới tính"), choices=options(SEX_CHOICES), coerce=Sex, validators=[REQUIRED])
    national_id = text(_l("Số CCCD (12 số)"), 12)
    phone = text(_l("Số điện thoại di động"), 15)
    ethnicity = text(_l("Dân tộc"), 40)
    commune_id = choice(_l("Xã/phường"), [], coerce=int)
    village_id = SelectField(_l("Thôn/khối"), choices=[], coerce=optional_id, validators=[Optional()], validate_choice=False)
    address_detail = text(_l("Địa chỉ chi tiết"), 200)
    policy_group = RadioField(_l("Nhóm chính sách"), choices=options(GROUP_CHOICES), coerce=PolicyGroup, validators=[REQUIRED])
    category_code = choice(_l("Diện đối tượng"), [])
    monthly_amount = amount_field(_l("Mức trợ cấp hàng tháng (đồng) — chỉ nhập với người có công"))
    benefit_decision_number = text(_l("Số quyết định hưởng"), 60)
    benefit_start_month = month_field(_l("Hưởng từ tháng"), required=False)
    guardian_name = text(_l("Họ tên người giám hộ / người được ủy quyền"), 120)
    guardian_national_id = text(_l("Số CCCD người giám hộ / ủy quyền"), 12)
    guardian_relation = text(_l("Quan hệ với đối tượng"), 60)
    guardian_phone = text(_l("Điện thoại người giám hộ / ủy quyền"), 15)
    special_very_old = BooleanField(_l("Cao tuổi, không tự đi lại được"))
    special_gravely_ill = BooleanField(_l("Ốm đau nặng"))
    special_cannot_travel = BooleanField(_l("Khuyết tật, không thể di chuyển"))
    special_nobody_to_authorise = BooleanField(_l("Không có người để ủy quyền"))
    notes = long_text(_l("Ghi chú"), 2000)
    # Only on the edit form: why the amount or ID number changes, for the supervisor who approves it.
    change_reason = long_text(_l("Lý do thay đổi mức trợ cấp / số CCCD (gửi lãnh đạo phê duyệt)"), 500)

    def __init__(self, *args, communes=(), villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.commune_id.choices = options((c.id, c.name) for c in communes)
        self.village_id.choices = options([("", _("— chưa chọn —"))] + [(v.id, f"{v.name} ({v.commune.name})") for v in villages])
        language = getattr(get_locale(), "language", "vi")
        self.category_code.choices = [
            *options([(c.code, c.label_in(language)) for c in reference.categories_of(PolicyGroup.BTXH)],
                     _("Bảo trợ xã hội")),
            *options([(c.code, c.label_in(language)) for c in reference.categories_of(PolicyGroup.NCC)],
                     _("Người có công"))]

    def person_data(self) -> dict:
        """The typed values for `cases.registration` (not JSON-made: they never wait in a proposal)."""
        skip = {"csrf_token", "version", "submit", "change_reason"}
        return {name: field.data for name, field in self._fields.items() if name not in skip}
