"""One form per transition of the workflow table (`TransitionSpec.form` names the class here).

A form is prefilled where the case or the day knows the answer (the registered ID number, today's
date, this month), and refuses a day that has not come yet where the form records something that
happened (a verification, a consent, an account opened, a payment), beside the field.
"""
from __future__ import annotations

from flask_babel import get_locale, lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, RadioField
from wtforms.validators import NumberRange, Optional, ValidationError

from cases import reference
from cases.changes import local_today
from cases.organisation import provider_choices
from extensions import db
from forms.base import REQUIRED, VersionedForm, choice, date_field, long_text, month_field, options, text
from forms.case import SEX_CHOICES
from views.present.labels import (ACCOUNT_HOLDER_LABELS, CASH_REASON_LABELS, IDENTITY_PROBLEM_LABELS,
                                  IDENTITY_SOURCE_LABELS, PAYMENT_FAILURE_LABELS)
from workflow.table import TRANSITIONS


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")   # as forms.base.date_field: picked, or typed dd/mm/yyyy


class NotInFuture:
    """A day (or a month) that has already come: what the form records has happened."""

    def __init__(self, message, month: bool = False):
        self.message, self.month = message, month

    def __call__(self, form, field) -> None:
        today = local_today()
        if field.data and field.data > (today.replace(day=1) if self.month else today):
            raise ValidationError(str(self.message))


def past_date(label, message) -> DateField:
    """A required date that has already come (`message` beside the field when not)."""
    return DateField(label, format=list(DATE_FORMATS), validators=[REQUIRED, NotInFuture(message)])


class TransitionForm(VersionedForm):
    note = long_text(_l("Ghi chú / lý do"), 500)
    # Fields filled with today's date (or this month) when the form is first shown.
    today_fields: tuple[str, ...] = ()
    month_fields: tuple[str, ...] = ()

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        if not self.is_submitted():
            today = local_today()
            for name in self.today_fields:
                if name in self._fields and not self[name].data:
                    self[name].data = today
            for name in self.month_fields:
                if name in self._fields and not self[name].data:
                    self[name].data = today.replace(day=1)


class VerifyIdentityForm(TransitionForm):
    today_fields = ("verified_on",)
    national_id = text(_l("Số CCCD đã đối chiếu"), 12, required=True)
    source = choice(_l("Nguồn xác thực"), IDENTITY_SOURCE_LABELS.items())
    verified_on = past_date(_l("Ngày xác thực"), _l("Ngày xác thực không được sau ngày hôm nay."))
    full_name = text(_l("Sửa họ tên (nếu CSDL dân cư khác)"), 120)
    birth_date = date_field(_l("Sửa ngày sinh (nếu khác)"), required=False)
    sex = RadioField(_l("Sửa giới tính (nếu khác)"), choices=options([("", _l("Không sửa"))] + SEX_CHOICES),
                     validators=[Optional()], default="")
    id_correction = BooleanField(_l("Đính chính số CCCD: số đã đối chiếu khác số đang ghi trong hồ sơ"))
    correction_reason = text(_l("Lý do đính chính số CCCD"), 300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Shown, not typed again: the officer compares the registered number with the source, and
        # a different one is recorded only as a correction (cases.effects.verify_identity).
        if not self.is_submitted() and self.case is not None:
            self.national_id.data = self.national_id.data or self.case.national_id


class IdentityProblemForm(TransitionForm):
    problem = choice(_l("Vướng mắc"), IDENTITY_PROBLEM_LABELS.items())
    follow_up_on = date_field(_l("Ngày hẹn xử lý tiếp"))


class _ProviderMixin:
    def _provider_choices(self):
        if self.case is None:
            return []
        return options(provider_choices(db.session, self.case.province_id))


class ChooseAccountForm(_ProviderMixin, TransitionForm):
    today_fields = ("consent_date",)
    holder = choice(_l("Chủ tài khoản"), ACCOUNT_HOLDER_LABELS.items())
    holder_name = text(_l("Họ tên chủ tài khoản (nếu không phải đối tượng)"), 120)
    holder_national_id = text(_l("Số CCCD chủ tài khoản (nếu không phải đối tượng)"), 12)
    provider_id = choice(_l("Tổ chức chi trả"), [], coerce=int)
    account_number = text(_l("Số tài khoản (nếu đã có)"), 30)
    consent_date = past_date(_l("Ngày đồng ý"), _l("Ngày đồng ý không được sau ngày hôm nay."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_id.choices = self._provider_choices()


class ChooseCashForm(TransitionForm):
    reason = choice(_l("Lý do nhận tiền mặt"), CASH_REASON_LABELS.items())
    proxy_name = text(_l("Người nhận thay (nếu có)"), 120)


class AccountOpenedForm(_ProviderMixin, TransitionForm):
    today_fields = ("opened_on",)
    provider_id = choice(_l("Tổ chức chi trả"), [], coerce=int)
    account_number = text(_l("Số tài khoản"), 30, required=True)
    opened_on = past_date(_l("Ngày mở"), _l("Ngày mở tài khoản không được sau ngày hôm nay."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_id.choices = self._provider_choices()


class ChangeAccountForm(ChooseAccountForm):
    """The same fields as choosing an account, the number required, and why it changes."""
    account_number = text(_l("Số tài khoản mới"), 30, required=True)
    consent_date = None
    reason = text(_l("Lý do thay đổi tài khoản"), 200, required=True)


class ConfirmPaymentForm(TransitionForm):
    month_fields = ("month_paid",)
    month_paid = month_field(_l("Tháng chi trả"))
    reference = text(_l("Mã tham chiếu của tổ chức chi trả"), 60)

    def validate_month_paid(self, field) -> None:
        NotInFuture(_l("Tháng chi trả không được sau tháng hiện tại."), month=True)(self, field)


class PaymentFailureForm(TransitionForm):
    reason = choice(_l("Lý do không chi trả được"), PAYMENT_FAILURE_LABELS.items())


class SwitchToAccountForm(TransitionForm):
    pass


class SwitchToCashForm(TransitionForm):
    reason = text(_l("Lý do chuyển sang tiền mặt"), 200, required=True)


class _LegalReasonForm(TransitionForm):
    """Reason codes offered are those of the case's policy group (BTXH or NCC), with their legal
    text in the reader's language."""
    reasons = staticmethod(dict)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        group = self.case.policy_group if self.case is not None else None
        language = getattr(get_locale(), "language", "vi")
        self.reason_code.choices = options(
            (r.code, reference.reason_label(r.code, language)) for r in self.reasons().get(group, []))


class SuspendForm(_LegalReasonForm):
    reasons = staticmethod(reference.suspension_reasons)
    reason_code = choice(_l("Căn cứ pháp lý"), [])
    effective_month = month_field(_l("Tạm dừng từ tháng"))
    decision_number = text(_l("Số quyết định"), 60, required=True)


class ResumeForm(TransitionForm):
    decision_number = text(_l("Số quyết định"), 60, required=True)
    effective_month = month_field(_l("Hưởng lại từ tháng"))
    arrears_months = IntegerField(_l("Số tháng truy lĩnh"), default=0,
                                  validators=[Optional(), NumberRange(min=0, max=120)])


class TerminateForm(_LegalReasonForm):
    today_fields = ("event_date",)
    reasons = staticmethod(reference.termination_reasons)
    reason_code = choice(_l("Căn cứ pháp lý"), [])
    event_date = date_field(_l("Ngày phát sinh sự việc (thôi hưởng từ tháng sau)"))
    decision_number = text(_l("Số quyết định"), 60, required=True)


class ReopenIdentityForm(TransitionForm):
    finding = long_text(_l("Sai sót phát hiện"), 300, required=True)


FORMS: dict[str, type[TransitionForm]] = {
    trigger: globals()[spec.form] for trigger, spec in TRANSITIONS.items() if spec.form is not None
}
