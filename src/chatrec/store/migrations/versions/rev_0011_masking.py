"""Companies mask card numbers unless turned off, and patterns of their own (R22).

Every existing company gets masking on, as a new one does: an administrator who wants
card numbers kept turns it off, and the audit trail says who did.

Revision ID: 0011
Revises: 0010
Created: 2026-12-03 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


# Plain ALTER TABLE, not batch mode: SQLite adds and drops these columns in place, and a
# batch would copy the companies table, which every other table refers to.


def upgrade() -> None:
    op.add_column(
        "companies",
        sa.Column("mask_card_numbers", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "companies", sa.Column("masking_patterns", sa.JSON(), server_default="[]", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("companies", "masking_patterns")
    op.drop_column("companies", "mask_card_numbers")
