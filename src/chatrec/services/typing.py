"""Typing indicators (R23): one side of a chat told that the other is typing, never kept.

An indicator is a notice on the chat's topic, not a journal event: it is not committed,
numbered or stored, so no recording can hold it (R23), and a client that misses one
loses nothing: the next says the same, and clients drop an indicator that is not
renewed within :data:`TYPING_TTL_SECONDS`.  The customer's draft travels only where
the company turns the preview on, masked before anyone sees it, as a message is (R22).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatrec.errors import ConflictError
from chatrec.live.registry import LiveChat
from chatrec.services.open_chats import require_in_chat
from chatrec.store.records import ChatStatus, UserRecord

TYPING_TTL_SECONDS = 6.0
"""Clients drop an indicator not renewed within this; theirs renew it every few seconds."""

RELAY_EVERY_SECONDS = 0.5
"""A connection's "typing" notices relayed at most this often per chat; a stop always is."""


@dataclass
class TypingThrottle:
    """One connection's last relayed indicator per chat, so that a client sending one per
    keystroke costs the other side at most one notice per :data:`RELAY_EVERY_SECONDS`."""

    every: float = RELAY_EVERY_SECONDS
    _last: dict[str, tuple[float, bool]] = field(default_factory=dict)

    def admits(self, chat_id: str, active: bool, now: float) -> bool:
        """Whether to relay this indicator; a stop is relayed once, after a start."""
        last = self._last.get(chat_id)
        if not active:
            admitted = last is not None and last[1]
        else:
            admitted = last is None or not last[1] or now - last[0] >= self.every
        if admitted:
            self._last[chat_id] = (now, active)
        return admitted


def _check_open(chat: LiveChat) -> None:
    if chat.record.status is ChatStatus.ENDED:
        raise ConflictError("this chat has ended")


def customer_typing(chat: LiveChat, active: bool, draft: str | None) -> dict[str, Any]:
    """The notice of the customer typing; the draft only with the company's preview on,
    masked (R22), and never while stopped."""
    _check_open(chat)
    typing: dict[str, Any] = {"by": "customer", "name": None, "user_id": None, "active": active}
    if active and draft and chat.company.typing_preview:
        typing["draft"] = chat.company.masking.mask(draft).text
    return {"chat_id": chat.chat_id, "typing": typing}


def staff_typing(chat: LiveChat, user: UserRecord, active: bool) -> dict[str, Any]:
    """The notice of a staff member typing in a chat they are in."""
    _check_open(chat)
    require_in_chat(chat, user)
    typing = {"by": user.role.value, "name": user.name, "user_id": user.user_id, "active": active}
    return {"chat_id": chat.chat_id, "typing": typing}


def typing_frame(notice: dict[str, Any], *, staff: bool) -> dict[str, Any]:
    """The frame a client gets; customers never see staff ids or a draft."""
    typing = notice["typing"]
    frame = {
        "type": "typing",
        "chat_id": notice["chat_id"],
        "by": typing["by"],
        "name": typing["name"],
        "active": typing["active"],
    }
    if staff:
        frame["user_id"] = typing["user_id"]
        if "draft" in typing:
            frame["draft"] = typing["draft"]
    return frame
