"""The administrator's form for one swap of the working calendar."""
from __future__ import annotations

from wtforms import DateField
from wtforms.validators import InputRequired

from cases.models import SwapKind
from cases.models.calendar import SWAP_KIND_LABELS
from forms.base import Form, choice, text


class SwapForm(Form):
    # InputRequired, not DataRequired: a date that does not exist (31/02) keeps its own message
    # instead of "required".
    day = DateField("Ngày (dd/mm/yyyy)", format=["%Y-%m-%d", "%d/%m/%Y"],
                    validators=[InputRequired(message="Trường này bắt buộc.")])
    kind = choice("Loại", [(k.value, SWAP_KIND_LABELS[k]) for k in SwapKind], coerce=SwapKind)
    note = text("Căn cứ (số văn bản, thông báo)", 200, required=True)
