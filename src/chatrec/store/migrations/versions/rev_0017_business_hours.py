"""A service's business hours, their time zone and what customers read when it is
closed (issue 15): none for every existing service, which stays always open.

Revision ID: 0017
Revises: 0016
Created: 2026-12-04 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("services", sa.Column("hours", sa.Text(), server_default="", nullable=False))
    op.add_column(
        "services", sa.Column("timezone", sa.String(), server_default="UTC", nullable=False)
    )
    op.add_column(
        "services", sa.Column("closed_message", sa.Text(), server_default="", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("services", "closed_message")
    op.drop_column("services", "timezone")
    op.drop_column("services", "hours")
