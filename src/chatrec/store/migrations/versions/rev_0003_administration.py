"""Administration: login lockout, API tokens, and the operators' own company.

Revision ID: 0003
Revises: 0002
Created: 2026-11-27 05:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Kept here as literals: a migration must not change when the code it ran with does.
SYSTEM_COMPANY_ID = "system"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("token_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_id", name=op.f("uq_api_tokens_token_id")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    # System operators belong to this company; it records nothing and runs no chats.
    companies = sa.table(
        "companies",
        sa.column("company_id", sa.String()),
        sa.column("name", sa.String()),
        sa.column("products", sa.JSON()),
        sa.column("default_template", sa.Text()),
        sa.column("formats", sa.JSON()),
        sa.column("done_marker", sa.Boolean()),
        sa.column("sampling_key", sa.LargeBinary()),
        sa.column("retention_seconds", sa.Integer()),
    )
    op.bulk_insert(
        companies,
        [
            {
                "company_id": SYSTEM_COMPANY_ID,
                "name": "chatrec operators",
                "products": [],
                "default_template": "{chat_id}",
                "formats": ["json"],
                "done_marker": False,
                "sampling_key": b"",
                "retention_seconds": 0,
            }
        ],
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM companies WHERE company_id = :id").bindparams(id=SYSTEM_COMPANY_ID)
    )
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")
