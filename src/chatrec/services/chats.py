"""The live chat use cases: every change to a chat goes through here.

Each action takes the chat's lock, checks who may do it, lets the domain and the flow
say which journal events follow, commits them (one group commit with other chats'
changes), and only then updates memory and publishes a notice (save, then publish).
A refused action raises an :class:`~chatrec.errors.ActionError` and changes nothing.

Memory and commits live in ``services.open_chats``, routing and presence in
``services.routing``, the end's recordings and names in ``services.endings``; what is
left here, the actions of customers and staff, is one list of what a chat allows.

Its length is that list's: kept together, every action's checks can be read side by side.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chatrec.domain.journal import (
    CUSTOMER,
    Actor,
    ChatEnded,
    ChatRole,
    ChatStarted,
    DeletePressed,
    DeletionRequested,
    Event,
    FlaggedAbusive,
    MessagePosted,
    ParticipantLeft,
    RecordingPaused,
    RecordingResumed,
    SupervisorJoined,
    Transferred,
)
from chatrec.domain.roles import LoginRole
from chatrec.errors import (
    ChatFullError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from chatrec.flows import FlowState, answer_flow, start_flow
from chatrec.live.bus import user_topic
from chatrec.live.registry import LiveChat
from chatrec.live.routing import Availability
from chatrec.services.directory import company_settings, user_login
from chatrec.services.open_chats import staff_actor
from chatrec.services.routing import ChatRouting
from chatrec.services.token_hash import hash_token
from chatrec.store.records import (
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    QueueRecord,
    ServiceRecord,
    UserRecord,
)

log = logging.getLogger(__name__)

RECORDING_ACTIONS: dict[type[Event], str] = {
    RecordingPaused: "pause",
    RecordingResumed: "resume",
    DeletePressed: "delete_recording",
    FlaggedAbusive: "flag_abusive",
}


def _key(company: CompanyRecord) -> bytes:
    """The company's sampling key (R7); its id only for a company created without one."""
    return company.sampling_key or company.company_id.encode()


def _unavailable(user: UserRecord, availability: Availability) -> str | None:
    """Why the agent cannot take a chat now, as a sentence naming them; None if they can."""
    match availability.reason:
        case "away":
            return f"{user.name} is away"
        case "offline":
            return f"{user.name} is not connected"
        case "full":
            return (
                f"{user.name} has no free chat slot "
                f"({availability.open_chats} of {availability.capacity} chats)"
            )
    return None


# Seconds a customer is asked to wait when their company has as many open chats as it may.
COMPANY_FULL_RETRY_AFTER = 30


@dataclass(frozen=True, slots=True)
class Started:
    chat: ChatRecord
    token: str


class ChatService(ChatRouting):
    """Use cases of live chats for one node: the customer's and the staff's actions."""

    async def recover(self) -> int:
        """Rebuild every open chat from the store after a start or a crash."""
        for record in await self._run(self.store.open_chats):
            company = await self.company(record.company_id)
            events = await self._run(self.store.load_journal, record.chat_id, 0)
            chat = LiveChat(record, list(events), company_settings(company), _key(company))
            if record.flow_id is not None:
                found = await self._flow(record.flow_id, record.flow_version)
                chat.flow = found[0] if found else None
            if record.flow_state is not None:
                chat.flow_state = FlowState.from_dict(record.flow_state)
            self._chats[record.chat_id] = chat
            if record.status is ChatStatus.QUEUED and record.queue_id:
                self.router.enqueue(record.company_id, record.queue_id, record.chat_id)
            for user_id in chat.present_agents():
                user = await self._run(self.store.get_user, user_id)
                if user is not None:
                    self.router.agent(user.user_id, user.company_id, user.capacity)
                    self.router.holds(user_id, record.chat_id)
        await self._recover_presence()
        return len(self._chats)

    # -- the customer --------------------------------------------------------------

    def _check_company_room(self, company_id: str) -> None:
        """Refuse a chat beyond the company's open chats on this node (429, not stored)."""
        open_now = sum(1 for c in self._chats.values() if c.record.company_id == company_id)
        limit = self.limits.open_chats_per_company
        if open_now + self._starting[company_id] >= limit:
            raise RateLimitedError(
                f"this company has as many chats open as it may ({limit}); "
                f"try again in {COMPANY_FULL_RETRY_AFTER} seconds",
                COMPANY_FULL_RETRY_AFTER,
            )

    def _check_chat_room(self, chat: LiveChat, text: str = "") -> None:
        """Refuse what would grow a chat beyond its events or message bytes (nothing stored).

        Staff actions on the recording (pause, delete, flag) and the end are never
        refused: a full chat can still be handled and ended.
        """
        limits = self.limits
        if chat.record.last_seq >= limits.events_per_chat:
            raise ChatFullError(
                f"this chat holds its limit of {limits.events_per_chat} events; "
                "end it and start a new chat"
            )
        if chat.text_bytes + len(text.encode()) > limits.bytes_per_chat:
            raise ChatFullError(
                f"this chat holds its limit of {limits.bytes_per_chat} bytes of messages; "
                "end it and start a new chat"
            )

    async def start_chat(self, service_id: str) -> Started:
        service = await self._run(self.store.get_service, service_id)
        if service is None:
            raise NotFoundError(f"no service {service_id!r}")
        company_id = service.company_id
        self._check_company_room(company_id)
        self._starting[company_id] += 1
        try:
            return await self._start_chat(service)
        finally:
            self._starting[company_id] -= 1
            if not self._starting[company_id]:
                del self._starting[company_id]

    async def _start_chat(self, service: ServiceRecord) -> Started:
        company = await self.company(service.company_id)
        token = secrets.token_urlsafe(32)
        chat_id = secrets.token_hex(6)
        now = self._now()
        flow_found = await self._flow(service.flow_id, None) if service.flow_id else None
        record = ChatRecord(
            chat_id=chat_id,
            company_id=company.company_id,
            service_id=service.service_id,
            token_hash=hash_token(token),
            status=ChatStatus.FLOW,
            started_at=now,
            last_activity_at=now,
            flow_id=service.flow_id if flow_found else None,
            flow_version=flow_found[1] if flow_found else None,
        )
        chat = LiveChat(record, [], company_settings(company), _key(company))
        started = ChatStarted(
            at=now,
            actor=CUSTOMER,
            chat_id=chat_id,
            company_id=company.company_id,
            service=service.name,
            flow_id=record.flow_id,
            flow_version=record.flow_version,
        )
        events: list[Event] = [started]
        if flow_found is not None:
            chat.flow = flow_found[0]
            state, flow_events = start_flow(chat.flow, at=now)
            chat.flow_state = state
            events += flow_events
        async with chat.lock:
            self._chats[chat_id] = chat
            try:
                await self._commit(chat, events, new=True)
            except BaseException:
                del self._chats[chat_id]
                raise
            await self._after_flow(chat)
        await self._dispatch(company.company_id)
        return Started(chat.record, token)

    async def customer_says(self, chat: LiveChat, text: str) -> int:
        async with chat.lock:
            self._check_open(chat)
            self._check_chat_room(chat, text)
            now = self._now(chat)
            events: list[Event] = [MessagePosted(at=now, actor=CUSTOMER, text=text)]
            answered: FlowState | None = None
            flow, state = chat.flow, chat.flow_state
            if flow is not None and state is not None and state.waiting_for is not None:
                answered, flow_events = answer_flow(flow, state, text, at=now)
                events += flow_events
            # The flow moves on in memory only once its answer is committed: a failed
            # commit (R19) leaves the question open for the customer to answer again.
            if answered is None:
                seq = await self._commit(chat, events)
            else:
                seq = await self._commit(chat, events, flow_state=answered.to_dict())
                chat.flow_state = answered
                await self._after_flow(chat)
        await self._dispatch(chat.record.company_id)
        return seq

    async def customer_requests_deletion(self, chat: LiveChat) -> int:
        """R9: the request is journaled and shown to the agent; it deletes nothing itself."""
        async with chat.lock:
            self._check_open(chat)
            self._check_chat_room(chat)
            return await self._commit(chat, [DeletionRequested(at=self._now(chat), actor=CUSTOMER)])

    async def customer_ends(self, chat: LiveChat) -> int:
        async with chat.lock:
            self._check_open(chat)
            seq = await self._end(chat, CUSTOMER, "customer ended")
        await self._dispatch(chat.record.company_id)  # the freed agent takes the next chat
        return seq

    # -- staff ----------------------------------------------------------------------

    def _check_open(self, chat: LiveChat) -> None:
        if chat.record.status is ChatStatus.ENDED or chat.chat_id not in self._chats:
            raise ConflictError("this chat has ended")

    def _in_chat(self, chat: LiveChat, user: UserRecord) -> Actor:
        actor = staff_actor(user)
        if user.user_id not in chat.present():
            raise PermissionDeniedError(
                f"{user.name} is not in chat {chat.chat_id}; "
                "join it (supervisors) or have it assigned first"
            )
        return actor

    async def staff_says(self, user: UserRecord, chat: LiveChat, text: str) -> int:
        async with chat.lock:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            self._check_chat_room(chat, text)
            return await self._commit(
                chat, [MessagePosted(at=self._now(chat), actor=actor, text=text)]
            )

    async def recording_action(self, user: UserRecord, chat: LiveChat, kind: type[Event]) -> int:
        """Pause, Resume, Delete recording or Flag abusive (R8, R9, R11), audited."""
        async with chat.lock:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            if kind is RecordingPaused and chat.paused:
                raise ConflictError("recording is already paused")
            if kind is RecordingResumed and not chat.paused:
                raise ConflictError("recording is not paused")
            if kind is FlaggedAbusive and chat.journal.of_type(FlaggedAbusive):
                raise ConflictError("the chat is already flagged abusive")
            now = self._now(chat)
            event = kind(at=now, actor=actor)
            audit = self._audit(chat, user, RECORDING_ACTIONS[kind], now)
            return await self._commit(chat, [event], audit=[audit])

    async def join(self, user: UserRecord, chat: LiveChat) -> int:
        """A supervisor joins and is from now on involved (R12a)."""
        if user.role is not LoginRole.SUPERVISOR:
            raise PermissionDeniedError("only supervisors join chats they were not assigned")
        async with chat.lock:
            self._check_open(chat)
            if user.user_id in chat.present():
                raise ConflictError(f"{user.name} is already in the chat")
            login = user_login(user)
            event = SupervisorJoined(
                at=self._now(chat), actor=staff_actor(user), settings=login.snapshot()
            )
            return await self._commit(chat, [event])

    async def leave(self, user: UserRecord, chat: LiveChat) -> int:
        """Leave; if no agent remains, the chat goes back to its queue (never abandoned)."""
        async with chat.lock:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            now = self._now(chat)
            fields: dict[str, Any] = {}
            if actor.role is ChatRole.AGENT and set(chat.present_agents()) == {user.user_id}:
                fields["status"] = ChatStatus.QUEUED
            seq = await self._commit(chat, [ParticipantLeft(at=now, actor=actor)], **fields)
            self.router.release(user.user_id, chat.chat_id, self._monotonic())
            if fields and chat.record.queue_id:
                self.router.enqueue(chat.record.company_id, chat.record.queue_id, chat.chat_id)
        await self._dispatch(chat.record.company_id)
        return seq

    async def staff_ends(self, user: UserRecord, chat: LiveChat) -> int:
        async with chat.lock:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            others = set(chat.present_agents()) - {user.user_id}
            if others:
                raise ConflictError(
                    "other agents are still in the chat: leave it, or the last agent ends it"
                )
            seq = await self._end(chat, actor, f"ended by {actor.role.value}")
        await self._dispatch(chat.record.company_id)
        return seq

    async def transfer(
        self,
        user: UserRecord,
        chat: LiveChat,
        *,
        to_agent: str | None = None,
        to_queue: str | None = None,
    ) -> int:
        if (to_agent is None) == (to_queue is None):
            raise ConflictError("transfer to exactly one agent or one queue")
        target_user = await self._run(self.store.get_user, to_agent) if to_agent else None
        target_queue = await self._run(self.store.get_queue, to_queue) if to_queue else None
        async with chat.lock:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            now = self._now(chat)
            if to_agent is not None:
                seq = await self._transfer_to_agent(chat, actor, target_user, now)
            else:
                seq = await self._transfer_to_queue(chat, actor, target_queue, now)
        await self._dispatch(chat.record.company_id)
        return seq

    async def _transfer_to_agent(
        self, chat: LiveChat, actor: Actor, target: UserRecord | None, now: datetime
    ) -> int:
        if target is None or target.company_id != chat.record.company_id or target.disabled:
            raise NotFoundError("no such agent in this company")
        if target.role is not LoginRole.AGENT:
            raise ConflictError(f"{target.name} is not an agent")
        if target.user_id in chat.present():
            raise ConflictError(f"{target.name} is already in the chat")
        why = _unavailable(target, self.availability(target))
        if why is not None:
            raise ConflictError(f"{why}; transfer to a queue or to another agent instead")
        target_actor = staff_actor(target)
        joined, drawn = self._assignment(chat, target, now, queue=None, by_transfer=True)
        events = [Transferred(at=now, actor=actor, to_agent=target_actor), joined]
        seq = await self._commit(chat, events, audit=[drawn], status=ChatStatus.ACTIVE)
        if actor.role is ChatRole.AGENT and actor.user_id:
            self.router.release(actor.user_id, chat.chat_id, self._monotonic())
        self.router.holds(target.user_id, chat.chat_id)
        self.fanout.publish(user_topic(target.user_id), {"assigned": chat.chat_id})
        return seq

    async def _transfer_to_queue(
        self, chat: LiveChat, actor: Actor, queue: QueueRecord | None, now: datetime
    ) -> int:
        if queue is None or queue.company_id != chat.record.company_id:
            raise NotFoundError("no such queue in this company")
        events: list[Event] = [Transferred(at=now, actor=actor, to_queue=queue.name)]
        if actor.role is ChatRole.SUPERVISOR:
            events.append(ParticipantLeft(at=now, actor=actor))
        for agent in chat.present_agents().values():
            if agent != actor:
                events.append(ParticipantLeft(at=now, actor=agent))
        seq = await self._commit(chat, events, status=ChatStatus.QUEUED, queue_id=queue.queue_id)
        for user_id in chat.present_agents() | ({actor.user_id: actor} if actor.user_id else {}):
            self.router.release(user_id, chat.chat_id, self._monotonic())
        self.router.enqueue(chat.record.company_id, queue.queue_id, chat.chat_id)
        return seq

    async def _after_flow(self, chat: LiveChat) -> None:
        """Act on where the flow left the chat: queue it or end it (call under the lock)."""
        state = chat.flow_state
        if state is None and chat.flow is None and chat.record.status is ChatStatus.FLOW:
            await self._queue(chat, None)
        elif state is not None and state.ended:
            await self._end(chat, Actor(ChatRole.FLOW, "Chat flow"), "ended by the chat flow")
        elif state is not None and state.routed_to and chat.record.status is ChatStatus.FLOW:
            await self._queue(chat, state.routed_to)

    async def _queue(self, chat: LiveChat, queue_name: str | None) -> None:
        queues = await self._run(self.store.list_queues, chat.record.company_id)
        chosen = next((q for q in queues if q.name == queue_name), None)
        if chosen is None and queues:
            if queue_name is not None:
                log.warning("flow routes to unknown queue %r; using %r", queue_name, queues[0].name)
            chosen = queues[0]
        if chosen is None:
            log.error(
                "company %s has no queue: chat %s waits", chat.record.company_id, chat.chat_id
            )
            return
        await self._commit(chat, [], status=ChatStatus.QUEUED, queue_id=chosen.queue_id)
        self.router.enqueue(chat.record.company_id, chosen.queue_id, chat.chat_id)

    # -- the end ----------------------------------------------------------------------

    async def _end(self, chat: LiveChat, actor: Actor, reason: str) -> int:
        """End the chat; decide and spool its recordings in the same commit (R12-R15)."""
        now = self._now(chat)
        ended = ChatEnded(at=now, actor=actor, reason=reason)
        record, recordings = await self.endings.settle(chat, ended)
        first = record.last_seq
        chat.record = record
        chat.events.append((first, ended))
        del self._chats[chat.chat_id]
        self.router.withdraw(chat.chat_id)
        for user_id in chat.present_agents():
            self.router.release(user_id, chat.chat_id, self._monotonic())
        self._publish(chat)
        if self._on_recordings is not None and any(r.files for r in recordings):
            self._on_recordings()
        return first

    async def sweep(self) -> int:
        """End chats idle longer than the inactivity timeout; returns how many."""
        cutoff = self._clock() - self.inactivity_timeout
        ended = 0
        for chat in list(self._chats.values()):
            if chat.record.last_activity_at < cutoff:
                async with chat.lock:
                    if chat.chat_id in self._chats and chat.record.last_activity_at < cutoff:
                        await self._end(
                            chat, Actor(ChatRole.SYSTEM, "System"), "inactivity timeout"
                        )
                        ended += 1
                await self._dispatch(chat.record.company_id)
        return ended
