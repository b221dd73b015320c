"""Routing and presence: which agent takes which waiting chat, and who is Available.

An agent is offered chats while Available (their own choice, kept in the store: see
``services.presence``) and connected to a live node, longest idle first
(``live.routing``); each join is drawn for sampling and audited with the join (R7,
R12a).  All of it is read from the database the nodes share, never from one node's
memory: any node may give any waiting chat to any agent, and the join's commit refuses
a chat given twice or an agent over capacity (R20).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from chatrec.domain.journal import AgentAssigned
from chatrec.domain.presence import AwayReason
from chatrec.domain.roles import LoginRole
from chatrec.domain.sampling import draw_sample
from chatrec.errors import (
    AgentFullError,
    InvalidRequestError,
    PermissionDeniedError,
    StoreError,
)
from chatrec.live.bus import user_topic
from chatrec.live.registry import LiveChat
from chatrec.live.routing import Availability, Match, pair
from chatrec.services.directory import staff_actor, user_login
from chatrec.services.open_chats import OpenChats
from chatrec.services.presence import presence_view
from chatrec.store.records import (
    AgentClaim,
    AgentLoad,
    AuditRecord,
    ChatStatus,
    PresenceCause,
    PresenceRecord,
    UserRecord,
)

log = logging.getLogger(__name__)

DISPATCH_BATCH = 50
"""Waiting chats read per round of a dispatch: more than agents free at once, usually."""

DISPATCH_ROUNDS = 20
"""Rounds of one dispatch before it yields; the periodic sweep offers the rest."""

DISPATCH_TRIES = 4
"""Readings of the queue by one dispatch whose pairings other nodes took first (R20)."""

ACTIVE_EVERY = 0.1
"""Share of the idle timeout after which an agent's use of the portal is written again."""


class ChatRouting(OpenChats):
    """Presence and routing of the agents of every node, over the shared store."""

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
        """Count the connection on this node; an Available agent is offered chats at once.

        A connection that only reads (``takes_chats`` false: a read-only API token) is not
        counted: routing must not offer chats to someone who cannot answer them.
        Returns an agent's chosen presence (``None``: never chosen, so Away).
        """
        if user.role is not LoginRole.AGENT:
            return None
        presence = await self._run(self.presences.get_presence, user.user_id)
        if not takes_chats:
            return presence
        await self._run(
            self.store.count_sockets, user.user_id, user.company_id, self.node_id, 1, self._clock()
        )
        if presence is not None and presence.available:
            await self._dispatch(user.company_id, user.capacity)
        return presence

    async def staff_disconnected(self, user: UserRecord, *, takes_chats: bool = True) -> None:
        """The last connection closing takes an agent offline, never Away: a reload or a
        dropped network keeps their choice, and they get chats again once back."""
        if user.role is not LoginRole.AGENT or not takes_chats:
            return
        await self._run(
            self.store.count_sockets, user.user_id, user.company_id, self.node_id, -1, self._clock()
        )

    async def set_presence(
        self,
        user: UserRecord,
        available: bool,
        cause: PresenceCause = PresenceCause.AGENT,
        reason: AwayReason | None = None,
    ) -> PresenceRecord:
        """Keep the agent's presence, and why Away if they said, and tell every
        connection of theirs who changed it."""
        if user.role is not LoginRole.AGENT:
            raise PermissionDeniedError("only agents take chats from queues")
        if available and reason is not None:
            raise InvalidRequestError("an away reason goes with Away: leave it out to be Available")
        now = self._clock()
        presence = PresenceRecord(user.user_id, available, cause, now, reason)
        async with self._presence_changes:
            before = await self._run(self.presences.get_presence, user.user_id)
            await self._run(self.presences.set_presence, presence)
        became = available and (before is None or not before.available)
        if cause is PresenceCause.AGENT or became:
            # Back to Available with no chat: their wait for the next counts from now.
            idle = became and not (await self._load(user)).open_chats
            await self._run(self.store.agent_active, user.user_id, user.company_id, now, idle)
            self._active_written[user.user_id] = now
            self._last_active[user.user_id] = now
        self.fanout.publish(user_topic(user.user_id), {"presence": presence_view(presence)})
        if available:
            await self._dispatch(user.company_id, user.capacity)
        return presence

    async def agent_active(self, user: UserRecord) -> None:
        """The agent used the portal: their idle time starts again, on every node.

        This node knows it at once; the store, read by the other nodes, at most
        :data:`ACTIVE_EVERY` of the idle timeout late, so an agent's every message does
        not cost a write."""
        if self.idle_timeout is None:
            return
        now = self._clock()
        self._last_active[user.user_id] = now
        written = self._active_written.get(user.user_id)
        if written is not None and now - written < self.idle_timeout * ACTIVE_EVERY:
            return
        self._active_written[user.user_id] = now
        await self._run(self.store.agent_active, user.user_id, user.company_id, now)

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
        cutoff = self._clock() - self.idle_timeout
        expired = 0
        for user_id in await self._run(self.store.idle_available_agents, cutoff):
            if self._last_active.get(user_id, cutoff) > cutoff:
                continue  # active here since the store last heard of it
            user = await self._run(self.store.get_user, user_id)
            if user is None or user.role is not LoginRole.AGENT:
                continue
            # Looked again: the agent may have come back or chosen meanwhile, on any node.
            presence = await self._run(self.presences.get_presence, user_id)
            if presence is None or not presence.available:
                continue
            if ((await self._load(user)).active_at or presence.changed_at) >= cutoff:
                continue
            await self.set_presence(user, False, PresenceCause.IDLE_TIMEOUT)
            expired += 1
        return expired

    async def _load(self, user: UserRecord) -> AgentLoad:
        return await self._run(self.store.agent_load, user.user_id, self.node_id, self.node_lease)

    async def availability(self, user: UserRecord) -> Availability:
        """Whether the agent can take one more chat now (transfers), and why not."""
        presence = await self._run(self.presences.get_presence, user.user_id)
        load = await self._load(user)
        available = presence is not None and presence.available
        return Availability(available, load.online, user.capacity, load.open_chats)

    async def dispatch_waiting(self) -> int:
        """Offer every company's waiting chats (the periodic sweep, a start): a chat
        queued while no agent was free, or whose notice was lost, is given once one is;
        how many.  It runs beside the chats, so it may take as long as there is work."""
        given = 0
        for company_id in await self._run(self.store.companies_waiting):
            for _ in range(DISPATCH_ROUNDS):
                done = await self._dispatch(company_id, DISPATCH_BATCH)
                given += done
                if not done:
                    break
        return given

    async def _dispatch(
        self, company_id: str, limit: int = 1, *, queued: LiveChat | None = None
    ) -> int:
        """Give waiting chats to free agents, longest idle first: at most ``limit``, what
        the action that asks could have made possible (a chat queued: one; an agent
        arriving: their capacity), so that the action's answer never waits on routing a
        whole queue.  The periodic :meth:`dispatch_waiting` gives whatever is left.

        One dispatch per company at a time on this node; another node giving the same
        chat or filling the same agent meanwhile is refused at the commit, and the queue
        is read again: nodes queuing chats together both offer the oldest chat to the
        agent idle longest, and the one refused must not leave its chat to the sweep
        while agents are free (R20).  ``queued``, the chat the action queued, is offered
        first, without reading the queue: the nodes' dispatches then seldom want the same
        chat, and a chat older than it is waiting only if no agent was free for it, or
        its node lost a race and reads the queue again.  It never fails the action that
        asked, which is committed already: a database that fails here is logged, and the
        sweep offers the chats again."""
        lock = self._dispatching.setdefault(company_id, asyncio.Lock())
        async with lock:
            given = 0
            for _ in range(DISPATCH_TRIES):
                try:
                    # The action's chat first, unless a dispatch this one waited for
                    # gave it meanwhile; then, and on later tries, the queue.
                    offered, queued = queued, None
                    if (
                        offered is not None
                        and offered.record.status is ChatStatus.QUEUED
                        and offered.record.queue_id is not None
                    ):
                        waiting = [(offered.chat_id, offered.record.queue_id)]
                    else:
                        waiting = await self._run(
                            self.store.waiting_chats, company_id, limit - given
                        )
                    if not waiting:
                        return given
                    free = await self._run(
                        self.store.free_agents,
                        company_id,
                        self.node_id,
                        self.node_lease,
                        len(waiting),
                    )
                except StoreError as error:
                    log.warning(
                        "routing company %s waits for the next sweep: %s", company_id, error
                    )
                    return given
                matches = pair(waiting, free)
                logins = {agent.user_id: agent.login for agent in free}
                refused = 0
                for match in matches:
                    if await self._assign(match, logins.get(match.user_id)):
                        given += 1
                    else:
                        refused += 1
                if not refused or given >= limit:
                    return given
            return given

    async def _offer(self, chat: LiveChat) -> int:
        """Give the chat an action has just queued, or else what waits (:meth:`_dispatch`)."""
        queued = chat if chat.record.status is ChatStatus.QUEUED else None
        return await self._dispatch(chat.record.company_id, queued=queued)

    async def _assign(self, match: Match, login: UserRecord | None = None) -> bool:
        """Commit one pairing; false if the chat or the agent was taken meanwhile.
        ``login``: the agent as the free agents were read, else read now."""
        try:
            chat = await self.ensure(match.chat_id)
            user = login or await self._run(self.store.get_user, match.user_id)
        except StoreError as error:
            log.warning("chat %s waits for the next sweep: %s", match.chat_id, error)
            return False
        if chat is None or user is None or user.disabled or user.role is not LoginRole.AGENT:
            return False

        async def act() -> bool:
            if chat.record.status is not ChatStatus.QUEUED:
                return False  # given by another node, or ended
            queue = await self._run(self.store.get_queue, match.queue_id)
            joined, drawn = self._assignment(
                chat,
                user,
                self._now(chat),
                queue=queue.name if queue else None,
                by_transfer=False,
            )
            await self._commit(
                chat,
                [joined],
                audit=[drawn],
                claim=AgentClaim(user.user_id, user.capacity),
                status=ChatStatus.ACTIVE,
                queued_at=None,
            )
            return True

        try:
            assigned = await self._acting(chat, act)
        except AgentFullError:
            return False  # another node filled the agent's last slot first
        except Exception:
            log.exception("assigning chat %s to %s failed", chat.chat_id, user.user_id)
            return False
        if assigned:
            notice = {"assigned": chat.chat_id, "seq": chat.record.last_seq}
            self.fanout.publish(user_topic(user.user_id), notice)
        return assigned
