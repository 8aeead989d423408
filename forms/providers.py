"""The administrator's form for one payment provider of a province."""
from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectMultipleField
from wtforms.widgets import CheckboxInput

from cases.ids import parse_id
from cases.models import ProviderKind
from cases.provider_admin import DEFAULT_HEADINGS, HEADING_LENGTH, NAME_LENGTH, PAYMENT_LIST_COLUMNS, \
    POLICY_GROUP_LABELS, POLICY_GROUPS, SHORT_NAME_LENGTH
from forms.base import SELECTED, Form, options, text
from views.present.labels import PROVIDER_KIND_LABELS


class CommuneChecks(SelectMultipleField):
    """Ticked communes as ids. Whether they are the province's is the service's to check (it says
    so in words); an id that can name no commune is refused here."""

    def __init__(self, label, **kwargs):
        super().__init__(label, coerce=int, validate_choice=False, option_widget=CheckboxInput(), **kwargs)

    def process_formdata(self, valuelist):
        ids = [parse_id(value) for value in valuelist]
        if None in ids:
            self.data = []
            raise ValueError(_("Lựa chọn không hợp lệ."))
        self.data = ids


def heading_field(key: str) -> str:
    return f"heading_{key}"


class ProviderForm(Form):
    short_name = text(_l("Mã viết tắt"), SHORT_NAME_LENGTH[1], required=True)
    name = text(_l("Tên tổ chức chi trả"), NAME_LENGTH[1], required=True)
    kind = RadioField(_l("Loại"), choices=options((k.value, PROVIDER_KIND_LABELS[k.value]) for k in ProviderKind),
                      validators=[SELECTED], default=ProviderKind.BANK.value)
    policy_groups = RadioField(_l("Chi trả cho nhóm đối tượng"),
                               choices=options((g, POLICY_GROUP_LABELS[g]) for g in POLICY_GROUPS),
                               validators=[SELECTED], default="all")
    pays_in_cash = BooleanField(_l("Chi trả tiền mặt (qua điểm chi trả)"))
    active = BooleanField(_l("Đang hoạt động"), default=True)
    communes = CommuneChecks(_l("Xã, phường phục vụ"))

    def __init__(self, *args, communes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.communes.choices = [(c.id, c.name) for c in communes]

    def headings(self) -> list:
        """The heading fields, in the payment list's column order."""
        return [self[heading_field(key)] for key in PAYMENT_LIST_COLUMNS]

    def layout(self) -> dict[str, str]:
        """{column key: heading} as typed, blanks included (the service drops them)."""
        return {key: self[heading_field(key)].data or "" for key in PAYMENT_LIST_COLUMNS}


# One single-line field per column of the payment list, labelled with our heading.
for _key in PAYMENT_LIST_COLUMNS:
    setattr(ProviderForm, heading_field(_key), text(DEFAULT_HEADINGS[_key], HEADING_LENGTH[1]))
del _key
