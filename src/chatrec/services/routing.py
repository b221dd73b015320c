"""Routing and presence: which agent takes which waiting chat, and who is Available.

An agent is offered chats while Available (their own choice, kept in the store: see
``services.presence``) and connected, longest idle first (``live.routing``); each join
is drawn for sampling and audited with the join (R7, R12a).
"""

from __future__ import annotations

import logging
from datetime import datetime

from chatrec.domain.journal import AgentAssigned
from chatrec.domain.roles import LoginRole
from chatrec.domain.sampling import draw_sample
from chatrec.errors import PermissionDeniedError
from chatrec.live.bus import user_topic
from chatrec.live.registry import LiveChat
from chatrec.live.routing import Availability, Match
from chatrec.services.directory import user_login
from chatrec.services.open_chats import OpenChats, staff_actor
from chatrec.services.presence import presence_view
from chatrec.store.records import (
    AuditRecord,
    ChatStatus,
    PresenceCause,
    PresenceRecord,
    UserRecord,
)

log = logging.getLogger(__name__)


class ChatRouting(OpenChats):
    """Presence and routing of one node's agents over its open chats."""

    async def _recover_presence(self) -> None:
        """Available agents stay so across a restart; their idle time counts from the start."""
        for presence in await self._run(self.presences.available_agents):
            user = await self._run(self.store.get_user, presence.user_id)
            if user is not None and user.role is LoginRole.AGENT:
                slot = self.router.agent(user.user_id, user.company_id, user.capacity)
                self.router.set_available(slot, True, self._monotonic())
                self._last_active[user.user_id] = self._monotonic()

    def _assignment(
        self,
        chat: LiveChat,
        user: UserRecord,
        now: datetime,
        *,
        queue: str | None,
        by_transfer: bool,
    ) -> tuple[AgentAssigned, AuditRecord]:
        """The join of an agent with their settings and sampling draw as of now (R7, R12a),
        and the draw's audit line, to be committed with the join."""
        login = user_login(user)
        joined = AgentAssigned(
            at=now,
            actor=staff_actor(user),
            settings=login.snapshot(),
            draw=draw_sample(
                chat.sampling_key, chat.chat_id, user.user_id, login.record_percentage
            ),
            queue=queue,
            by_transfer=by_transfer,
        )
        return joined, self._draw_audit(chat, user, joined)

    def _draw_audit(self, chat: LiveChat, user: UserRecord, joined: AgentAssigned) -> AuditRecord:
        """R7 asks for every draw in the chat's audit trail, not only in its journal: an
        administrator reads there why an agent's recording exists or not."""
        draw = joined.draw
        return AuditRecord(
            company_id=chat.record.company_id,
            at=joined.at,
            actor="system",
            action="sampling_draw",
            chat_id=chat.chat_id,
            detail={
                "target": user.user_id,
                "agent": user.login,
                "record_percentage": draw.percentage,
                "draw": draw.value,
                "fraction": round(draw.fraction, 4),
                "sampled_in": draw.sampled_in,
                "by_transfer": joined.by_transfer,
            },
        )

    # -- presence and routing ----------------------------------------------------

    async def staff_connected(
        self, user: UserRecord, *, takes_chats: bool = True
    ) -> PresenceRecord | None:
        """Count the connection; an Available agent is offered chats again at once.

        A connection that only reads (``takes_chats`` false: a read-only API token) is not
        counted: routing must not offer chats to someone who cannot answer them.
        Returns an agent's chosen presence (``None``: never chosen, so Away).
        """
        if user.role is not LoginRole.AGENT:
            return None
        presence = await self._run(self.presences.get_presence, user.user_id)
        if not takes_chats:
            return presence
        self._connections[user.user_id] += 1
        slot = self.router.agent(user.user_id, user.company_id, user.capacity)
        available = presence is not None and presence.available
        self.router.set_available(slot, available, self._monotonic())
        self.router.set_online(slot, True)
        self._last_active.setdefault(user.user_id, self._monotonic())
        if slot.has_room:
            await self._dispatch(user.company_id)
        return presence

    async def staff_disconnected(self, user: UserRecord, *, takes_chats: bool = True) -> None:
        """The last connection closing takes an agent offline, never Away: a reload or a
        dropped network keeps their choice, and they get chats again once back."""
        if user.role is not LoginRole.AGENT or not takes_chats:
            return
        self._connections[user.user_id] -= 1
        if self._connections[user.user_id] <= 0:
            del self._connections[user.user_id]
            slot = self.router.agent(user.user_id, user.company_id, user.capacity)
            self.router.set_online(slot, False)

    async def set_presence(
        self, user: UserRecord, available: bool, cause: PresenceCause = PresenceCause.AGENT
    ) -> PresenceRecord:
        """Keep the agent's presence and tell every connection of theirs who changed it."""
        if user.role is not LoginRole.AGENT:
            raise PermissionDeniedError("only agents take chats from queues")
        presence = PresenceRecord(user.user_id, available, cause, self._clock())
        async with self._presence_changes:
            await self._run(self.presences.set_presence, presence)
            slot = self.router.agent(user.user_id, user.company_id, user.capacity)
            self.router.set_available(slot, available, self._monotonic())
        if cause is PresenceCause.AGENT:
            self.agent_active(user)
        self.fanout.publish(user_topic(user.user_id), {"presence": presence_view(presence)})
        if available:
            await self._dispatch(user.company_id)
        return presence

    def agent_active(self, user: UserRecord) -> None:
        """The agent used the portal: their idle time starts again."""
        self._last_active[user.user_id] = self._monotonic()

    async def logged_out(self, user: UserRecord) -> None:
        """An agent who logs out while Available is set Away (their windows are told)."""
        if user.role is not LoginRole.AGENT:
            return
        presence = await self._run(self.presences.get_presence, user.user_id)
        if presence is not None and presence.available:
            await self.set_presence(user, False, PresenceCause.LOGOUT)

    async def expire_idle_presence(self) -> int:
        """Set Away each Available agent idle for the idle timeout; returns how many."""
        if self.idle_timeout is None:
            return 0
        limit = self.idle_timeout.total_seconds()

        def idle(user_id: str) -> bool:
            now = self._monotonic()
            return now - self._last_active.setdefault(user_id, now) >= limit

        expired = 0
        for user_id in filter(idle, self.router.available_agents()):
            user = await self._run(self.store.get_user, user_id)
            # Looked again after the read: the agent may have come back or chosen meanwhile.
            if user is None or not idle(user_id) or not self.availability(user).available:
                continue
            await self.set_presence(user, False, PresenceCause.IDLE_TIMEOUT)
            expired += 1
        return expired

    def availability(self, user: UserRecord) -> Availability:
        """Whether the agent can take one more chat now (transfers), and why not."""
        return self.router.availability(user.user_id, user.capacity)

    async def _dispatch(self, company_id: str) -> None:
        """Give waiting chats to free agents, longest idle first.

        Routing's memory may hold an agent whose login was disabled, deleted or given
        another role since (by the command line, or another node): checked against the
        store, such an agent is taken out of routing and the chat offered to the next.
        """
        while True:
            refused = await self._assign(company_id)
            if not refused:
                return
            self.router.refuse(company_id, refused, self._monotonic())

    async def _assign(self, company_id: str) -> list[Match]:
        """Assign what routing matches; the matches refused for who the agent is now."""
        refused: list[Match] = []
        for match in self.router.match(company_id, self._monotonic()):
            chat = self._chats.get(match.chat_id)
            user = await self._run(self.store.get_user, match.user_id)
            if chat is None:
                self.router.release(match.user_id, match.chat_id, self._monotonic())
                continue
            if user is None or user.disabled or user.role is not LoginRole.AGENT:
                refused.append(match)
                continue
            async with chat.lock:
                if chat.record.status is not ChatStatus.QUEUED:
                    self.router.release(match.user_id, match.chat_id, self._monotonic())
                    continue
                queue = await self._run(self.store.get_queue, match.queue_id)
                joined, drawn = self._assignment(
                    chat,
                    user,
                    self._now(chat),
                    queue=queue.name if queue else None,
                    by_transfer=False,
                )
                try:
                    await self._commit(chat, [joined], audit=[drawn], status=ChatStatus.ACTIVE)
                except Exception:
                    log.exception("assigning chat %s to %s failed", chat.chat_id, user.user_id)
                    self.router.release(match.user_id, match.chat_id, self._monotonic())
                    self.router.enqueue(company_id, match.queue_id, match.chat_id)
                    continue
            self.fanout.publish(user_topic(user.user_id), {"assigned": chat.chat_id})
        return refused
