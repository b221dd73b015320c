"""Recordings' bytes in the database, not in a node's spool folder (R16, R20).

A chat's end now commits the rendered files' bytes in ``recording_files.content``, so
any worker on any machine delivers them; ``spool_path`` goes.  Files not yet delivered
when this runs have their bytes read from the spool file their row names (a relative
name is read from the folder ``chatrec migrate`` runs in, as the server that wrote it
did); one whose spool file is gone keeps ``content`` empty, and the worker says so on
that delivery, which stays visible and retryable.

Downgrading is refused while a file waits for delivery: its bytes are only here, and
the older schema would name a spool file that does not exist.

Revision ID: 0010
Revises: 0009
Created: 2026-12-03 17:00:00
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_files = sa.table(
    "recording_files",
    sa.column("file_id", sa.Integer()),
    sa.column("state", sa.String()),
    sa.column("spool_path", sa.String()),
    sa.column("content", sa.LargeBinary()),
)


def upgrade() -> None:
    with op.batch_alter_table("recording_files") as batch:
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    waiting = connection.execute(
        sa.select(_files.c.file_id, _files.c.spool_path).where(_files.c.state != "delivered")
    ).all()
    for file_id, spool_path in waiting:
        try:
            content = Path(spool_path).read_bytes()
        except OSError:
            continue  # gone: the worker names the missing bytes on this delivery
        connection.execute(
            sa.update(_files).where(_files.c.file_id == file_id).values(content=content)
        )
    with op.batch_alter_table("recording_files") as batch:
        batch.drop_column("spool_path")


def downgrade() -> None:
    connection = op.get_bind()
    waiting = connection.scalar(
        sa.select(sa.func.count()).select_from(_files).where(_files.c.content.is_not(None))
    )
    if waiting:
        raise RuntimeError(
            f"{waiting} recording files are not delivered yet and their bytes are only in "
            "the database: deliver them (`chatrec worker --once`) before downgrading"
        )
    with op.batch_alter_table("recording_files") as batch:
        batch.add_column(
            sa.Column("spool_path", sa.String(), server_default=sa.text("''"), nullable=False)
        )
        batch.drop_column("content")
