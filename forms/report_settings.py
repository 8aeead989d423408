"""The administrator's forms for a province's report targets and the bands' thresholds."""
from __future__ import annotations

import re

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import InputRequired

from cases.models import TargetGroup
from cases.reports.target_admin import TARGET_GROUP_LABELS, WHOLE_PROVINCE
from forms.base import Form, choice, optional_id, options

# A percent as people write it: `60`, `62,5`, `62.5`, `60 %` — one decimal at most.
_PERCENT = re.compile(r"^(?P<whole>\d{1,4})(?:[,.](?P<tenth>\d))?\s*%?$")


class PercentField(StringField):
    """A share typed as a percent with one decimal at most; `data` is in per mille (62,5 → 625).
    The range is the service's to check. A text field, so `Form` refuses control characters in it as
    in any other."""

    def process_formdata(self, valuelist):
        self.data = None
        raw = (valuelist[0] if valuelist else "").strip()
        if not raw:
            return
        found = _PERCENT.match(raw)
        if found is None:
            raise ValueError(_("Nhập tỷ lệ phần trăm, tối đa một chữ số thập phân, ví dụ 60 hoặc 62,5."))
        self.data = int(found["whole"]) * 10 + int(found["tenth"] or 0)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        whole, tenth = divmod(self.data, 10)
        return f"{whole},{tenth}" if tenth else str(whole)


def percent_field(label) -> PercentField:
    # InputRequired, not DataRequired: "abc" keeps its own message, and 0 is for the service to refuse.
    return PercentField(label, validators=[InputRequired(message=_l("Trường này bắt buộc."))])


class TargetForm(Form):
    commune = choice(_l("Đơn vị"), required=False, coerce=optional_id)
    group = choice(_l("Nhóm đối tượng"), [(g.value, TARGET_GROUP_LABELS[g]) for g in TargetGroup],
                   coerce=TargetGroup)
    share = percent_field(_l("Chỉ tiêu chi trả qua tài khoản (%)"))
    # InputRequired, not DataRequired: a date that does not exist (31/02) keeps its own message.
    due_on = DateField(_l("Hạn đạt (dd/mm/yyyy)"), format=["%Y-%m-%d", "%d/%m/%Y"],
                       validators=[InputRequired(message=_l("Trường này bắt buộc."))])

    def __init__(self, *args, communes=(), whole_province: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        pairs = [("", WHOLE_PROVINCE)] if whole_province else []
        self.commune.choices = options([*pairs, *((str(c.id), c.name) for c in communes)])


class BandsForm(Form):
    high_from = percent_field(_l("“Cao” từ (%)"))
    average_from = percent_field(_l("“Trung bình” từ (%)"))
