"""The initial schema: companies, logins, queues, flows, chats, journals, recordings.

Revision ID: 0001
Revises: (none)
Created: 2026-11-27 03:47:01.961762
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("default_template", sa.Text(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("done_marker", sa.Boolean(), nullable=False),
        sa.Column("sampling_key", sa.LargeBinary(), nullable=False),
        sa.Column("retention_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_companies")),
    )
    op.create_table(
        "flows",
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.company_id"], name=op.f("fk_flows_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("flow_id", name=op.f("pk_flows")),
    )
    op.create_index(op.f("ix_flows_company_id"), "flows", ["company_id"])
    op.create_table(
        "queues",
        sa.Column("queue_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.company_id"], name=op.f("fk_queues_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_queues")),
        sa.UniqueConstraint("company_id", "name", name=op.f("uq_queues_company_id_name")),
    )
    op.create_index(op.f("ix_queues_company_id"), "queues", ["company_id"])
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("login", sa.String(), nullable=False),
        sa.Column("login_key", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("permit_recordings", sa.Boolean(), nullable=False),
        sa.Column("record_chats", sa.Boolean(), nullable=False),
        sa.Column("record_percentage", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.company_id"], name=op.f("fk_users_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("login_key", name=op.f("uq_users_login_key")),
    )
    op.create_index(op.f("ix_users_company_id"), "users", ["company_id"])
    op.create_table(
        "flow_versions",
        sa.Column("flow_id", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.flow_id"], name=op.f("fk_flow_versions_flow_id_flows")
        ),
        sa.PrimaryKeyConstraint("flow_id", "version", name=op.f("pk_flow_versions")),
    )
    op.create_table(
        "services",
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("flow_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.company_id"], name=op.f("fk_services_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"], ["flows.flow_id"], name=op.f("fk_services_flow_id_flows")
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_services")),
        sa.UniqueConstraint("company_id", "name", name=op.f("uq_services_company_id_name")),
    )
    op.create_index(op.f("ix_services_company_id"), "services", ["company_id"])
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    op.create_table(
        "chats",
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.String(), nullable=True),
        sa.Column("flow_id", sa.String(), nullable=True),
        sa.Column("flow_version", sa.Integer(), nullable=True),
        sa.Column("flow_state", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.company_id"], name=op.f("fk_chats_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["flow_id", "flow_version"],
            ["flow_versions.flow_id", "flow_versions.version"],
            name=op.f("fk_chats_flow_id_flow_version_flow_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.queue_id"], name=op.f("fk_chats_queue_id_queues")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.service_id"], name=op.f("fk_chats_service_id_services")
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chats")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_chats_token_hash")),
    )
    op.create_index(op.f("ix_chats_company_id_status"), "chats", ["company_id", "status"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=True),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.chat_id"], name=op.f("fk_audit_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.company_id"], name=op.f("fk_audit_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index(op.f("ix_audit_company_id_chat_id"), "audit", ["company_id", "chat_id"])
    op.create_table(
        "chat_events",
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.chat_id"], name=op.f("fk_chat_events_chat_id_chats")
        ),
        sa.PrimaryKeyConstraint("chat_id", "seq", name=op.f("pk_chat_events")),
    )
    op.create_table(
        "recordings",
        sa.Column("recording_id", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("company_id", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("base_name", sa.String(), nullable=True),
        sa.Column("base_name_key", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.chat_id"], name=op.f("fk_recordings_chat_id_chats")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_recordings_company_id_companies"),
        ),
        sa.PrimaryKeyConstraint("recording_id", name=op.f("pk_recordings")),
        sa.UniqueConstraint(
            "company_id", "base_name_key", name=op.f("uq_recordings_company_id_base_name_key")
        ),
    )
    op.create_index(op.f("ix_recordings_chat_id"), "recordings", ["chat_id"])
    op.create_table(
        "recording_files",
        sa.Column("file_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("media_type", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("spool_path", sa.String(), nullable=False),
        sa.Column("state", sa.String(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.recording_id"],
            name=op.f("fk_recording_files_recording_id_recordings"),
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_recording_files")),
        sa.UniqueConstraint(
            "recording_id", "path", name=op.f("uq_recording_files_recording_id_path")
        ),
    )


def downgrade() -> None:
    op.drop_table("recording_files")
    op.drop_index(op.f("ix_recordings_chat_id"), table_name="recordings")
    op.drop_table("recordings")
    op.drop_table("chat_events")
    op.drop_index(op.f("ix_audit_company_id_chat_id"), table_name="audit")
    op.drop_table("audit")
    op.drop_index(op.f("ix_chats_company_id_status"), table_name="chats")
    op.drop_table("chats")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_services_company_id"), table_name="services")
    op.drop_table("services")
    op.drop_table("flow_versions")
    op.drop_index(op.f("ix_users_company_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_queues_company_id"), table_name="queues")
    op.drop_table("queues")
    op.drop_index(op.f("ix_flows_company_id"), table_name="flows")
    op.drop_table("flows")
    op.drop_table("companies")
