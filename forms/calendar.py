"""The administrator's form for one swap of the working calendar."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import InputRequired

from cases.models import SwapKind
from cases.models.calendar import SWAP_KIND_LABELS
from forms.base import Form, choice, text


class SwapForm(Form):
    # InputRequired, not DataRequired: a date that does not exist (31/02) keeps its own message
    # instead of "required".
    day = DateField(_l("Ngày (dd/mm/yyyy)"), format=["%Y-%m-%d", "%d/%m/%Y"],
                    validators=[InputRequired(message=_l("Trường này bắt buộc."))])
    kind = choice(_l("Loại"), [(k.value, SWAP_KIND_LABELS[k]) for k in SwapKind], coerce=SwapKind)
    note = text(_l("Căn cứ (số văn bản, thông báo)"), 200, required=True)
