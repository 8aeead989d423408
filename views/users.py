"""The administrator's user screens, and every user's password change."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import login_required, logout_user

from cases.errors import DomainError
from cases.models import User
from cases.user_admin import (CurrentPasswordWrong, add_user, change_own_password, change_role, change_scope,
                              disable_user, enable_user, get_managed_user, grantable_communes, grantable_provinces,
                              managed_users, require_admin, reset_password)
from extensions import db
from forms.users import ChangePasswordForm, NewUserForm, ResetPasswordForm, RoleForm, ScopeForm
from views.common import acting_user, current_actor

bp = Blueprint("users", __name__)
log = logging.getLogger(__name__)


@bp.route("/users")
@login_required
def index():
    return render_template("users/list.html", users=managed_users(db.session, acting_user()))


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new():
    admin = acting_user()
    require_admin(admin)
    form = NewUserForm(**_grantable(admin))
    if form.validate_on_submit():
        province, communes = form.chosen_scope()
        try:
            user, generated = add_user(
                db.session, current_actor(), admin, username=form.username.data, full_name=form.full_name.data,
                email=form.email.data or None, role=form.role.data, province=province, communes=communes,
                password=form.password.data or None)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            log.info("admin %s created user %s", admin.username, user.username)
            if generated:
                return _password_once(user, generated)
            flash(_("Đã tạo người dùng %(username)s.", username=user.username), "success")
            return redirect(url_for("users.show", user_id=user.id))
    return render_template("users/new.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/users/<int:user_id>")
@login_required
def show(user_id: int):
    admin = acting_user()
    user = get_managed_user(db.session, admin, user_id)
    return render_template("users/show.html", user=user, **_user_forms(admin, user))


@bp.route("/users/<int:user_id>/<any(disable, enable):action>", methods=["POST"])
@login_required
def set_active(user_id: int, action: str):
    admin = acting_user()
    user = get_managed_user(db.session, admin, user_id)
    service = disable_user if action == "disable" else enable_user
    try:
        changed = service(db.session, current_actor(), admin, user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        log.info("admin %s: %s user %s (changed: %s)", admin.username, action, user.username, changed)
        if not changed:
            flash(_("Không có gì thay đổi."), "success")
        elif action == "disable":
            flash(_("Đã khoá tài khoản %(username)s.", username=user.username), "success")
        else:
            flash(_("Đã mở lại tài khoản %(username)s.", username=user.username), "success")
    return redirect(url_for("users.show", user_id=user_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@login_required
def reset(user_id: int):
    admin = acting_user()
    user = get_managed_user(db.session, admin, user_id)
    forms = _user_forms(admin, user, posted="password_form")
    form = forms["password_form"]
    if form.validate():
        try:
            password = reset_password(db.session, current_actor(), admin, user, form.password.data or None)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            log.info("admin %s reset the password of %s", admin.username, user.username)
            if not form.password.data:
                return _password_once(user, password)
            flash(_("Đã đặt mật khẩu mới cho %(username)s; các phiên đăng nhập của họ đã kết thúc.",
                    username=user.username), "success")
            return redirect(url_for("users.show", user_id=user_id))
    return render_template("users/show.html", user=user, **forms), 422


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@login_required
def role(user_id: int):
    admin = acting_user()
    user = get_managed_user(db.session, admin, user_id)
    forms = _user_forms(admin, user, posted="role_form")
    form = forms["role_form"]
    return _apply(form, forms, user, lambda: change_role(db.session, current_actor(), admin, user, form.role.data),
                  _l("Đã đổi vai trò của %(username)s; các phiên đăng nhập của họ đã kết thúc."))


@bp.route("/users/<int:user_id>/scope", methods=["POST"])
@login_required
def scope(user_id: int):
    admin = acting_user()
    user = get_managed_user(db.session, admin, user_id)
    forms = _user_forms(admin, user, posted="scope_form")
    form = forms["scope_form"]
    return _apply(form, forms, user, lambda: change_scope(db.session, current_actor(), admin, user,
                                                          *form.chosen_scope()),
                  _l("Đã đổi phạm vi của %(username)s; các phiên đăng nhập của họ đã kết thúc."))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    user = acting_user()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_own_password(db.session, current_actor(), user, form.current_password.data, form.new_password.data)
        except CurrentPasswordWrong as error:
            db.session.commit()  # the counted failure and its audit record; nothing else changed
            _show_error(form, error)
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            log.info("user %s changed their password", user.username)
            # Every session of the user has ended, this one too: log in again with the new password.
            logout_user()
            session.clear()
            flash(_("Đã đổi mật khẩu. Vui lòng đăng nhập lại bằng mật khẩu mới."), "success")
            return redirect(url_for("auth.login"))
    return render_template("account/password.html", form=form), 200 if request.method == "GET" else 422


def _apply(form, forms: dict, user: User, change, done):
    """Validate the posted form of the user page, make the one change, commit, redirect. `done`
    is the lazy message of a change made, naming `%(username)s`."""
    if form.validate():
        try:
            changed = change()
        except DomainError as error:
            db.session.rollback()
            _show_error(form, error)
        else:
            db.session.commit()
            log.info("%s for user %s (changed: %s)", request.path, user.username, changed)
            flash(str(done) % {"username": user.username} if changed else _("Không có gì thay đổi."), "success")
            return redirect(url_for("users.show", user_id=user.id))
    return render_template("users/show.html", user=user, **forms), 422


def _grantable(admin: User) -> dict:
    provinces = grantable_provinces(admin)
    return {"province": provinces[0] if provinces else None, "communes": grantable_communes(db.session, admin)}


def _user_forms(admin: User, user: User, posted: str | None = None) -> dict:
    """The forms of the user page, filled with the user's present values; only the one posted
    reads the request."""
    def build(name, cls, **kwargs):
        return cls(**kwargs) if name == posted else cls(formdata=None, **kwargs)
    return {"role_form": build("role_form", RoleForm, data={"role": user.role}),
            "scope_form": build("scope_form", ScopeForm, data=ScopeForm.defaults(user), **_grantable(admin)),
            "password_form": build("password_form", ResetPasswordForm)}


def _password_once(user: User, password: str):
    """The generated password, shown this once; never cached, never put in the session cookie."""
    response = render_template("users/password.html", user=user, password=password)
    return response, 200, {"Cache-Control": "no-store"}


def _show_error(form, error: DomainError) -> None:
    field = form._fields.get(error.field or "")
    if field is not None:
        field.errors = [*field.errors, error.message]
    flash(error.message, "error")
