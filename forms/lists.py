"""The upload of a list: which kind, for which commune (or the whole province), the file."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import RadioField, SelectField

from forms.base import SELECTED, Form, optional_id


class UploadForm(Form):
    """Choices are the view's (the kinds, the communes in the user's scope); the service checks
    the scope and the file, and its refusals come back on the field they name."""
    kind = RadioField(_l("Loại danh sách"), choices=[], validators=[SELECTED])
    commune = SelectField(_l("Xã/phường"), choices=[], coerce=optional_id, validate_choice=False)
    file = FileField(_l("Tệp danh sách (.xlsx, .xls, .ods)"))
