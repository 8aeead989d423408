"""The command line: users are created with a scope, and the demo loads once."""
from __future__ import annotations

from sqlalchemy import func, select

from cases.models import AuditRecord, User
from extensions import db
from tests.conftest import login


def test_users_create_scoped_to_communes_then_logs_in(app, client):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--username", "an.nv", "--full-name", "Nguyễn Văn An", "--role", "officer",
        "--commune", "06112", "--commune", "06115", "--password", "mot-mat-khau-dai"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "an.nv"))
    assert [c.code for c in user.communes] == ["06112", "06115"] and user.province_id is None
    assert user.password_hash.startswith("$argon2id$")
    assert db.session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "user.create")) == 1
    assert login(client, user, "mot-mat-khau-dai").status_code == 302


def test_users_create_refuses_a_user_without_scope_or_with_a_short_password(app):
    runner = app.test_cli_runner()
    no_scope = runner.invoke(args=["users", "create", "--username", "x", "--full-name", "X", "--role", "auditor",
                                   "--password", "mot-mat-khau-dai"])
    short = runner.invoke(args=["users", "create", "--username", "y", "--full-name", "Y", "--role", "admin",
                                "--province", "20", "--password", "ngan"])
    assert no_scope.exit_code != 0 and "một tỉnh hoặc một số xã" in no_scope.output
    assert short.exit_code != 0 and "ít nhất 10 ký tự" in short.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
