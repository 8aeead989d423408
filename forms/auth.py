from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField

from forms.base import REQUIRED, Form, text


class LoginForm(Form):
    username = text(_l("Tên đăng nhập"), 64, required=True)
    password = PasswordField(_l("Mật khẩu"), validators=[REQUIRED])
