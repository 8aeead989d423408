"""The administrator's user forms, and everyone's password change."""
from __future__ import annotations

import re

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import PasswordField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import EqualTo, Optional, ValidationError

from cases.models import Commune, Province, User
from cases.roles import Role
from forms.base import REQUIRED, SELECTED, Form, options, text

ROLE_CHOICES = [(role.value, role.label) for role in Role]
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PROVINCE, COMMUNES = "province", "communes"


class ScopeForm(Form):
    """A whole province or some communes, chosen from what the administrator may grant."""
    scope = RadioField(_l("Phạm vi"), choices=[], validators=[SELECTED])
    commune_ids = SelectMultipleField(
        _l("Xã/phường (khi chọn một số xã/phường; giữ Ctrl để chọn nhiều)"), coerce=int,
        invalid_choice_message=_l("Có xã/phường nằm ngoài phạm vi quản lý của bạn."))

    def __init__(self, *args, province: Province | None = None, communes: list[Commune] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._province, self._communes = province, {c.id: c for c in communes}
        self.scope.choices = options(([(PROVINCE, _("Cả %(province)s", province=province.name))] if province else [])
                                     + [(COMMUNES, _("Một số xã/phường"))])
        self.commune_ids.choices = options((c.id, c.name) for c in communes)

    def validate_commune_ids(self, field):
        if self.scope.data == COMMUNES and not field.data:
            raise ValidationError(_("Hãy chọn ít nhất một xã/phường."))

    @staticmethod
    def defaults(user: User) -> dict:
        """The user's present scope, to show in the form."""
        return {"scope": PROVINCE if user.province_id is not None else COMMUNES,
                "commune_ids": [c.id for c in user.communes]}

    def chosen_scope(self) -> tuple[Province | None, list[Commune]]:
        if self.scope.data == PROVINCE:
            return self._province, []
        return None, [self._communes[i] for i in self.commune_ids.data or []]


class NewUserForm(ScopeForm):
    username = text(_l("Tên đăng nhập"), 64, required=True)
    full_name = text(_l("Họ và tên"), 120, required=True)
    email = text(_l("Email"), 200)
    role = SelectField(_l("Vai trò"), choices=options(ROLE_CHOICES), coerce=Role, validators=[SELECTED])
    password = PasswordField(_l("Mật khẩu (để trống để hệ thống tạo ngẫu nhiên)"), validators=[Optional()])

    def validate_email(self, field):
        if field.data and not _EMAIL.fullmatch(field.data):
            raise ValidationError(_("Email không hợp lệ."))


class RoleForm(Form):
    role = SelectField(_l("Vai trò"), choices=options(ROLE_CHOICES), coerce=Role, validators=[SELECTED])


class ResetPasswordForm(Form):
    password = PasswordField(_l("Mật khẩu mới (để trống để hệ thống tạo ngẫu nhiên)"), validators=[Optional()])


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[REQUIRED])
    new_password = PasswordField(_l("Mật khẩu mới (ít nhất 10 ký tự)"), validators=[REQUIRED])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"), validators=[
        REQUIRED, EqualTo("new_password", message=_l("Hai lần nhập mật khẩu mới không khớp."))])
