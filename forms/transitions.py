"""One form per transition of the workflow table (`TransitionSpec.form` names the class here)."""
from __future__ import annotations

from wtforms import BooleanField, IntegerField, RadioField
from wtforms.validators import NumberRange, Optional

from cases import reference
from cases.changes import local_today
from cases.models import AccountHolder
from cases.models.case import IdentitySource
from cases.organisation import provider_choices
from extensions import db
from forms.base import VersionedForm, choice, date_field, long_text, month_field, options, text
from forms.case import SEX_CHOICES
from workflow.table import TRANSITIONS


class TransitionForm(VersionedForm):
    note = long_text("Ghi chú / lý do", 500)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case


class VerifyIdentityForm(TransitionForm):
    national_id = text("Số CCCD đã đối chiếu", 12, required=True)
    source = choice("Nguồn xác thực", [
        (IdentitySource.POLICE_LIST.value, "Danh sách Công an xã trả về"),
        (IdentitySource.VNEID.value, "Ứng dụng VNeID"),
        (IdentitySource.POPULATION_DB.value, "Cơ sở dữ liệu quốc gia về dân cư"),
    ])
    verified_on = date_field("Ngày xác thực")
    full_name = text("Sửa họ tên (nếu CSDL dân cư khác)", 120)
    birth_date = date_field("Sửa ngày sinh (nếu khác)", required=False)
    sex = RadioField("Sửa giới tính (nếu khác)", choices=options([("", "Không sửa")] + SEX_CHOICES),
                     validators=[Optional()], default="")
    id_correction = BooleanField("Đính chính số CCCD: số đã đối chiếu khác số đang ghi trong hồ sơ")
    correction_reason = text("Lý do đính chính số CCCD", 300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Shown, not typed again: the officer compares the registered number with the source, and
        # a different one is recorded only as a correction (cases.effects.verify_identity).
        if not self.is_submitted() and self.case is not None:
            self.national_id.data = self.national_id.data or self.case.national_id
            self.verified_on.data = self.verified_on.data or local_today()


class IdentityProblemForm(TransitionForm):
    problem = choice("Vướng mắc", [
        ("no_id_card", "Chưa có thẻ CCCD"),
        ("data_mismatch", "Thông tin không khớp CSDL dân cư"),
        ("not_found", "Không tìm thấy trong CSDL dân cư"),
        ("other", "Khác"),
    ])
    follow_up_on = date_field("Ngày hẹn xử lý tiếp")


class _ProviderMixin:
    def _provider_choices(self):
        if self.case is None:
            return []
        return options(provider_choices(db.session, self.case.province_id))


class ChooseAccountForm(_ProviderMixin, TransitionForm):
    holder = choice("Chủ tài khoản", [
        (AccountHolder.SELF.value, "Chính đối tượng"),
        (AccountHolder.GUARDIAN.value, "Người giám hộ"),
        (AccountHolder.PROXY.value, "Người được ủy quyền"),
    ])
    holder_name = text("Họ tên chủ tài khoản (nếu không phải đối tượng)", 120)
    holder_national_id = text("Số CCCD chủ tài khoản (nếu không phải đối tượng)", 12)
    provider_id = choice("Tổ chức chi trả", [], coerce=int)
    account_number = text("Số tài khoản (nếu đã có)", 30)
    consent_date = date_field("Ngày đồng ý")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_id.choices = self._provider_choices()


class ChooseCashForm(TransitionForm):
    reason = choice("Lý do nhận tiền mặt", [
        ("special_case", "Đối tượng đặc thù (cao tuổi, ốm nặng, khuyết tật không đi lại được, không có người ủy quyền)"),
        ("declines", "Đối tượng không đồng ý mở tài khoản"),
        ("other", "Lý do khác"),
    ])
    proxy_name = text("Người nhận thay (nếu có)", 120)


class AccountOpenedForm(_ProviderMixin, TransitionForm):
    provider_id = choice("Tổ chức chi trả", [], coerce=int)
    account_number = text("Số tài khoản", 30, required=True)
    opened_on = date_field("Ngày mở")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_id.choices = self._provider_choices()


class ChangeAccountForm(ChooseAccountForm):
    """The same fields as choosing an account, the number required, and why it changes."""
    account_number = text("Số tài khoản mới", 30, required=True)
    consent_date = None
    reason = text("Lý do thay đổi tài khoản", 200, required=True)


class ConfirmPaymentForm(TransitionForm):
    month_paid = month_field("Tháng chi trả")
    reference = text("Mã tham chiếu của tổ chức chi trả", 60)


class PaymentFailureForm(TransitionForm):
    reason = choice("Lý do không chi trả được", [
        ("account_closed", "Tài khoản đã đóng"),
        ("wrong_number", "Sai số tài khoản"),
        ("name_mismatch", "Tên chủ tài khoản không khớp"),
        ("other", "Khác"),
    ])


class SwitchToAccountForm(TransitionForm):
    pass


class SwitchToCashForm(TransitionForm):
    reason = text("Lý do chuyển sang tiền mặt", 200, required=True)


class _LegalReasonForm(TransitionForm):
    """Reason codes offered are those of the case's policy group (BTXH or NCC)."""
    reasons = staticmethod(dict)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group = self.case.policy_group if self.case is not None else None
        self.reason_code.choices = options((r.code, r.label) for r in self.reasons().get(group, []))


class SuspendForm(_LegalReasonForm):
    reasons = staticmethod(reference.suspension_reasons)
    reason_code = choice("Căn cứ pháp lý", [])
    effective_month = month_field("Tạm dừng từ tháng")
    decision_number = text("Số quyết định", 60, required=True)


class ResumeForm(TransitionForm):
    decision_number = text("Số quyết định", 60, required=True)
    effective_month = month_field("Hưởng lại từ tháng")
    arrears_months = IntegerField("Số tháng truy lĩnh", default=0,
                                  validators=[Optional(), NumberRange(min=0, max=120)])


class TerminateForm(_LegalReasonForm):
    reasons = staticmethod(reference.termination_reasons)
    reason_code = choice("Căn cứ pháp lý", [])
    event_date = date_field("Ngày phát sinh sự việc (thôi hưởng từ tháng sau)")
    decision_number = text("Số quyết định", 60, required=True)


class ReopenIdentityForm(TransitionForm):
    finding = long_text("Sai sót phát hiện", 300, required=True)


FORMS: dict[str, type[TransitionForm]] = {
    trigger: globals()[spec.form] for trigger, spec in TRANSITIONS.items() if spec.form is not None
}
