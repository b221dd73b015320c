"""Why an agent is Away: one of chatrec's reasons, or none (issue 15).

Revision ID: 0016
Revises: 0015
Created: 2026-12-04 13:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("agent_presence", sa.Column("away_reason", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("agent_presence", "away_reason")
