"""The administrator's pages for a province's payment providers (issue 18)."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from cases.errors import DomainError
from cases.models import PaymentProvider, Province
from cases.organisation import forget_provider_choices
from cases.provider_admin import (POLICY_GROUP_LABELS, communes_of, layout_of, manageable_provinces, province_for,
                                  provider_for, providers_of, save_provider)
from extensions import db
from forms.providers import ProviderForm, heading_field
from views.common import acting_user, current_actor
from views.present.labels import PROVIDER_KIND_LABELS
from views.present.values import forget_names

bp = Blueprint("providers", __name__)
log = logging.getLogger(__name__)


@bp.route("/admin/providers")
@login_required
def index():
    admin = acting_user()
    province = _province(admin)
    lines = providers_of(db.session, province.id) if province is not None else []
    return render_template("providers/index.html", province=province, lines=lines,
                           provinces=manageable_provinces(db.session, admin), kind_labels=PROVIDER_KIND_LABELS,
                           group_labels=POLICY_GROUP_LABELS, layout_of=layout_of)


@bp.route("/admin/providers/new", methods=["GET", "POST"])
@login_required
def new():
    admin = acting_user()
    province = _province(admin)
    if province is None:
        return redirect(url_for("providers.index"))
    return _edit(admin, province, None, ProviderForm(communes=communes_of(db.session, province.id)))


@bp.route("/admin/providers/<int:provider_id>", methods=["GET", "POST"])
@login_required
def edit(provider_id: int):
    admin = acting_user()
    provider = provider_for(db.session, admin, provider_id)
    province = db.session.get(Province, provider.province_id)
    return _edit(admin, province, provider, ProviderForm(communes=communes_of(db.session, province.id),
                                                         data=_form_data(provider)))


def _edit(admin, province: Province, provider: PaymentProvider | None, form: ProviderForm):
    if form.validate_on_submit():
        try:
            saved = save_provider(
                db.session, current_actor(), admin, province.id, provider.id if provider else None,
                short_name=form.short_name.data, name=form.name.data, kind=form.kind.data,
                policy_groups=form.policy_groups.data, pays_in_cash=form.pays_in_cash.data,
                active=form.active.data, commune_ids=form.communes.data, file_layout=form.layout())
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            said = {"name": saved.name, "short_name": saved.short_name}
            db.session.commit()
            # Again after the commit: a request of this process could have cached the old list
            # between the service's flush and the commit.
            forget_provider_choices()
            forget_names()
            log.info("admin %s saved payment provider %s of province %s", admin.username, said["short_name"],
                     province.code)
            flash(_("Đã thêm tổ chức chi trả %(name)s (%(short_name)s).", **said) if provider is None
                  else _("Đã lưu tổ chức chi trả %(name)s (%(short_name)s).", **said), "success")
            return redirect(url_for("providers.index", province=province.code))
    return render_template("providers/edit.html", province=province, provider=provider, form=form), \
        200 if request.method == "GET" else 422


def _province(admin) -> Province | None:
    """The province asked for in `?province=`, or the administrator's own.

    :raise NotPermitted: (403) not a province's administrator, or not of that province.
    :raise NotFound: (404) no province has that code.
    """
    return province_for(db.session, admin, request.args.get("province"))


def _form_data(provider: PaymentProvider) -> dict:
    data = {"short_name": provider.short_name, "name": provider.name, "kind": provider.kind.value,
            "policy_groups": provider.policy_groups, "pays_in_cash": provider.pays_in_cash,
            "active": provider.active, "communes": [c.id for c in provider.communes]}
    data.update({heading_field(key): heading for key, heading in layout_of(provider).items()})
    return data


def _show_error(form: ProviderForm, error: DomainError) -> None:
    field = form._fields.get(error.field or "")
    if field is not None:
        field.errors = [*field.errors, error.message]
    flash(error.message, "error")
