"""The delivery outbox: destinations, leases and retries on files, purge time on chats.

Revision ID: 0002
Revises: 0001
Created: 2026-11-29 09:12:40.518230
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "destinations",
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("host", sa.String(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("folder", sa.String(), nullable=False),
        sa.Column("host_key", sa.Text(), nullable=False),
        sa.Column("password", sa.Text(), nullable=True),
        sa.Column("private_key", sa.Text(), nullable=True),
        sa.Column("done_marker", sa.Boolean(), nullable=False),
        sa.Column("max_connections", sa.Integer(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("timeout_seconds", sa.Double(), nullable=False),
        sa.Column("verify_after_rename", sa.Boolean(), nullable=False),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_destinations_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_destinations")),
    )
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            op.f("ix_chats_status_purged_at_ended_at"), ["status", "purged_at", "ended_at"]
        )
    with op.batch_alter_table("recording_files") as batch:
        batch.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    # Files spooled before this revision are due at once.
    op.execute("UPDATE recording_files SET next_attempt_at = created_at")
    with op.batch_alter_table("recording_files") as batch:
        batch.alter_column(
            "next_attempt_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch.create_index(
            op.f("ix_recording_files_state_next_attempt_at"), ["state", "next_attempt_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("recording_files") as batch:
        batch.drop_index(op.f("ix_recording_files_state_next_attempt_at"))
        batch.drop_column("delivered_at")
        batch.drop_column("last_error")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
    with op.batch_alter_table("chats") as batch:
        batch.drop_index(op.f("ix_chats_status_purged_at_ended_at"))
        batch.drop_column("purged_at")
    op.drop_table("destinations")
