"""The roles of a staff login, and which of them work the chat desk.

A login's role says what it may do in chatrec (R18); it is not the role someone has in
a chat's journal (:class:`chatrec.domain.journal.ChatRole`).  It lives here, in the
domain, so the store's records can carry it; the database keeps its name as a string.
"""

from __future__ import annotations

from enum import StrEnum


class LoginRole(StrEnum):
    """A staff login's role; customers have no login, only their chat's token."""

    OPERATOR = "operator"
    ADMINISTRATOR = "administrator"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


COMPANY_ROLES = frozenset({LoginRole.ADMINISTRATOR, LoginRole.SUPERVISOR, LoginRole.AGENT})
"""The roles a login of a tenant company may have; operators belong to ``system``."""

DESK_ROLES = frozenset({LoginRole.AGENT, LoginRole.SUPERVISOR})
"""The roles that work the chat desk: they take part in chats, under the chat role of the
same name; administrators and operators take no chats, their place is the console."""
