"""Each journal event keeps its place in its chat's hash chain (R21).

``digest`` and ``link`` are empty for events committed before this revision: the
chain check says a chat's chain starts after them rather than calling it broken.

Revision ID: 0012
Revises: 0011
Created: 2026-12-04 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("chat_events", sa.Column("digest", sa.LargeBinary(), nullable=True))
    op.add_column("chat_events", sa.Column("link", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("chat_events", "link")
    op.drop_column("chat_events", "digest")
