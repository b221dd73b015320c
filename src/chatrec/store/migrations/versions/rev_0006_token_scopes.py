"""API tokens get a scope and remember the token they were made with (R18).

Tokens made before keep the whole role of their login (``full``) and no parent.

Revision ID: 0006
Revises: 0005
Created: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("scope", sa.String(), server_default="full", nullable=False))
        batch.add_column(sa.Column("parent_id", sa.String(), nullable=True))
        batch.create_index(batch.f("ix_api_tokens_parent_id"), ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_index(batch.f("ix_api_tokens_parent_id"))
        batch.drop_column("parent_id")
        batch.drop_column("scope")
