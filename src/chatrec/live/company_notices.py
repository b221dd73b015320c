"""A company's notices handed only to the staff sockets of this node they may concern.

Every chat of a company publishes on the company's topic, and every staff socket of the
company used to listen there: each message cost a call per signed-in staff member, most
of whom follow no such chat (issue 13, ``growth_staff``).  One listener per company on
this node now picks, from indexes, the sockets a notice may concern: the supervisors
(who follow every chat), the sockets that were sent the chat, and the logins in it (or
named by a notice from another node, R20).  Each socket still judges the notice itself
(``web.ws.StaffConnection._concerns``): the indexes only leave out sockets that would
drop it, never one that would keep it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatrec.live.bus import Fanout, company_topic
from chatrec.live.carried import behind, followers_chat
from chatrec.live.registry import LiveChat


class Follower(Protocol):
    """What the index needs of a staff socket."""

    @property
    def user_id(self) -> str: ...

    @property
    def sees_every_chat(self) -> bool:
        """A supervisor's: every chat of the company concerns it."""
        ...

    def hear(self, topic: str, notice: dict[str, Any]) -> None:
        """Take a notice (the socket decides whether it concerns it)."""
        ...


@dataclass
class _Desk:
    """One company's staff sockets on this node, indexed."""

    unsubscribe: Callable[[], None] = lambda: None
    everyone: set[Follower] = field(default_factory=set)
    supervisors: set[Follower] = field(default_factory=set)
    by_user: dict[str, set[Follower]] = field(default_factory=dict)
    by_chat: dict[str, set[Follower]] = field(default_factory=dict)
    chats_of: dict[Follower, set[str]] = field(default_factory=dict)

    def saw(self, follower: Follower, chat_id: str) -> None:
        self.by_chat.setdefault(chat_id, set()).add(follower)
        self.chats_of.setdefault(follower, set()).add(chat_id)


def _drop(index: dict[str, set[Follower]], key: str, follower: Follower) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(follower)
        if not members:
            del index[key]


class CompanyNotices:
    """Hands each company's notices to the sockets they may concern (module docstring)."""

    def __init__(self, fanout: Fanout, find: Callable[[str], LiveChat | None]) -> None:
        self._fanout = fanout
        self._find = find
        self._desks: dict[str, _Desk] = {}
        # Notices may be published from a thread (administration): the indexes change
        # on the event loop, so both sides hold the lock and hand out copies.
        self._lock = threading.Lock()

    def join(
        self, company_id: str, follower: Follower, seen: Iterable[str] = ()
    ) -> Callable[[], None]:
        """Hand ``follower`` its company's notices (``seen``: chats it was already sent)
        until the returned function is called."""
        with self._lock:
            desk = self._desks.get(company_id)
            subscribe = desk is None
            if desk is None:
                desk = self._desks[company_id] = _Desk()
            desk.everyone.add(follower)
            if follower.sees_every_chat:
                desk.supervisors.add(follower)
            desk.by_user.setdefault(follower.user_id, set()).add(follower)
            for chat_id in seen:
                desk.saw(follower, chat_id)
        if subscribe:
            topic = company_topic(company_id)
            desk.unsubscribe = self._fanout.subscribe(topic, self._listener(company_id))

        def leave() -> None:
            with self._lock:
                desk.everyone.discard(follower)
                desk.supervisors.discard(follower)
                _drop(desk.by_user, follower.user_id, follower)
                for chat_id in desk.chats_of.pop(follower, ()):
                    _drop(desk.by_chat, chat_id, follower)
                last = not desk.everyone and self._desks.get(company_id) is desk
                if last:
                    del self._desks[company_id]
            if last:
                desk.unsubscribe()

        return leave

    def saw(self, company_id: str, follower: Follower, chat_id: str) -> None:
        """The socket was sent the chat: its notices concern it from now on."""
        with self._lock:
            desk = self._desks.get(company_id)
            if desk is not None and follower in desk.everyone:
                desk.saw(follower, chat_id)

    def forgot(self, company_id: str, follower: Follower, chat_id: str) -> None:
        """The socket is done with the chat (it left it, or the chat went elsewhere)."""
        with self._lock:
            desk = self._desks.get(company_id)
            if desk is not None:
                _drop(desk.by_chat, chat_id, follower)
                desk.chats_of.get(follower, set()).discard(chat_id)

    def _listener(self, company_id: str) -> Callable[[str, dict[str, Any]], None]:
        def hand_out(topic: str, notice: dict[str, Any]) -> None:
            for follower in self._concerned(company_id, notice):
                follower.hear(topic, notice)

        return hand_out

    def _concerned(self, company_id: str, notice: dict[str, Any]) -> Collection[Follower]:
        """Every socket the notice may concern, and perhaps a few it does not."""
        with self._lock:
            desk = self._desks.get(company_id)
            if desk is None:
                return ()
            chat_id = followers_chat(notice)
            if chat_id is None:
                return list(desk.everyone)
            chat = self._find(chat_id)
            staff = notice.get("staff")
            if behind(chat, notice) and not isinstance(staff, list):
                return list(desk.everyone)  # who is in it is not known here
            users = {u for u in staff if isinstance(u, str)} if isinstance(staff, list) else set()
            if chat is not None:
                users.update(chat.present())
            found = set(desk.supervisors)
            found.update(desk.by_chat.get(chat_id, ()))
            for user_id in users:
                found.update(desk.by_user.get(user_id, ()))
            return found
