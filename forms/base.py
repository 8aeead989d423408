"""The base form: Vietnamese messages, and the fields the case forms share."""
from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from cases.ids import parse_id
from cases.users import MAX_PASSWORD_LENGTH

# WTForms' built-in messages our fields can show, each with our Vietnamese msgid: WTForms ships no
# Vietnamese catalogue, and ours then translates them like every other message.
_VI = {
    "This field is required.": _l("Trường này bắt buộc."),
    "Not a valid date value.": _l("Ngày không hợp lệ (nhập dd/mm/yyyy)."),
    "Not a valid integer value.": _l("Phải là một số nguyên."),
    "Not a valid choice.": _l("Lựa chọn không hợp lệ."),
    "Invalid Choice: could not coerce.": _l("Lựa chọn không hợp lệ."),
    "Invalid input.": _l("Giá trị không hợp lệ."),
    "Field must be between %(min)d and %(max)d characters long.": _l("Độ dài phải từ %(min)d đến %(max)d ký tự."),
    "Field cannot be longer than %(max)d characters.": _l("Không được dài quá %(max)d ký tự."),
    "Field must be at least %(min)d characters long.": _l("Phải có ít nhất %(min)d ký tự."),
    "Number must be at least %(min)s.": _l("Phải từ %(min)s trở lên."),
    "Number must be at most %(max)s.": _l("Không được lớn hơn %(max)s."),
    "Number must be between %(min)s and %(max)s.": _l("Phải nằm trong khoảng %(min)s đến %(max)s."),
    "The CSRF token is missing.": _l("Biểu mẫu thiếu mã bảo vệ; hãy tải lại trang và gửi lại."),
    "The CSRF token is invalid.": _l("Mã bảo vệ biểu mẫu không hợp lệ; hãy tải lại trang."),
    "The CSRF token has expired.": _l("Biểu mẫu đã hết hạn; hãy tải lại trang."),
    "The CSRF session token is missing.": _l("Phiên làm việc đã hết; hãy tải lại trang."),
    "The CSRF tokens do not match.": _l("Mã bảo vệ biểu mẫu không khớp; hãy tải lại trang."),
}


class _Translations:
    def gettext(self, string: str) -> str:
        found = _VI.get(string)
        return string if found is None else str(found)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


TRANSLATIONS = _Translations()
REQUIRED = DataRequired(message=_l("Trường này bắt buộc."))
SELECTED = InputRequired(message=_l("Hãy chọn một giá trị."))
# What no one types: C0 controls (NUL among them) but tab, newline and carriage return, DEL, C1
# controls, and U+FFFD, which is what bytes that were not UTF-8 became on the way in. PostgreSQL
# refuses a NUL in text outright, and the others only spoil names, exports and the audit trail.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_LINE_BREAK = re.compile("[\t\n\r]")


class PlainText:
    """Refuses control characters in what was posted; tab and line breaks only in a multi-line
    field. Every text field gets it from `Form` (see `Meta.bind_field`)."""

    def __init__(self, multiline: bool):
        self.multiline = multiline

    def __call__(self, form, field) -> None:
        for value in field.raw_data or ():
            if not isinstance(value, str):
                continue
            if _CONTROL.search(value):
                raise ValidationError(_("Có ký tự không hợp lệ (ký tự điều khiển hoặc lỗi mã hoá); hãy xoá và gõ lại."))
            if not self.multiline and _LINE_BREAK.search(value):
                raise ValidationError(_("Trường này chỉ nhận một dòng, không có dấu tab hay xuống dòng."))


_SINGLE_LINE, _MULTI_LINE = PlainText(multiline=False), PlainText(multiline=True)
# Refused by the form, before the login even looks the account up (hashing is the slow part).
_PASSWORD_LENGTH = Length(max=MAX_PASSWORD_LENGTH)


def _input_checks(field) -> list:
    """The checks every field of its kind gets, whichever form declares it."""
    if isinstance(field, TextAreaField):
        return [_MULTI_LINE]
    if isinstance(field, PasswordField):
        # Hashed, never shown: a pasted tab may be part of someone's password.
        return [_MULTI_LINE, _PASSWORD_LENGTH]
    if isinstance(field, StringField) and not isinstance(field, HiddenField):
        return [_SINGLE_LINE]
    return []


class Form(FlaskForm):
    class Meta:
        # CSRFProtect checks the token of every POST before any view runs (a missing or wrong
        # token is refused with its own page); checking it again per form only repeats the HMAC.
        # Templates put the token in with the `csrf_field()` macro.
        csrf = False

        def get_translations(self, form):
            return TRANSLATIONS

        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            checks = _input_checks(field)
            if checks:
                # A new list: the declared one is shared by every instance of the form.
                field.validators = [*field.validators, *checks]
            return field

    def payload(self, exclude: tuple[str, ...] = ()) -> dict:
        """The form's data made JSON-safe (dates as ISO strings), for services and proposals."""
        skip = {"csrf_token", "version", "submit", "note", *exclude}
        return {name: _jsonable(field.data) for name, field in self._fields.items() if name not in skip}


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


class VersionedForm(Form):
    """A form about one case, carrying the version of the case it was rendered from."""
    version = HiddenField()

    def version_number(self) -> int:
        """The version the form was rendered from. A missing or malformed one is refused exactly as
        a stale one (0 matches no case: versions start at 1): a form posted without it would
        otherwise land on top of another user's change."""
        # What was posted, not `data`: a form built over the case (`obj=case`) would otherwise fill
        # a left-out version from the case itself, which always matches.
        raw = (self.version.raw_data or [""])[0].strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


def date_field(label: str, required: bool = True, **kw) -> DateField:
    """A date typed as dd/mm/yyyy or picked in the browser (which sends yyyy-mm-dd)."""
    return DateField(label, format=["%Y-%m-%d", "%d/%m/%Y"], validators=[REQUIRED if required else Optional()], **kw)


class MonthField(StringField):
    """A month, entered as mm/yyyy or picked (yyyy-mm); `data` is the first day of that month."""

    def process_formdata(self, valuelist):
        self.data = None
        raw = (valuelist[0] if valuelist else "").strip()
        if not raw:
            return
        for fmt in ("%Y-%m", "%m/%Y"):
            try:
                self.data = datetime.strptime(raw, fmt).date().replace(day=1)
                return
            except ValueError:
                continue
        self.raw_data = [raw]
        raise ValueError(_("Tháng không hợp lệ (nhập mm/yyyy)."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%Y-%m") if self.data else ""


def month_field(label: str, required: bool = True) -> MonthField:
    return MonthField(label, validators=[REQUIRED if required else Optional()])


def text(label: str, max_length: int, required: bool = False, **kw) -> StringField:
    validators = [REQUIRED if required else Optional(), Length(max=max_length)]
    return StringField(label, validators=validators, filters=[_strip], **kw)


def long_text(label: str, max_length: int = 500, required: bool = False) -> TextAreaField:
    return TextAreaField(label, validators=[REQUIRED if required else Optional(), Length(max=max_length)],
                         filters=[_strip])


def optional_id(value) -> int | None:
    """`coerce` for a select of rows that may be left empty and is checked by the service rather
    than against its choices: a number that can name no row is refused as an invalid choice.

    :raise ValueError: not empty and not an id (`cases.ids.parse_id`).
    """
    if value in (None, "", "None") or isinstance(value, int):
        return value or None
    found = parse_id(value)
    if found is None:
        raise ValueError("not an id")
    return found


def options(pairs, optgroup: str | None = None) -> list[SelectChoice]:
    """(value, label) pairs as the option objects WTForms 3.3 expects."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def choice(label: str, pairs=(), required: bool = True, coerce=str) -> SelectField:
    return SelectField(label, choices=options(pairs), coerce=coerce,
                       validators=[SELECTED if required else Optional()])


class AmountField(IntegerField):
    """Whole đồng, accepting the separators people type: `2.789.000`, `2,789,000 đ`."""

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        cleaned = raw.replace(".", "").replace(",", "").replace(" ", "").removesuffix("đ").removesuffix("VND")
        self.data = None
        if not cleaned:
            return
        if not cleaned.isdigit():
            self.raw_data = [raw]
            raise ValueError(_("Số tiền phải là số đồng, ví dụ 2.789.000."))
        self.data = int(cleaned)


def amount_field(label: str) -> AmountField:
    return AmountField(label, validators=[Optional()])


def _strip(value):
    return value.strip() if isinstance(value, str) else value
