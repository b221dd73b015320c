"""Companies' keys that sign their recordings' manifests (R21).

The keys themselves are made by ``chatrec migrate`` after the schema (``Store.migrate``):
they need the secrets key, which migrations do not have.

Revision ID: 0013
Revises: 0012
Created: 2026-12-04 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name="fk_signing_keys_company_id_companies",
        ),
        sa.PrimaryKeyConstraint("key_id", name="pk_signing_keys"),
    )
    op.create_index("ix_signing_keys_company_id", "signing_keys", ["company_id"])


def downgrade() -> None:
    op.drop_index("ix_signing_keys_company_id", table_name="signing_keys")
    op.drop_table("signing_keys")
