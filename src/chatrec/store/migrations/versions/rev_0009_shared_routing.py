"""Shared routing (R20): waiting order, agents' sockets per node, agents in open chats.

Routing lived in one node's memory; these tables let every node read and change it:
``chats.queued_at`` orders the waiting chats, ``routing_agents`` is what a node locks
to give an agent a chat, ``agent_sockets`` counts an agent's portals per node and
``chat_agents`` the agents in each open chat (their capacity's measure).  Open chats
are carried over: their waiting time counts from their last activity, and their agents
are read from their journals.

Revision ID: 0009
Revises: 0008
Created: 2026-12-10 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "routing_agents",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("idle_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_routing_agents_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_routing_agents_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_routing_agents")),
    )
    op.create_index(op.f("ix_routing_agents_company_id"), "routing_agents", ["company_id"])
    op.create_table(
        "agent_sockets",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("connections", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_agent_sockets_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "node_id", name=op.f("pk_agent_sockets")),
    )
    op.create_table(
        "chat_agents",
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.chat_id"], name=op.f("fk_chat_agents_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_chat_agents_user_id_users")
        ),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_chat_agents")),
    )
    op.create_index(op.f("ix_chat_agents_user_id"), "chat_agents", ["user_id"])
    _carry_over_open_chats()


def _carry_over_open_chats() -> None:
    """Queued chats wait from their last activity; open chats' agents from their journals."""
    from chatrec.domain.codec import decode_event
    from chatrec.domain.journal import ChatRole, Journal
    from chatrec.domain.participants import stints

    bind = op.get_bind()
    bind.execute(sa.text("UPDATE chats SET queued_at = last_activity_at WHERE status = 'queued'"))
    open_chats = bind.execute(sa.text("SELECT chat_id FROM chats WHERE status != 'ended'"))
    for (chat_id,) in list(open_chats):
        rows = bind.execute(
            sa.text("SELECT payload FROM chat_events WHERE chat_id = :chat ORDER BY seq"),
            {"chat": chat_id},
        )
        events = []
        for (payload,) in rows:
            events.append(decode_event(payload if isinstance(payload, dict) else _json(payload)))
        present = {
            s.actor.user_id
            for s in stints(Journal(tuple(events)))
            if s.left_at is None and s.actor.role is ChatRole.AGENT and s.actor.user_id
        }
        for user_id in sorted(present):
            bind.execute(
                sa.text("INSERT INTO chat_agents (chat_id, user_id) VALUES (:chat, :user)"),
                {"chat": chat_id, "user": user_id},
            )


def _json(raw: object) -> dict[str, object]:
    import json

    loaded = json.loads(str(raw))
    assert isinstance(loaded, dict)
    return loaded


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_agents_user_id"), table_name="chat_agents")
    op.drop_table("chat_agents")
    op.drop_table("agent_sockets")
    op.drop_index(op.f("ix_routing_agents_company_id"), table_name="routing_agents")
    op.drop_table("routing_agents")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("queued_at")
