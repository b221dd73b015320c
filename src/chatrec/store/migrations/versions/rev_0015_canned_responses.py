"""Canned responses, the company's and each login's own (R23; issue 15).

Revision ID: 0015
Revises: 0014
Created: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "canned_responses",
        sa.Column("response_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(), nullable=True),
        sa.Column("scope_key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_key", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name="fk_canned_responses_company_id_companies",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.user_id"], name="fk_canned_responses_owner_id_users"
        ),
        sa.PrimaryKeyConstraint("response_id", name="pk_canned_responses"),
        sa.UniqueConstraint(
            "company_id",
            "scope_key",
            "name_key",
            name="uq_canned_responses_company_id_scope_key_name_key",
        ),
    )
    op.create_index("ix_canned_responses_company_id", "canned_responses", ["company_id"])
    op.create_index("ix_canned_responses_owner_id", "canned_responses", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_canned_responses_owner_id", table_name="canned_responses")
    op.drop_index("ix_canned_responses_company_id", table_name="canned_responses")
    op.drop_table("canned_responses")
