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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from chatrec.domain.attachments import check_attachment, check_room_for_attachment
from chatrec.domain.customer import check_answers
from chatrec.domain.journal import (
    CUSTOMER,
    Actor,
    AttachmentSent,
    ChatEnded,
    ChatRole,
    ChatStarted,
    CustomerDetails,
    DeletePressed,
    DeletionRequested,
    Event,
    FlaggedAbusive,
    MessagePosted,
    NoteAdded,
    ParticipantLeft,
    RecordingPaused,
    RecordingResumed,
    SupervisorJoined,
    Transferred,
    WrapUpChosen,
)
from chatrec.domain.roles import LoginRole
from chatrec.domain.settings import CompanySettings
from chatrec.domain.wrap_up import chosen_code
from chatrec.errors import (
    AgentFullError,
    ChatFullError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceClosedError,
)
from chatrec.flows import FlowState, answer_flow, start_flow
from chatrec.live.bus import user_topic
from chatrec.live.registry import LiveChat
from chatrec.live.routing import Availability
from chatrec.services.directory import company_settings, sampling_key, staff_actor, user_login
from chatrec.services.open_chats import require_in_chat
from chatrec.services.routing import ChatRouting
from chatrec.services.token_hash import hash_token
from chatrec.store.records import (
    AgentClaim,
    AttachmentRecord,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    QueueRecord,
    ServiceRecord,
    UserRecord,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

SWEEP_BATCH = 200
"""Idle chats one sweep ends at most; the next sweep takes the rest."""

RECORDING_ACTIONS: dict[type[Event], str] = {
    RecordingPaused: "pause",
    RecordingResumed: "resume",
    DeletePressed: "delete_recording",
    FlaggedAbusive: "flag_abusive",
}


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
        """After a start or a crash: offer the chats that wait; how many are open.

        Nothing is loaded ahead: every node reads an open chat from the store when one
        of its clients or a notice names it (R20), so a start costs the same however
        many chats other nodes serve.  Available agents stay so across a restart, and
        their idle time counts, here, from the start."""
        now = self._clock()
        for presence in await self._run(self.presences.available_agents):
            self._last_active[presence.user_id] = now
        await self.dispatch_waiting()
        return await self._run(self.store.count_open_chats, None)

    # -- the customer --------------------------------------------------------------

    def _check_company_room(self, company_id: str, open_now: int) -> None:
        """Refuse a chat beyond the company's open chats on every node (429, not stored).

        ``open_now`` is the count the start read (``store.starts``).  Called once this
        start is counted among the company's starting ones, with no await since that
        read, so that starts beside it on this node are counted too; other nodes' are
        not (a limit that several nodes may overrun by their starts in flight, never
        more)."""
        limit = self.limits.open_chats_per_company
        others_starting = self._starting[company_id] - 1
        if open_now + others_starting >= limit:
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

    async def start_chat(
        self, service_id: str, details: Mapping[str, str] | None = None, page: str = ""
    ) -> Started:
        """Start a chat on the service; ``details`` answer its pre-chat form and ``page``
        is where the widget was (R23): checked here, whatever the widget checked, and a
        refusal starts nothing."""
        found = await self._run(self.store.chat_start, service_id)
        if found is None:
            raise NotFoundError(f"no service {service_id!r}")
        service, company = found.service, found.company
        if not service.open_at(self._now()):  # no chat, so no queueing, outside hours
            raise ServiceClosedError(
                service.closed_message or f"{service.name} is closed now; please come back later"
            )
        company_id = service.company_id
        if company is None:
            raise NotFoundError(f"no company {company_id!r}")
        settings = company_settings(company)
        customer = check_answers(
            service.form, details or {}, page, lambda text: settings.masking.mask(text).text
        )
        self._starting[company_id] += 1
        try:
            self._check_company_room(company_id, found.open_chats)
            return await self._start_chat(service, found.flow_version, company, settings, customer)
        finally:
            self._starting[company_id] -= 1
            if not self._starting[company_id]:
                del self._starting[company_id]

    async def _start_chat(
        self,
        service: ServiceRecord,
        flow_version: int | None,
        company: CompanyRecord,
        settings: CompanySettings,
        customer: CustomerDetails | None,
    ) -> Started:
        token = secrets.token_urlsafe(32)
        chat_id = secrets.token_hex(6)
        now = self._now()
        flow = service.flow_id
        flow_found = await self._flow(flow, flow_version) if flow else None
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
            customer_email=(customer.email or None) if customer else None,
        )
        chat = LiveChat(record, [], settings, sampling_key(company))
        started = ChatStarted(
            at=now,
            actor=CUSTOMER,
            chat_id=chat_id,
            company_id=company.company_id,
            service=service.name,
            flow_id=record.flow_id,
            flow_version=record.flow_version,
            customer=customer,
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
        await self._offer(chat)
        return Started(chat.record, token)

    async def customer_says(self, chat: LiveChat, text: str) -> int:
        async def act() -> int:
            self._check_open(chat)
            kept = chat.company.masking.mask(text)  # before anything keeps or shows it (R22)
            self._check_chat_room(chat, kept.text)
            now = self._now(chat)
            message = MessagePosted(
                at=now,
                actor=CUSTOMER,
                text=kept.text,
                masked=kept.card_numbers,
                masked_other=kept.other_values,
            )
            events: list[Event] = [message]
            answered: FlowState | None = None
            flow, state = chat.flow, chat.flow_state
            if flow is not None and state is not None and state.waiting_for is not None:
                answered, flow_events = answer_flow(flow, state, kept.text, at=now)
                events += flow_events
            # The flow moves on in memory only once its answer is committed: a failed
            # commit (R19) leaves the question open for the customer to answer again.
            if answered is None:
                return await self._commit(chat, events)
            seq = await self._commit(chat, events, flow_state=answered.to_dict())
            chat.flow_state = answered
            await self._after_flow(chat)
            return seq

        seq = await self._acting(chat, act)
        if chat.record.status is ChatStatus.QUEUED:  # the flow routed it just now
            await self._offer(chat)
        return seq

    async def customer_requests_deletion(self, chat: LiveChat) -> int:
        """R9: the request is journaled and shown to the agent; it deletes nothing itself."""

        async def act() -> int:
            self._check_open(chat)
            self._check_chat_room(chat)
            return await self._commit(chat, [DeletionRequested(at=self._now(chat), actor=CUSTOMER)])

        return await self._acting(chat, act)

    async def customer_ends(self, chat: LiveChat) -> int:
        async def act() -> int:
            self._check_open(chat)
            return await self._end(chat, CUSTOMER, "customer ended")

        seq = await self._acting(chat, act)
        await self._dispatch(chat.record.company_id)  # the freed agent takes the next chat
        return seq

    # -- staff ----------------------------------------------------------------------

    def _check_open(self, chat: LiveChat) -> None:
        if chat.record.status is ChatStatus.ENDED or chat.chat_id not in self._chats:
            raise ConflictError("this chat has ended")

    def _in_chat(self, chat: LiveChat, user: UserRecord) -> Actor:
        actor = staff_actor(user)
        require_in_chat(chat, user)
        return actor

    async def staff_says(self, user: UserRecord, chat: LiveChat, text: str) -> int:
        async def act() -> int:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            kept = chat.company.masking.mask(text)  # staff's messages too (R22)
            self._check_chat_room(chat, kept.text)
            message = MessagePosted(
                at=self._now(chat),
                actor=actor,
                text=kept.text,
                masked=kept.card_numbers,
                masked_other=kept.other_values,
            )
            return await self._commit(chat, [message])

        return await self._acting(chat, act)

    def _note(
        self, chat: LiveChat, actor: Actor, text: str, at: datetime, *, with_transfer: bool = False
    ) -> NoteAdded:
        kept = chat.company.masking.mask(text)  # notes are masked as messages are (R22)
        self._check_chat_room(chat, kept.text)
        return NoteAdded(
            at=at,
            actor=actor,
            text=kept.text,
            with_transfer=with_transfer,
            masked=kept.card_numbers,
            masked_other=kept.other_values,
        )

    async def staff_notes(self, user: UserRecord, chat: LiveChat, text: str) -> int:
        """An internal note to the chat's staff, never shown to the customer (R23)."""

        async def act() -> int:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            return await self._commit(chat, [self._note(chat, actor, text, self._now(chat))])

        return await self._acting(chat, act)

    async def attach(
        self, chat: LiveChat, name: str, content: bytes, user: UserRecord | None = None
    ) -> tuple[int, AttachmentSent]:
        """A file sent by the chat's customer (``user`` ``None``) or a staff member in it
        (R23), checked against the company's limits by its bytes.  Kept before it is
        journaled, so that an event never names bytes that are not there; ``paused``
        says whether it is in no recording (R8).  Its number and event."""
        checked = check_attachment(chat.company.attachments, name, content)
        attachment_id = "A" + secrets.token_hex(10)
        sent: list[AttachmentSent] = []

        async def act() -> int:
            self._check_open(chat)
            actor = CUSTOMER if user is None else self._in_chat(chat, user)
            self._check_chat_room(chat)
            check_room_for_attachment(len(chat.journal.of_type(AttachmentSent)))
            event = AttachmentSent(
                at=self._now(chat),
                actor=actor,
                attachment_id=attachment_id,
                name=checked.name,
                media_type=checked.media_type,
                size=checked.size,
                sha256=checked.sha256,
                paused=chat.paused,
            )
            if not sent:  # once, however often a clash with another node runs this again
                record = AttachmentRecord.sent(chat.chat_id, event, content)
                await self._run(self.store.add_attachment, record)
            sent[:] = [event]
            return await self._commit(chat, [event])

        seq = await self._acting(chat, act)
        return seq, sent[0]

    async def choose_wrap_up(self, user: UserRecord, chat: LiveChat, code: str) -> int:
        """What the chat was about, from the company's list (R23): the last chosen before
        the end is in its recordings' metadata."""

        async def act() -> int:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            kept = chosen_code(chat.company.wrap_up_codes, code)
            return await self._commit(
                chat, [WrapUpChosen(at=self._now(chat), actor=actor, code=kept)]
            )

        return await self._acting(chat, act)

    async def recording_action(self, user: UserRecord, chat: LiveChat, kind: type[Event]) -> int:
        """Pause, Resume, Delete recording or Flag abusive (R8, R9, R11), audited."""

        async def act() -> int:
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

        return await self._acting(chat, act)

    async def join(self, user: UserRecord, chat: LiveChat) -> int:
        """A supervisor joins and is from now on involved (R12a)."""
        if user.role is not LoginRole.SUPERVISOR:
            raise PermissionDeniedError("only supervisors join chats they were not assigned")

        async def act() -> int:
            self._check_open(chat)
            if user.user_id in chat.present():
                raise ConflictError(f"{user.name} is already in the chat")
            login = user_login(user)
            event = SupervisorJoined(
                at=self._now(chat), actor=staff_actor(user), settings=login.snapshot()
            )
            return await self._commit(chat, [event])

        return await self._acting(chat, act)

    async def leave(self, user: UserRecord, chat: LiveChat) -> int:
        """Leave; if no agent remains, the chat goes back to its queue (never abandoned)."""

        async def act() -> int:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            now = self._now(chat)
            fields: dict[str, Any] = {}
            if actor.role is ChatRole.AGENT and set(chat.present_agents()) == {user.user_id}:
                fields["status"] = ChatStatus.QUEUED
                fields["queued_at"] = now
            return await self._commit(chat, [ParticipantLeft(at=now, actor=actor)], **fields)

        seq = await self._acting(chat, act)
        await self._dispatch(chat.record.company_id, 2)  # the chat, the slot it freed
        return seq

    async def staff_ends(self, user: UserRecord, chat: LiveChat) -> int:
        async def act() -> int:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            others = set(chat.present_agents()) - {user.user_id}
            if others:
                raise ConflictError(
                    "other agents are still in the chat: leave it, or the last agent ends it"
                )
            company = chat.company
            if company.wrap_up_required and not chat.journal.of_type(WrapUpChosen):
                raise ConflictError(
                    "choose a wrap-up code before you end the chat: your company requires one"
                )
            return await self._end(chat, actor, f"ended by {actor.role.value}")

        seq = await self._acting(chat, act)
        await self._dispatch(chat.record.company_id)
        return seq

    async def transfer(
        self,
        user: UserRecord,
        chat: LiveChat,
        *,
        to_agent: str | None = None,
        to_queue: str | None = None,
        note: str | None = None,
    ) -> int:
        """Hand the chat on; ``note``, an internal note for whoever takes it (R23), comes
        just before the transfer, whose number is acknowledged."""
        if (to_agent is None) == (to_queue is None):
            raise ConflictError("transfer to exactly one agent or one queue")
        target_user = await self._run(self.store.get_user, to_agent) if to_agent else None
        target_queue = await self._run(self.store.get_queue, to_queue) if to_queue else None

        async def act() -> int:
            self._check_open(chat)
            actor = self._in_chat(chat, user)
            now = self._now(chat)
            lead = [self._note(chat, actor, note, now, with_transfer=True)] if note else []
            if to_agent is not None:
                seq = await self._transfer_to_agent(chat, actor, target_user, now, lead)
            else:
                seq = await self._transfer_to_queue(chat, actor, target_queue, now, lead)
            return seq + len(lead)

        seq = await self._acting(chat, act)
        await self._dispatch(chat.record.company_id, 3)  # the chat, the slots it freed
        return seq

    async def _transfer_to_agent(
        self,
        chat: LiveChat,
        actor: Actor,
        target: UserRecord | None,
        now: datetime,
        lead: list[NoteAdded],
    ) -> int:
        if target is None or target.company_id != chat.record.company_id or target.disabled:
            raise NotFoundError("no such agent in this company")
        if target.role is not LoginRole.AGENT:
            raise ConflictError(f"{target.name} is not an agent")
        if target.user_id in chat.present():
            raise ConflictError(f"{target.name} is already in the chat")
        availability = await self.availability(target)
        why = _unavailable(target, availability)
        if why is not None:
            raise ConflictError(f"{why}; transfer to a queue or to another agent instead")
        target_actor = staff_actor(target)
        joined, drawn = self._assignment(chat, target, now, queue=None, by_transfer=True)
        events = [*lead, Transferred(at=now, actor=actor, to_agent=target_actor), joined]
        try:
            seq = await self._commit(
                chat,
                events,
                audit=[drawn],
                claim=AgentClaim(target.user_id, target.capacity),
                status=ChatStatus.ACTIVE,
                queued_at=None,
            )
        except AgentFullError:
            # Filled on another node between the check and the commit.
            full = Availability(True, True, target.capacity, target.capacity)
            why = _unavailable(target, full)
            raise ConflictError(f"{why}; transfer to a queue or to another agent instead") from None
        notice = {"assigned": chat.chat_id, "seq": chat.record.last_seq}
        self.fanout.publish(user_topic(target.user_id), notice)
        return seq

    async def _transfer_to_queue(
        self,
        chat: LiveChat,
        actor: Actor,
        queue: QueueRecord | None,
        now: datetime,
        lead: list[NoteAdded],
    ) -> int:
        if queue is None or queue.company_id != chat.record.company_id:
            raise NotFoundError("no such queue in this company")
        events: list[Event] = [*lead, Transferred(at=now, actor=actor, to_queue=queue.name)]
        if actor.role is ChatRole.SUPERVISOR:
            events.append(ParticipantLeft(at=now, actor=actor))
        for agent in chat.present_agents().values():
            if agent != actor:
                events.append(ParticipantLeft(at=now, actor=agent))
        return await self._commit(
            chat, events, status=ChatStatus.QUEUED, queue_id=queue.queue_id, queued_at=now
        )

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
        await self._commit(
            chat,
            [],
            status=ChatStatus.QUEUED,
            queue_id=chosen.queue_id,
            queued_at=self._now(chat),
        )

    # -- the end ----------------------------------------------------------------------

    async def _end(self, chat: LiveChat, actor: Actor, reason: str) -> int:
        """End the chat; decide and render its recordings in the same commit (R12-R15)."""
        now = self._now(chat)
        ended = ChatEnded(at=now, actor=actor, reason=reason)
        record, recordings = await self.endings.settle(chat, ended)
        first = record.last_seq
        chat.record = record
        chat.events.append((first, ended))
        self.retire(chat)
        self._publish(chat, after=first - 1)
        if self._on_recordings is not None and any(r.files for r in recordings):
            self._on_recordings()
        return first

    async def sweep(self) -> int:
        """End chats idle longer than the inactivity timeout, on whichever node they
        were served; returns how many this node ended (R20: exactly one node ends
        each, the others find it ended when they commit), then offer waiting chats."""
        cutoff = self._clock() - self.inactivity_timeout
        ended = 0
        for chat_id in await self._run(self.store.idle_chats, cutoff, SWEEP_BATCH):
            chat = await self.ensure(chat_id)
            if chat is None:
                continue

            async def act(chat: LiveChat = chat) -> int:
                # Another node may have ended it, or its customer spoken, meanwhile.
                if chat.chat_id in self._chats and chat.record.last_activity_at < cutoff:
                    await self._end(chat, Actor(ChatRole.SYSTEM, "System"), "inactivity timeout")
                    return 1
                return 0

            ended += await self._acting(chat, act)
        await self.dispatch_waiting()
        return ended
