"""The company's chats indexed by when they started: the supervisors' dashboard (today's
chats) and report (a period's) read the chats of a period without walking every chat
the company ever had.

Revision ID: 0022
Revises: 0021
Created: 2026-12-05 01:10:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_chats_company_id_started_at"), "chats", ["company_id", "started_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chats_company_id_started_at"), table_name="chats")
