"""A service's pre-chat form (R23; issue 15): none for every existing service, whose
chats start at once as before.

Revision ID: 0019
Revises: 0018
Created: 2026-12-04 14:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "services", sa.Column("pre_chat_form", sa.JSON(), server_default="[]", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("services", "pre_chat_form")
