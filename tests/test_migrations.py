"""Migrations upgrade a database that already holds data (a commune's office machine, a
province's server): the schema of revision 0002, filled, then upgraded to the head on SQLite and
PostgreSQL. (The rest of the suite builds an empty schema, where a table copy that foreign keys
refuse goes unnoticed.)"""
from __future__ import annotations

import uuid

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from extensions import db
from tests.conftest import uses_postgresql

NOW = "2026-11-30 08:00:00"


@pytest.fixture
def database(database_url, tmp_path):
    """A database of its own: an SQLite file, or a PostgreSQL database dropped afterwards."""
    if not uses_postgresql():
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    base, _, _ = database_url.rpartition("/")
    name = f"ansinh_upgrade_{uuid.uuid4().hex[:8]}"
    admin_url = f"{base}/postgres".replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill_revision_0002() -> None:
    """A province, a commune, an officer scoped to it, a case with a pending proposal."""
    for statement in [
        "INSERT INTO provinces (id, code_list, code, name) VALUES (1, '2025', '20', 'Tỉnh Lạng Sơn')",
        "INSERT INTO communes (id, province_id, code_list, code, name, kind) "
        "VALUES (1, 1, '2025', '06112', 'Xã Bình Gia', 'xa')",
        "INSERT INTO users (id, username, full_name, password_hash, role, active, created_at) "
        f"VALUES (1, 'canbo', 'Cán bộ', 'x', 'officer', true, '{NOW}')",
        "INSERT INTO user_communes (user_id, commune_id) VALUES (1, 1)",
        "INSERT INTO cases (id, status, version, state_entered_at, province_id, commune_id, full_name, birth_date, "
        "sex, policy_group, category_code, monthly_amount, special_very_old, special_gravely_ill, "
        "special_cannot_travel, special_nobody_to_authorise, created_at, updated_at) "
        f"VALUES (1, 'paid_by_account', 3, '{NOW}', 1, 1, 'Hoàng Văn Thụ', '1950-03-02', 'male', 'ncc', 'NCC.1', "
        f"1731000, false, false, false, false, '{NOW}', '{NOW}')",
        "INSERT INTO proposals (id, case_id, commune_id, trigger, payload, case_version, status, proposed_by_id, "
        f"proposed_at) VALUES (1, 1, 1, 'suspend', '{{}}', 3, 'pending', 1, '{NOW}')",
    ]:
        db.session.execute(text(statement))
    db.session.commit()


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    from flask import current_app
    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_current_head()


def test_a_filled_database_upgrades_to_the_head(database):
    app = create_app({"ANSINH_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision="0002")
        fill_revision_0002()
        upgrade()
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        user = db.session.execute(text("SELECT username, session_version FROM users")).one()
        assert tuple(user) == ("canbo", 0)
        # The 64-bit amount: what overflowed PostgreSQL's int4 before is stored now.
        db.session.execute(text("UPDATE cases SET monthly_amount = 3000000000 WHERE id = 1"))
        db.session.commit()
        assert db.session.scalar(text("SELECT monthly_amount FROM cases WHERE id = 1")) == 3_000_000_000
        assert db.session.scalar(text("SELECT count(*) FROM proposals WHERE status = 'pending'")) == 1
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
