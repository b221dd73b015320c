"""The ORM classes' tables as Core ``Table`` objects, for the statements built once.

``Row.__table__`` is typed as a ``FromClause``; a statement built at import reads the
columns of a ``Table`` (``.c``), so each table is cast here once, not per module.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from chatrec.store.models import (
    ChatRow,
    CompanyRow,
    QueueRow,
    RecordingFileRow,
    RecordingRow,
    ServiceRow,
    SessionRow,
    SigningKeyRow,
    UserRow,
)

CHATS = cast(Table, ChatRow.__table__)
COMPANIES = cast(Table, CompanyRow.__table__)
QUEUES = cast(Table, QueueRow.__table__)
RECORDING_FILES = cast(Table, RecordingFileRow.__table__)
RECORDINGS = cast(Table, RecordingRow.__table__)
SERVICES = cast(Table, ServiceRow.__table__)
SESSIONS = cast(Table, SessionRow.__table__)
SIGNING_KEYS = cast(Table, SigningKeyRow.__table__)
USERS = cast(Table, UserRow.__table__)
