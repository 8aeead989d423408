"""Settings: production refuses unsafe environments; development needs none."""
from __future__ import annotations

import pytest

import config
from app import create_app


def test_production_refuses_without_secret_and_database(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(config.ConfigError, match="SECRET_KEY, DATABASE_URL"):
        config.load("production", str(tmp_path))


def test_production_refuses_debug(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(config.ConfigError, match="DEBUG"):
        config.load("production", str(tmp_path))


@pytest.mark.parametrize("secret", ["abc", "x" * 31])
def test_production_refuses_a_short_secret(secret, monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", secret)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("DEBUG", raising=False)
    with pytest.raises(config.ConfigError, match="at least 32 characters"):
        config.load("production", str(tmp_path))


def test_every_configuration_pings_connections_before_use(monkeypatch, tmp_path):
    """After a database restart the first request works instead of meeting a dead connection."""
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("DEBUG", raising=False)
    for name in ("development", "testing", "production"):
        assert config.load(name, str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True


def test_production_uses_psycopg3(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("DEBUG", raising=False)
    settings = config.load("production", str(tmp_path))
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert settings["DEBUG"] is False and settings["SESSION_COOKIE_SECURE"] is True


def test_development_needs_nothing_and_keeps_its_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = config.load("development", str(tmp_path))
    again = config.load("development", str(tmp_path))
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'ansinh.db'}"
    assert first["SECRET_KEY"] == again["SECRET_KEY"] and len(first["SECRET_KEY"]) == 64


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(config.ConfigError):
        config.load("staging", str(tmp_path))


def test_sqlite_connections_are_configured(app):
    from extensions import db
    with app.app_context(), db.engine.connect() as conn:
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_create_app_does_not_start_anything(tmp_path):
    app = create_app({"ANSINH_ENV": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert "apscheduler" not in app.extensions
