"""This node's open staff sockets, by login and by the credential that opened them.

Access that ends (``services.revocation``) is announced on the live bus, under
``ACCESS_TOPIC``; the registry hears every announcement and ends the sockets it names
at once.  Announcements may come from any thread (administration runs in the thread
pool), so a socket's ``end`` must be safe to call from any thread, and the registry
keeps its sockets under a lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from chatrec.errors import StoreError
from chatrec.live.bus import ACCESS_TOPIC, Fanout

log = logging.getLogger(__name__)


class StaffSocket(Protocol):
    """What the registry needs of an open staff socket."""

    @property
    def user_id(self) -> str: ...

    @property
    def credential_key(self) -> tuple[str, str]:
        """``(kind, id)``: ``("session", <token hash>)`` or ``("api_token", <token id>)``."""
        ...

    def end(self, reason: str) -> None:
        """Close the socket for ``reason``; callable from any thread, more than once."""
        ...

    async def verify(self) -> None:
        """Check the credential and the login against the store; end the socket if either
        no longer lets it in."""
        ...


def names(notice: dict[str, Any], socket: StaffSocket) -> bool:
    """Whether an access notice names the socket: its login (of the kind, when given),
    its session, or its API token; never the session the notice keeps (``keep_session``)."""
    kind, credential_id = socket.credential_key
    if kind == "session" and credential_id == notice.get("keep_session"):
        return False
    if notice.get("user_id") == socket.user_id and notice.get("kind") in (None, kind):
        return True
    if kind == "session":
        return notice.get("session_id") == credential_id
    return credential_id in (notice.get("token_ids") or ())


class StaffSockets:
    def __init__(self, fanout: Fanout) -> None:
        self._sockets: set[StaffSocket] = set()
        self._lock = threading.Lock()
        self._unsubscribe = fanout.subscribe(ACCESS_TOPIC, self._on_access_ended)

    def add(self, socket: StaffSocket) -> Callable[[], None]:
        """Keep the socket until the returned function is called (when it closes)."""
        with self._lock:
            self._sockets.add(socket)

        def remove() -> None:
            with self._lock:
                self._sockets.discard(socket)

        return remove

    def sockets(self) -> list[StaffSocket]:
        with self._lock:
            return list(self._sockets)

    def _on_access_ended(self, topic: str, notice: dict[str, Any]) -> None:
        reason = str(notice.get("reason"))
        for socket in self.sockets():
            if names(notice, socket):
                socket.end(reason)

    async def verify_all(self) -> int:
        """Check every open socket against the store (the periodic sweep); how many."""
        checked = 0
        for socket in self.sockets():
            try:
                await socket.verify()
            except StoreError as error:  # checked again at its next frame and next sweep
                log.warning("a staff socket's credential could not be checked: %s", error)
            checked += 1
        return checked
