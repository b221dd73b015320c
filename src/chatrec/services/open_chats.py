"""One node's open chats in memory: reading them, and committing their changes.

Memory follows the store: a chat's events are committed (one group commit with other
chats' changes) before memory takes them and a notice is published (save, then
publish).  The actions (``services.chats``), routing and presence
(``services.routing``) and the end (``services.endings``) build on this.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from chatrec.blocking import run_blocking
from chatrec.domain.chain import check_chain
from chatrec.domain.journal import Event, Journal
from chatrec.domain.participants import MOVES_AGENTS, present_agent_ids
from chatrec.domain.roles import LoginRole
from chatrec.errors import (
    ActionError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    SequenceClashError,
)
from chatrec.flows import Flow, FlowState, load_flow
from chatrec.live.bus import Fanout, chat_topic, company_topic
from chatrec.live.carried import carried, take_carried
from chatrec.live.ends import ChatEnds
from chatrec.live.registry import LiveChat
from chatrec.services.directory import company_settings, sampling_key
from chatrec.services.endings import ChatEndings
from chatrec.services.ports import Committer, LiveChatStore
from chatrec.services.presence import PresenceStore
from chatrec.services.token_hash import hash_token
from chatrec.store.records import (
    AgentClaim,
    AuditRecord,
    ChatChange,
    ChatRecord,
    ChatStatus,
    CompanyRecord,
    UserRecord,
)

T = TypeVar("T")

log = logging.getLogger(__name__)


CLASH_RETRIES = 5
"""How often an action catches up with other nodes before it is tried a last time."""


def require_in_chat(chat: LiveChat, user: UserRecord) -> None:
    """Staff write in a chat (messages, notes, typing) only while they are in it."""
    if user.user_id not in chat.present():
        raise PermissionDeniedError(
            f"{user.name} is not in chat {chat.chat_id}; "
            "join it (supervisors) or have it assigned first"
        )


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


class OpenChats:
    """One node's open chats: state lives in the store, cached here; changed only by
    committing their events first (see :meth:`_commit`)."""

    def __init__(
        self,
        store: LiveChatStore,
        committer: Committer,
        fanout: Fanout,
        *,
        presences: PresenceStore,
        inactivity_timeout: timedelta,
        idle_timeout: timedelta | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_recordings: Callable[[], None] | None = None,
        limits: ChatLimits | None = None,
        node_id: str = "local",
        node_lease: timedelta = timedelta(seconds=20),
    ) -> None:
        self.store = store
        self.limits = limits or ChatLimits()
        self.committer = committer
        self.fanout = fanout
        self.inactivity_timeout = inactivity_timeout
        self.presences = presences
        # An Available agent idle this long is set Away (None: never).
        self.idle_timeout = idle_timeout
        # When each agent last used a portal here, and last had it written for the others.
        self._last_active: dict[str, datetime] = {}
        self._active_written: dict[str, datetime] = {}
        self.node_id = node_id
        self.node_lease = node_lease
        self._dispatching: dict[str, asyncio.Lock] = {}
        # One presence change at a time: the store and routing agree on the last one.
        self._presence_changes = asyncio.Lock()
        self._clock = clock
        self._chats: dict[str, LiveChat] = {}
        self._ends = ChatEnds()
        # Chats being read from the store, once for every caller (:meth:`ensure`).
        self._loading: dict[str, asyncio.Future[LiveChat | None]] = {}
        # Chats being started, per company: counted with the open ones against the limit.
        self._starting: Counter[str] = Counter()
        self._flows: dict[tuple[str, int], Flow] = {}
        self.endings = ChatEndings(store, committer)
        # Called once a chat's end with produced files commits: the outbox has work (R16).
        self._on_recordings = on_recordings

    # -- reading -----------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await run_blocking(function, *args)

    async def company(self, company_id: str) -> CompanyRecord:
        record = await self._run(self.store.get_company, company_id)
        if record is None:
            raise NotFoundError(f"no company {company_id!r}")
        return record

    async def _flow(self, flow_id: str, version: int | None) -> tuple[Flow, int] | None:
        if version is not None and (flow_id, version) in self._flows:
            return self._flows[flow_id, version], version  # a saved version never changes
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
        if user.role is LoginRole.SUPERVISOR:
            return mine
        return [c for c in mine if user.user_id in c.present()]

    def chat_for_staff(self, user: UserRecord, chat_id: str) -> LiveChat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.record.company_id != user.company_id:
            raise NotFoundError(f"no open chat {chat_id!r}")
        if user.role is not LoginRole.SUPERVISOR and not chat.involved(user.user_id):
            raise NotFoundError(f"no open chat {chat_id!r}")
        return chat

    async def events_after(
        self, chat_id: str, seq: int, *, known: int | None = None
    ) -> list[tuple[int, Event]]:
        """Events a client has not seen: from memory while open, from the store after.

        ``known`` is the number a notice announced: above what memory holds, another
        node committed it, and memory catches up from the store first (R20).
        """
        if known is not None:
            await self.catch_up(chat_id, known)
        chat = self._chats.get(chat_id)
        if chat is not None:
            return chat.events_after(seq)
        kept = self._ends.after(chat_id, seq)
        if kept is not None:
            return kept
        return await self._run(self.store.load_journal, chat_id, seq)

    async def catch_up(
        self, chat_id: str, known: int, notice: dict[str, Any] | None = None
    ) -> None:
        """Bring the cached chat up to ``known``, a number a notice announced: above what
        memory holds, another node committed it (R20).  What the notice carries is taken
        when it follows on from the copy; otherwise the store is read."""
        chat = self._chats.get(chat_id)
        if chat is not None and known > chat.record.last_seq:
            async with chat.lock:
                if known > chat.record.last_seq and not self._take_carried(chat, notice):
                    await self.refresh(chat)

    def _take_carried(self, chat: LiveChat, notice: dict[str, Any] | None) -> bool:
        """Apply what a notice carries if it follows on from the copy (``live.carried``)."""
        if not take_carried(chat, notice):
            return False
        if chat.record.status is ChatStatus.ENDED:
            self.retire(chat)
        return True

    def retire(self, chat: LiveChat) -> None:
        """Forget a chat that has ended, but for its end (``live.ends``)."""
        self._chats.pop(chat.chat_id, None)
        self._ends.keep(chat)

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
        if ended is not None:
            return record.chat_id, None
        return record.chat_id, await self._fresh(record)

    async def _cache(self, record: ChatRecord) -> LiveChat:
        """Take an open chat as committed into this node's memory, its journal checked
        against its hash chain (R21): a journal changed since it was committed is served,
        never silently, and its recordings say so."""
        company = await self.company(record.company_id)
        stored = await self._run(self.store.journal_chain, record.chat_id)
        events = [(e.seq, e.event) for e in stored if e.event is not None]
        chat = LiveChat(record, events, company_settings(company), sampling_key(company))
        checked = check_chain(record.chat_id, stored)
        chat.took_chain(checked)
        if not checked.verifies:
            log.error(
                "chat %s: its journal does not verify against its hash chain (R21): %s",
                record.chat_id,
                "; ".join(checked.problems),
            )
        if record.flow_id is not None:
            found = await self._flow(record.flow_id, record.flow_version)
            chat.flow = found[0] if found else None
        if record.flow_state is not None:
            chat.flow_state = FlowState.from_dict(record.flow_state)
        self._chats[record.chat_id] = chat
        return chat

    async def ensure(self, chat_id: str) -> LiveChat | None:
        """The open chat, from this node's memory or, when another node opened it, from
        the store (R20); ``None`` once it has ended.

        One read per chat however many ask at once: a notice of a chat opened elsewhere
        reaches every staff connection of the company on this node together."""
        chat = self._chats.get(chat_id)
        if chat is not None:
            return chat
        if chat_id in self._ends:
            return None  # an ended chat never opens again
        loading = self._loading.get(chat_id)
        if loading is None:
            loading = asyncio.ensure_future(self._read_chat(chat_id))
            self._loading[chat_id] = loading
            loading.add_done_callback(lambda done: self._loaded(chat_id, done))
        return await asyncio.shield(loading)

    async def _read_chat(self, chat_id: str) -> LiveChat | None:
        record = await self._run(self.store.get_chat, chat_id)
        if record is None or record.status is ChatStatus.ENDED:
            return None
        return self._chats.get(chat_id) or await self._cache(record)

    def _loaded(self, chat_id: str, done: asyncio.Future[LiveChat | None]) -> None:
        if self._loading.get(chat_id) is done:
            del self._loading[chat_id]
        if not done.cancelled():
            done.exception()  # each waiter has it; none left waiting must not log it again

    async def load_company(self, company_id: str) -> None:
        """Cache every open chat of the company, wherever it was opened: its staff see
        them on any node (R20)."""
        for record in await self._run(self.store.open_chats, company_id):
            await self._fresh(record)

    async def _fresh(self, record: ChatRecord) -> LiveChat | None:
        """The chat cached as committed at ``record``: another node may have moved it on
        since this node cached it, with no notice heard while no client here followed
        it (R20)."""
        if record.chat_id not in self._chats:
            return await self.ensure(record.chat_id)
        await self.catch_up(record.chat_id, record.last_seq)
        return self._chats.get(record.chat_id)

    async def resync(self, chat_id: str) -> None:
        """Catch the cached chat up with the store after notices were lost (R20)."""
        record = await self._run(self.store.get_chat, chat_id)
        if record is not None:
            await self.catch_up(chat_id, record.last_seq)

    async def refresh(self, chat: LiveChat) -> None:
        """Bring a cached chat up to what is committed: another node acted on it (R20)."""
        record = await self._run(self.store.get_chat, chat.chat_id)
        if record is None:
            return
        held = chat.events[-1][0] if chat.events else 0
        newer = await self._run(self.store.load_journal, chat.chat_id, held)
        chat.events.extend((seq, event) for seq, event in newer if seq <= record.last_seq)
        chat.record = record
        if record.flow_state is not None:
            chat.flow_state = FlowState.from_dict(record.flow_state)
        if record.status is ChatStatus.ENDED:
            self.retire(chat)

    # -- committing ----------------------------------------------------------------

    async def _acting(self, chat: LiveChat, act: Callable[[], Awaitable[T]]) -> T:
        """Run an action under the chat's lock.  When another node numbered events of the
        chat first, catch up and run it again, its checks seeing the chat as it now is:
        every accepted action is applied once and the numbers have no gap (R20).

        An action refused by its checks is judged again if the store holds a newer chat
        than this node's copy (a notice lost or not yet heard): a refusal must be the
        chat's answer, never a stale copy's."""
        async with chat.lock:
            for _ in range(CLASH_RETRIES):
                try:
                    return await act()
                except SequenceClashError:
                    await self.refresh(chat)
                except ActionError:
                    if not await self._behind(chat):
                        raise
                    await self.refresh(chat)
            return await act()

    async def _behind(self, chat: LiveChat) -> bool:
        """Whether another node committed to the chat since this node's copy."""
        stored = await self._run(self.store.get_chat, chat.chat_id)
        return stored is not None and stored.last_seq > chat.record.last_seq

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
        claim: AgentClaim | None = None,
        **fields: Any,
    ) -> int:
        """Commit events and row changes of one chat; memory follows only on success.

        Events that change which agents are in the chat carry the agents it leaves in,
        which their capacity counts on every node; ``claim`` gives an agent the chat only
        if that does not fill them over capacity (R20).
        Returns the sequence number of the first event: the action's own, to acknowledge.
        """
        first = chat.record.last_seq + 1
        numbered = tuple(zip(range(first, first + len(events)), events, strict=True))
        last_seq = chat.record.last_seq + len(events)
        activity = events[-1].at if events else chat.record.last_activity_at
        if chat.flow_state is not None and "flow_state" not in fields:
            fields["flow_state"] = chat.flow_state.to_dict()
        record = replace(chat.record, last_seq=last_seq, last_activity_at=activity, **fields)
        agents = None
        if any(isinstance(event, MOVES_AGENTS) for event in events):
            agents = present_agent_ids(Journal((*chat.journal.events, *events)))
        chain = chat.chain(numbered)
        change = ChatChange(
            chat=record,
            events=numbered,
            chain=chain,
            audit=tuple(audit),
            new_chat=new,
            agents=agents,
            claim=claim,
            before=None if new else chat.record,
        )
        await self.committer.commit(change)
        chat.record = record
        chat.extend(numbered, chain)
        self._publish(chat, after=first - 1)
        return first

    def _publish(self, chat: LiveChat, after: int | None = None) -> None:
        """Say the chat is at its last number; between nodes, with the events numbered
        above ``after`` and the row as committed, which the others take without reading
        the database back (:meth:`_take_carried`)."""
        notice: dict[str, Any] = {"chat_id": chat.chat_id, "seq": chat.record.last_seq}
        if self.fanout.between_nodes and after is not None:
            notice.update(carried(chat, after))
        topics = (chat_topic(chat.chat_id), company_topic(chat.record.company_id))
        self.fanout.publish_all(topics, notice)

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
