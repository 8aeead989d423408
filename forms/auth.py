from __future__ import annotations

from wtforms import PasswordField

from forms.base import REQUIRED, Form, text


class LoginForm(Form):
    username = text("Tên đăng nhập", 64, required=True)
    password = PasswordField("Mật khẩu", validators=[REQUIRED])
