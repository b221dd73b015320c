"""Access taken away ends at once: the sockets it opened close on every node (R18).

Checking a credential when a connection opens is not enough: a staff socket lives for
hours.  Whatever ends a login's access — logging out, revoking an API token, disabling
the login, changing its role, resetting its password, deleting it — calls
:meth:`Revocations.end_access` after its change is committed.  That publishes one
notice on the live bus, which every node hears; each node's registry of open staff
sockets (``live.staff_sockets``) closes those the notice names, with a close code the
portal explains.  Each frame a socket sends is checked against the store as well, and
a periodic sweep checks every open socket, so a change made where no bus reaches
(``chatrec admin`` on the command line) ends them too, within the sweep interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from chatrec.live.bus import ACCESS_TOPIC, Fanout
from chatrec.services.access import CredentialKind
from chatrec.services.token_hash import hash_token


class AccessEnded(StrEnum):
    """Why a login's access, or one credential's, ended; each says so to the person."""

    SIGNED_OUT = "signed_out"
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - a reason, not a secret
    LOGIN_DISABLED = "login_disabled"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - a reason, not a secret
    LOGIN_DELETED = "login_deleted"
    ROLE_CHANGED = "role_changed"


def session_id(token: str) -> str:
    """The id of a login session: its token's hash, as stored, never the token."""
    return hash_token(token)


class Revocations:
    """The one entry point that ends open access; services call it after they commit."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout

    def end_access(
        self,
        *,
        reason: AccessEnded,
        user_id: str | None = None,
        kind: CredentialKind | None = None,
        session_id: str | None = None,
        token_ids: Iterable[str] = (),
        keep_session: str | None = None,
    ) -> None:
        """Close every open staff socket, on every node, that the arguments name.

        ``user_id`` names all of a login's sockets (only those opened with a credential
        of ``kind``, when given: ``SESSION`` for "log out everywhere" leaves its API
        tokens' sockets open); ``session_id`` (:func:`session_id`) one session's;
        ``token_ids`` those of API tokens.  Naming nothing closes nothing.  The session
        ``keep_session`` (a password change's own) stays open whatever else is named.
        """
        notice: dict[str, Any] = {
            "reason": reason.value,
            "user_id": user_id,
            "kind": None if kind is None else kind.value,
            "session_id": session_id,
            "token_ids": sorted(set(token_ids)),
            "keep_session": keep_session,
        }
        if user_id is None and session_id is None and not notice["token_ids"]:
            return
        self.fanout.publish(ACCESS_TOPIC, notice)
