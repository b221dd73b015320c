"""The live chat use cases: every change to a chat goes through here.

Each action takes the chat's lock, checks who may do it, lets the domain and the flow
say which journal events follow, commits them (one group commit with other chats'
changes), and only then updates memory and publishes a notice (save, then publish).
A refused action raises an :class:`~chatrec.errors.ActionError` and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from chatrec.domain.journal import (
    CUSTOMER,
    Actor,
    AgentAssigned,
    ChatEnded,
    ChatStarted,
    DeletePressed,
    DeletionRequested,
    Event,
    FlaggedAbusive,
    Journal,
    MessagePosted,
    ParticipantLeft,
    RecordingPaused,
    RecordingResumed,
    Role,
    SupervisorJoined,
    Transferred,
)
from chatrec.domain.sampling import draw_sample
from chatrec.errors import (
    AuthenticationError,
    BaseNameTakenError,
    ChatFullError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from chatrec.flows import Flow, FlowState, answer_flow, load_flow, start_flow
from chatrec.live.bus import Fanout, chat_topic, company_topic, user_topic
from chatrec.live.registry import LiveChat
from chatrec.live.routing import Availability, Match, Router
from chatrec.services.directory import company_settings, user_login
from chatrec.services.presence import PresenceStore, presence_view
from chatrec.services.recordings import (
    NameReservations,
    clashing,
    plan_recordings,
    spool_recordings,
    unspool,
)
from chatrec.store.records import (
    AuditRecord,
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    PresenceCause,
    PresenceRecord,
    QueueRecord,
    RecordingRecord,
    ServiceRecord,
    UserRecord,
)
from chatrec.store.store import Store
from chatrec.store.writer import GroupCommitter

log = logging.getLogger(__name__)
T = TypeVar("T")

STAFF_ROLES = {"agent": Role.AGENT, "supervisor": Role.SUPERVISOR}
# Times a chat's end chooses its names before a clash with another node's is given up.
NAMING_ATTEMPTS = 3
RECORDING_ACTIONS: dict[type[Event], str] = {
    RecordingPaused: "pause",
    RecordingResumed: "resume",
    DeletePressed: "delete_recording",
    FlaggedAbusive: "flag_abusive",
}


def hash_token(token: str) -> str:
    """Tokens are stored only as SHA-256: a database leak opens no chat (R18)."""
    return hashlib.sha256(token.encode()).hexdigest()


def staff_actor(user: UserRecord) -> Actor:
    role = STAFF_ROLES.get(user.role)
    if role is None:
        raise PermissionDeniedError(f"a {user.role} login does not take part in chats")
    return Actor(role, user.name, user.user_id)


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
class ChatLimits:
    """What anonymous customers may take of one node (R19): each bounds memory and work.

    ``token_grace`` is how long a chat token still opens its chat after the end, so a
    customer whose connection dropped at the end still sees it; then it opens nothing.
    """

    open_chats_per_company: int = 1000
    events_per_chat: int = 2000
    bytes_per_chat: int = 262_144
    token_grace: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Started:
    chat: ChatRecord
    token: str


class ChatService:
    """Use cases of live chats for one node; state lives in the store, cached here."""

    def __init__(
        self,
        store: Store,
        committer: GroupCommitter,
        fanout: Fanout,
        *,
        presences: PresenceStore,
        spool_dir: Path,
        inactivity_timeout: timedelta,
        idle_timeout: timedelta | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] | None = None,
        on_recordings: Callable[[], None] | None = None,
        limits: ChatLimits | None = None,
    ) -> None:
        self.store = store
        self.limits = limits or ChatLimits()
        self.committer = committer
        self.fanout = fanout
        self.router = Router()
        self.spool_dir = spool_dir
        self.inactivity_timeout = inactivity_timeout
        self.presences = presences
        # An Available agent idle this long is set Away (None: never).
        self.idle_timeout = idle_timeout
        self._last_active: dict[str, float] = {}
        # One presence change at a time: the store and routing agree on the last one.
        self._presence_changes = asyncio.Lock()
        self._clock = clock
        self._monotonic = monotonic or (lambda: self._clock().timestamp())
        self._chats: dict[str, LiveChat] = {}
        # Chats being started, per company: counted with the open ones against the limit.
        self._starting: Counter[str] = Counter()
        self._flows: dict[tuple[str, int], Flow] = {}
        self._connections: Counter[str] = Counter()
        self._endings: dict[str, asyncio.Lock] = {}
        self._ending_names = NameReservations()
        # Called once a chat's end with produced files commits: the outbox has work (R16).
        self._on_recordings = on_recordings

    # -- reading -----------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(function, *args)

    async def company(self, company_id: str) -> CompanyRecord:
        record = await self._run(self.store.get_company, company_id)
        if record is None:
            raise NotFoundError(f"no company {company_id!r}")
        return record

    async def _flow(self, flow_id: str, version: int | None) -> tuple[Flow, int] | None:
        stored = await self._run(self.store.get_flow, flow_id, version)
        if stored is None:
            return None
        key = (stored.flow_id, stored.version)
        if key not in self._flows:
            self._flows[key] = load_flow(stored.source, source=f"flow {stored.name}")
        return self._flows[key], stored.version

    def find(self, chat_id: str) -> LiveChat | None:
        """The open chat, or ``None`` once it has ended (or never existed)."""
        return self._chats.get(chat_id)

    def visible_chats(self, user: UserRecord) -> list[LiveChat]:
        """Supervisors see every open chat of their company; agents those they are in (R18)."""
        mine = [c for c in self._chats.values() if c.record.company_id == user.company_id]
        if user.role == "supervisor":
            return mine
        return [c for c in mine if user.user_id in c.present()]

    def chat_for_staff(self, user: UserRecord, chat_id: str) -> LiveChat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.record.company_id != user.company_id:
            raise NotFoundError(f"no open chat {chat_id!r}")
        if user.role != "supervisor" and not chat.involved(user.user_id):
            raise NotFoundError(f"no open chat {chat_id!r}")
        return chat

    async def events_after(self, chat_id: str, seq: int) -> list[tuple[int, Event]]:
        """Events a client has not seen: from memory while open, from the store after."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            return chat.events_after(seq)
        return await self._run(self.store.load_journal, chat_id, seq)

    async def chat_for_customer(self, token: str) -> tuple[str, LiveChat | None]:
        """The customer's chat id, and the live chat unless it has ended (R18).

        The token ends with the chat, after a grace for a customer who reconnects to see
        the end: then it replays nothing, staff messages included.
        """
        record = await self._run(self.store.find_chat_by_token, hash_token(token))
        if record is None:
            raise NotFoundError("this chat link is unknown or has expired")
        ended = record.ended_at
        if ended is not None and self._clock() > ended + self.limits.token_grace:
            raise AuthenticationError(
                f"this chat ended at {ended:%Y-%m-%d %H:%M} UTC and its link has expired; "
                "start a new chat"
            )
        return record.chat_id, self._chats.get(record.chat_id)

    # -- committing ----------------------------------------------------------------

    def _now(self, chat: LiveChat | None = None) -> datetime:
        now = self._clock()
        if chat is not None and chat.events and chat.events[-1][1].at > now:
            return chat.events[-1][1].at  # never let the journal go back in time
        return now

    async def _commit(
        self,
        chat: LiveChat,
        events: Sequence[Event],
        *,
        audit: Sequence[AuditRecord] = (),
        new: bool = False,
        **fields: Any,
    ) -> int:
        """Commit events and row changes of one chat; memory follows only on success.

        Returns the sequence number of the first event: the action's own, to acknowledge.
        """
        first = chat.record.last_seq + 1
        numbered = tuple(zip(range(first, first + len(events)), events, strict=True))
        last_seq = chat.record.last_seq + len(events)
        activity = events[-1].at if events else chat.record.last_activity_at
        record = replace(chat.record, last_seq=last_seq, last_activity_at=activity, **fields)
        if chat.flow_state is not None and "flow_state" not in fields:
            record = replace(record, flow_state=chat.flow_state.to_dict())
        change = ChatChange(chat=record, events=numbered, audit=tuple(audit), new_chat=new)
        await self.committer.commit(change)
        chat.record = record
        chat.events.extend(numbered)
        self._publish(chat)
        return first

    def _publish(self, chat: LiveChat) -> None:
        notice = {"chat_id": chat.chat_id, "seq": chat.record.last_seq}
        self.fanout.publish(chat_topic(chat.chat_id), notice)
        self.fanout.publish(company_topic(chat.record.company_id), notice)

    def _audit(self, chat: LiveChat, user: UserRecord, action: str, at: datetime) -> AuditRecord:
        """A staff recording action in the audit trail, under the login, as admin changes
        are: whoever reads it knows who paused or deleted without looking up an id."""
        return AuditRecord(
            company_id=chat.record.company_id,
            at=at,
            actor=user.login,
            action=action,
            chat_id=chat.chat_id,
        )

    # -- recovery ------------------------------------------------------------------

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

    async def _recover_presence(self) -> None:
        """Available agents stay so across a restart; their idle time counts from the start."""
        for presence in await self._run(self.presences.available_agents):
            user = await self._run(self.store.get_user, presence.user_id)
            if user is not None and user.role == "agent":
                slot = self.router.agent(user.user_id, user.company_id, user.capacity)
                self.router.set_available(slot, True, self._monotonic())
                self._last_active[user.user_id] = self._monotonic()

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
        if user.role != "supervisor":
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
            if actor.role is Role.AGENT and set(chat.present_agents()) == {user.user_id}:
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
        if target.role != "agent":
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
        if actor.role is Role.AGENT and actor.user_id:
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
        if actor.role is Role.SUPERVISOR:
            events.append(ParticipantLeft(at=now, actor=actor))
        for agent in chat.present_agents().values():
            if agent != actor:
                events.append(ParticipantLeft(at=now, actor=agent))
        seq = await self._commit(chat, events, status=ChatStatus.QUEUED, queue_id=queue.queue_id)
        for user_id in chat.present_agents() | ({actor.user_id: actor} if actor.user_id else {}):
            self.router.release(user_id, chat.chat_id, self._monotonic())
        self.router.enqueue(chat.record.company_id, queue.queue_id, chat.chat_id)
        return seq

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
        if user.role != "agent":
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
        if user.role != "agent" or not takes_chats:
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
        if user.role != "agent":
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
        if user.role != "agent":
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
            if user is None or user.disabled or user.role != "agent":
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

    async def _after_flow(self, chat: LiveChat) -> None:
        """Act on where the flow left the chat: queue it or end it (call under the lock)."""
        state = chat.flow_state
        if state is None and chat.flow is None and chat.record.status is ChatStatus.FLOW:
            await self._queue(chat, None)
        elif state is not None and state.ended:
            await self._end(chat, Actor(Role.FLOW, "Chat flow"), "ended by the chat flow")
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
        """End the chat; decide and spool its recordings in the same commit (R12-R15).

        Another node may commit a name this one chose meanwhile (names are reserved per
        node); the store refuses the clash, and the end is settled again with the names
        now taken, a few times before the error is given up to the caller.
        """
        now = self._now(chat)
        ended = ChatEnded(at=now, actor=actor, reason=reason)
        attempt = 1
        while True:
            try:
                record, recordings = await self._settle_end(chat, ended)
                break
            except BaseNameTakenError as clash:
                if attempt >= NAMING_ATTEMPTS:
                    raise
                attempt += 1
                log.warning("chat %s: %s; choosing its names again", chat.chat_id, clash)
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

    async def _settle_end(
        self, chat: LiveChat, ended: ChatEnded
    ) -> tuple[ChatRecord, list[RecordingRecord]]:
        """Choose names, spool and commit the end once; the chat's row as committed."""
        final = Journal((*chat.journal.events, ended))
        company_id = chat.record.company_id
        lock = self._endings.setdefault(company_id, asyncio.Lock())
        async with lock:  # names of chats ending together must not clash (R6)
            reserved = self._ending_names.held(company_id)

            def taken(candidates: Sequence[str]) -> set[str]:
                stored = self.store.taken_base_names(company_id, candidates)
                return stored | clashing(reserved, candidates)

            decision, produced = await self._run(plan_recordings, chat.company, final, taken)
            names = [files.base_name for files in produced]
            self._ending_names.reserve(company_id, names)
        try:  # the names are ours until committed: spool and commit without the lock
            recordings = await self._run(
                spool_recordings, chat.company, final, decision, produced, self.spool_dir
            )
            audit = AuditRecord(
                company_id=company_id,
                at=ended.at,
                actor="system",
                action="recording_decision",
                chat_id=chat.chat_id,
                detail={"explanation": decision.sentences()},
            )
            first = chat.record.last_seq + 1
            record = replace(
                chat.record,
                last_seq=first,
                last_activity_at=ended.at,
                status=ChatStatus.ENDED,
                ended_at=ended.at,
            )
            change = ChatChange(
                chat=record,
                events=((first, ended),),
                recordings=tuple(recordings),
                audit=(audit,),
            )
            try:
                await self.committer.commit(change)
            except BaseNameTakenError:
                await self._run(unspool, recordings)  # under names now another's
                raise
        finally:
            self._ending_names.release(company_id, names)
        return record, recordings

    async def sweep(self) -> int:
        """End chats idle longer than the inactivity timeout; returns how many."""
        cutoff = self._clock() - self.inactivity_timeout
        ended = 0
        for chat in list(self._chats.values()):
            if chat.record.last_activity_at < cutoff:
                async with chat.lock:
                    if chat.chat_id in self._chats and chat.record.last_activity_at < cutoff:
                        await self._end(chat, Actor(Role.SYSTEM, "System"), "inactivity timeout")
                        ended += 1
                await self._dispatch(chat.record.company_id)
        return ended
