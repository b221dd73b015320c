"""The pre-chat form's e-mail on the chat's row, indexed (R23; issue 15): a customer's
earlier chats are found without reading every ended chat's journal.  Filled from the
journals of chats not yet purged (R17).

Revision ID: 0020
Revises: 0019
Created: 2026-12-04 15:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("chats", sa.Column("customer_email", sa.String(), nullable=True))
    op.create_index(
        op.f("ix_chats_company_id_customer_email"), "chats", ["company_id", "customer_email"]
    )
    chats = sa.table(
        "chats",
        sa.column("chat_id", sa.String()),
        sa.column("purged_at", sa.DateTime()),
        sa.column("customer_email", sa.String()),
    )
    events = sa.table(
        "chat_events",
        sa.column("chat_id", sa.String()),
        sa.column("type", sa.String()),
        sa.column("payload", sa.JSON()),
    )
    bind = op.get_bind()
    started = bind.execute(
        sa.select(events.c.chat_id, events.c.payload)
        .join(chats, chats.c.chat_id == events.c.chat_id)
        .where(events.c.type == "chat_started", chats.c.purged_at.is_(None))
    )
    for chat_id, payload in started:
        email = ((payload or {}).get("customer") or {}).get("email")
        if email:
            bind.execute(
                chats.update().where(chats.c.chat_id == chat_id).values(customer_email=email)
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_chats_company_id_customer_email"), table_name="chats")
    op.drop_column("chats", "customer_email")
