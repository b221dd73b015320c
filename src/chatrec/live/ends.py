"""The ends of the last chats a node served, kept once the chats are forgotten (issue 13).

Every socket that followed a chat asks for its end as soon as it is told, which found
the chat gone from memory and read the journal back from the store: three reads a chat
in ``chat_lifecycle``.  Only the end is kept, from its ``ChatEnded`` on: what a client
further behind asks for comes from the store, as its purge leaves it (R17).  An ended
chat never opens again, so what is kept never goes stale.
"""

from __future__ import annotations

from collections import OrderedDict

from chatrec.domain.journal import ChatEnded, Event
from chatrec.live.registry import LiveChat

KEPT = 1_000
"""Ends kept; the oldest is forgotten first.  Each is an event or two."""


class ChatEnds:
    """The last ``kept`` ended chats' ends, by chat id, from each one's ``ChatEnded`` on."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._ends: OrderedDict[str, list[tuple[int, Event]]] = OrderedDict()

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._ends

    def keep(self, chat: LiveChat) -> None:
        """Keep the end of ``chat``, which has just ended."""
        for start in range(len(chat.events) - 1, -1, -1):
            if isinstance(chat.events[start][1], ChatEnded):
                self._ends[chat.chat_id] = chat.events[start:]
                break
        while len(self._ends) > self.kept:
            self._ends.popitem(last=False)

    def after(self, chat_id: str, seq: int) -> list[tuple[int, Event]] | None:
        """The kept events numbered above ``seq``; ``None`` unless the end is kept and
        ``seq`` is at most just before it (the caller reads the store)."""
        end = self._ends.get(chat_id)
        if end is None or seq < end[0][0] - 1:
            return None
        return [(number, event) for number, event in end if number > seq]
