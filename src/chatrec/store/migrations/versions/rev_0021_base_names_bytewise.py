"""On PostgreSQL, the recordings' name keys indexed byte by byte (collation "C") per
company: the names taken by a chat's end (R6) are found as a range of that index, not by
walking every recording the company ever had.  SQLite compares bytes already, and its
unique index on (company_id, base_name_key) serves the range.

Revision ID: 0021
Revises: 0020
Created: 2026-12-05 00:50:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None

INDEX = "ix_recordings_company_id_base_name_key_c"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'CREATE INDEX {INDEX} ON recordings (company_id, base_name_key COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX {INDEX}")
