"""Attachments (R23): per company whether files may be sent in chats (on), how large
(10 MB) and of which sniffed types (every type chatrec recognises); and the files
themselves, their bytes kept until the chat's message bodies are purged (R17).

Revision ID: 0018
Revises: 0017
Created: 2026-12-04 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None

_TYPES = '["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"]'


def upgrade() -> None:
    # Plain ALTER TABLE, as in 0011: a batch would copy the companies table.
    op.add_column(
        "companies",
        sa.Column("attachments_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "companies",
        sa.Column("attachment_max_bytes", sa.Integer(), server_default="10485760", nullable=False),
    )
    op.add_column(
        "companies", sa.Column("attachment_types", sa.JSON(), server_default=_TYPES, nullable=False)
    )
    op.create_table(
        "attachments",
        sa.Column("attachment_id", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("uploader", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.chat_id"], name=op.f("fk_attachments_chat_id_chats")
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_chat_id"), "attachments", ["chat_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_attachments_chat_id"), table_name="attachments")
    op.drop_table("attachments")
    op.drop_column("companies", "attachment_types")
    op.drop_column("companies", "attachment_max_bytes")
    op.drop_column("companies", "attachments_enabled")
