"""security: session versions, login throttling, denial windows, audit checks, 64-bit amounts

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    # Plain ALTER TABLE ... ADD COLUMN (no batch copy): on SQLite a batch would copy and drop
    # `users`, which the foreign keys of cases and proposals refuse once there is data.
    op.add_column("users", sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    # An NCC amount of 3.000.000.000 đ overflowed PostgreSQL's int4; the rules bound it far lower,
    # but the column no longer caps what the rules allow. SQLite's INTEGER already holds 64 bits
    # (and a batch copy of `cases` would meet the same foreign keys), so there is nothing to do.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("cases", "monthly_amount", existing_type=sa.Integer(), type_=sa.BigInteger(),
                        existing_nullable=False)
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "denial_windows",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "target", name=op.f("pk_denial_windows")),
    )
    op.create_table(
        "audit_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("checked", BIG_ID, nullable=False),
        sa.Column("head_seq", BIG_ID, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("broken_seq", BIG_ID, nullable=True),
        sa.Column("problem", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checks")),
    )
    op.create_index("ix_audit_checks_kind_at", "audit_checks", ["kind", "at"])


def downgrade():
    op.drop_index("ix_audit_checks_kind_at", table_name="audit_checks")
    op.drop_table("audit_checks")
    op.drop_table("denial_windows")
    op.drop_table("login_throttle")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("cases", "monthly_amount", existing_type=sa.BigInteger(), type_=sa.Integer(),
                        existing_nullable=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("session_version")
