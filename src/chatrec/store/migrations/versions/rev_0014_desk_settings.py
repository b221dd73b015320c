"""The agent's desk (R23): companies may show agents the customer's draft as it is typed
(off for all), and keep staff's internal notes in recordings, marked internal (on for all,
as the rule has it unless a company excludes them), and a list of wrap-up codes (none) that
agents may or must choose from, and the time within which a chat counts as answered on
the supervisors' dashboard (60 seconds).

Revision ID: 0014
Revises: 0013
Created: 2026-12-04 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


# Plain ALTER TABLE, as in 0011: a batch would copy the companies table.


def upgrade() -> None:
    op.add_column(
        "companies",
        sa.Column("typing_preview", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "companies",
        sa.Column("record_internal_notes", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "companies", sa.Column("wrap_up_codes", sa.JSON(), server_default="[]", nullable=False)
    )
    op.add_column(
        "companies",
        sa.Column("wrap_up_required", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "companies",
        sa.Column("answer_target_seconds", sa.Integer(), server_default="60", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("companies", "answer_target_seconds")
    op.drop_column("companies", "wrap_up_required")
    op.drop_column("companies", "wrap_up_codes")
    op.drop_column("companies", "record_internal_notes")
    op.drop_column("companies", "typing_preview")
