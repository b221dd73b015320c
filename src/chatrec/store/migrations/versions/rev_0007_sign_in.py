"""Sign-in (R18): logins unique per company, locks per login and address, idle
sessions, forced password changes and a second factor (TOTP, recovery codes).

Sessions made before this revision are ended: they have no time of last use.

Revision ID: 0007
Revises: 0006
Created: 2026-12-08 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_login_key", type_="unique")
        batch.create_unique_constraint("uq_users_company_id_login_key", ["company_id", "login_key"])
        batch.create_index("ix_users_login_key", ["login_key"])
        batch.drop_column("failed_logins")
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
        batch.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("totp_enabled", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("companies") as batch:
        batch.add_column(
            sa.Column("require_totp", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute("DELETE FROM sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False))
        batch.add_column(sa.Column("pending", sa.String(), nullable=True))
        batch.create_index("ix_sessions_expires_at", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column("lock_key", sa.String(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lock_key", "address", name=op.f("pk_login_failures")),
    )
    op.create_index(
        op.f("ix_login_failures_last_failure_at"), "login_failures", ["last_failure_at"]
    )
    op.create_table(
        "recovery_codes",
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_recovery_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_index(op.f("ix_login_failures_last_failure_at"), table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_expires_at")
        batch.drop_column("pending")
        batch.drop_column("last_seen_at")
        batch.drop_column("created_at")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("require_totp")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled")
        batch.drop_column("totp_secret")
        batch.drop_column("must_change_password")
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.drop_index("ix_users_login_key")
        batch.drop_constraint("uq_users_company_id_login_key", type_="unique")
        # Fails if two companies now share a login: rename one first.
        batch.create_unique_constraint("uq_users_login_key", ["login_key"])
