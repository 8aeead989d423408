"""The one password policy, checked before a password is ever hashed."""
from __future__ import annotations

import unicodedata
from functools import cache

from flask_babel import gettext as _

from cases.errors import DomainError
from cases.reference import DATA

MIN_PASSWORD_LENGTH = 10
# Checked before anything is hashed: argon2 over a 20 MB "password" is a denial of service.
MAX_PASSWORD_LENGTH = 128


def check_password(password: str, username: str, field: str = "password") -> None:
    """The one password policy: 10 to 128 characters, not one of the commonest passwords, and not
    the username nor containing it. Checked before the password is ever hashed.

    :raise DomainError: with the rule broken, on `field`.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(_("Mật khẩu phải có ít nhất %(num)d ký tự.", num=MIN_PASSWORD_LENGTH), field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(_("Mật khẩu không được dài quá %(num)d ký tự.", num=MAX_PASSWORD_LENGTH), field)
    plain, name = _plain(password), _plain(username)
    if plain in common_passwords():
        raise DomainError(_("Mật khẩu này quá phổ biến, dễ bị đoán ra. Hãy chọn mật khẩu khác."), field)
    # Containment only for usernames of 3+ characters: "an" inside a long phrase gives nothing away.
    if plain == name or (len(name) >= 3 and name in plain):
        raise DomainError(_("Mật khẩu không được trùng hoặc chứa tên đăng nhập."), field)


def _plain(text: str) -> str:
    """Lowercase, without diacritics or spaces: "Mật Khẩu 123" is the listed "matkhau123"."""
    decomposed = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch) and not ch.isspace()).lower()


@cache
def common_passwords() -> frozenset[str]:
    """The list in cases/data/common_passwords.txt (its README says where it comes from)."""
    with open(DATA / "common_passwords.txt", encoding="utf-8") as f:
        return frozenset(_plain(line.rstrip("\n")) for line in f if line.strip())


