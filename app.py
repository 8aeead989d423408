"""AnSinh: case management for moving social-assistance payments from cash to accounts."""
from __future__ import annotations

import logging

from flask import Flask
from flask_babel import lazy_gettext

import config
from config import safe_logging


def create_app(overrides: dict | None = None) -> Flask:
    """Build the web application. Nothing runs at import time; the scheduler is not started here."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app, overrides or {})
    # How to build this same app again in a worker process (cases.bulk_read.read_ahead).
    app.extensions["ansinh_factory"] = (create_app, dict(overrides or {}))
    require_safe_xml()
    register_extensions(app)
    register_input_rules(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_security_headers(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def require_safe_xml() -> None:
    """openpyxl reads XML through defusedxml, or the app does not start (cases.sheets.safety)."""
    from cases.sheets.safety import require_defusedxml
    require_defusedxml()


def load_config(app: Flask, overrides: dict) -> None:
    app.config.update(config.load(overrides.get("ANSINH_ENV"), app.instance_path))
    app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = config.normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    safe_logging.configure(logging.INFO)
    # pytransitions logs every callback at INFO: noise, and measurable time per transition.
    for chatty in ("alembic.runtime.plugins", "transitions"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def register_extensions(app: Flask) -> None:
    from extensions import babel, configure_sqlite, csrf, db, login_manager, migrate
    from views.language import select_locale, select_timezone

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories="translations")
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite(engine)
    import cases.audit  # noqa: F401 - registers the hook that chains audit records at commit
    from views.auth import load_user
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Vui lòng đăng nhập để tiếp tục.")


def register_input_rules(app: Flask) -> None:
    from views.inputs import register

    register(app)


def register_blueprints(app: Flask) -> None:
    from views import (audit, auth, calendar, cases, jobs, lists, mail, preferences, proposals,  # noqa: F401
                       payment_returns, payments,
                       providers, queues, report_settings, reports, reveal, users,
                       workflow)     # queues adds to cases.bp

    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(proposals.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(reveal.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(mail.bp)
    app.register_blueprint(lists.bp)
    app.register_blueprint(workflow.bp)
    app.register_blueprint(preferences.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(report_settings.bp)
    app.register_blueprint(providers.bp)
    app.register_blueprint(payments.bp)
    app.register_blueprint(payment_returns.bp)


def register_request_hooks(app: Flask) -> None:
    from views.common import begin_request, refuse_foreign_origin
    from views.language import settle_locale

    app.before_request(begin_request)
    app.before_request(settle_locale)
    app.before_request(refuse_foreign_origin)


def register_security_headers(app: Flask) -> None:
    from views.headers import register

    register(app)


def register_error_handlers(app: Flask) -> None:
    from views.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from views.filters import register

    register(app)


def register_commands(app: Flask) -> None:
    from commands import register

    register(app)
