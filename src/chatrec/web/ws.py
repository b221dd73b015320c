"""WebSocket endpoints for customers and staff: one state machine per connection.

A connection is ``hello`` first, then frames.  Each frame is validated (size, rate,
schema); a bad one gets an ``error`` frame and the connection goes on (R19).  Outgoing
frames go through one queue and one writer task, and bus notices only wake the writer,
which reads what the client has not seen by sequence number: a slow or reconnecting
client never misses an acknowledged event.

Its length is one state machine's: hello, frames, the writer and every way a connection
ends share :class:`Connection`, so the customer's and the staff's sockets differ only in
what their frames do; split, the ordering between them would be spread over files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from chatrec.domain.journal import (
    DeletePressed,
    Event,
    FlaggedAbusive,
    RecordingPaused,
    RecordingResumed,
)
from chatrec.domain.roles import COMPANY_ROLES, LoginRole
from chatrec.errors import (
    ActionError,
    AuthenticationError,
    ConflictError,
    FlowError,
    PermissionDeniedError,
    ScopeError,
    StoreError,
)
from chatrec.live.bus import chat_topic, company_topic, user_topic
from chatrec.live.carried import behind, followers_chat, may_concern
from chatrec.live.registry import LiveChat
from chatrec.services.access import Credential, CredentialKind, Scope
from chatrec.services.presence import presence_view
from chatrec.services.revocation import AccessEnded
from chatrec.services.typing import TypingThrottle, customer_typing, staff_typing, typing_frame
from chatrec.store.records import UserRecord
from chatrec.web import protocol
from chatrec.web.connections import ConnectionLimiter
from chatrec.web.container import Container
from chatrec.web.error_codes import RETRYABLE, frame_code_of, store_incident
from chatrec.web.guard import caller_for_token, session_caller
from chatrec.web.ratelimit import TokenBucket
from chatrec.web.sendqueue import SendQueue
from chatrec.web.views import chat_summary, ended_summary

HELLO_TIMEOUT = 10.0
# "Try again later": a hello the database could not answer, a node or address at its limit.
CLOSE_TRY_AGAIN = 1013
# A newer customer connection of the same chat took over: do not reconnect.
CLOSE_REPLACED = 4410
# A fault of the server's on this connection: reconnect and resume by sequence.
INTERNAL_ERROR = 1011

log = logging.getLogger(__name__)
ACTIONS: dict[str, type[Event]] = {
    "pause": RecordingPaused,
    "resume": RecordingResumed,
    "delete_recording": DeletePressed,
    "flag_abusive": FlaggedAbusive,
}


# A staff socket whose access ended while it was open: do not reconnect, sign in again.
CLOSE_ACCESS_REVOKED = 4403
# A staff socket whose login's role changed: reconnect, and the new hello has the new role.
CLOSE_ROLE_CHANGED = 4409


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice for the writer to act on, in order with the frames queued before it."""

    topic: str
    notice: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ending:
    """How a staff socket ends when its access ends: the error frame sent, then the close."""

    error_code: str
    message: str
    close_code: int
    close_reason: str  # at most 123 bytes, as WebSocket close reasons are


def _revoked(reason: str, why: str) -> Ending:
    return Ending("access_revoked", why, CLOSE_ACCESS_REVOKED, reason)


ENDINGS: dict[str, Ending] = {
    AccessEnded.SIGNED_OUT: _revoked(
        "signed out", "You were signed out: this session was logged out. Sign in again."
    ),
    AccessEnded.TOKEN_REVOKED: _revoked(
        "access revoked", "Your access was revoked: the API token of this connection was revoked."
    ),
    AccessEnded.LOGIN_DISABLED: _revoked(
        "access revoked", "Your access was revoked: an administrator disabled your login."
    ),
    AccessEnded.PASSWORD_RESET: _revoked(
        "signed out",
        "You were signed out: an administrator reset your password. Sign in with the new one.",
    ),
    AccessEnded.PASSWORD_CHANGED: _revoked(
        "signed out", "You were signed out: your password was changed. Sign in with the new one."
    ),
    AccessEnded.LOGIN_DELETED: _revoked(
        "access revoked", "Your access was revoked: your login was deleted."
    ),
    AccessEnded.ROLE_CHANGED: Ending(
        "role_changed",
        "Your role changed: connect again to go on with the new one.",
        CLOSE_ROLE_CHANGED,
        "role changed",
    ),
}


def credential_lost(error: AuthenticationError) -> Ending:
    """The ending of a socket whose credential no longer lets it in, found by a check."""
    return _revoked("access revoked", f"Your access ended: {error}.")


class AccessLostError(Exception):
    """A frame came on a socket whose access has ended: it is not acted on."""

    def __init__(self, ending: Ending) -> None:
        super().__init__(ending.message)
        self.ending = ending


def error_frame(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    """An error frame; ``retryable`` says whether sending the same frame later may work."""
    return {
        "type": "error",
        "code": code,
        "message": message,
        "ref": ref,
        "retryable": code in RETRYABLE,
    }


def store_error_frame(error: StoreError, where: str, ref: str | None = None) -> dict[str, Any]:
    """The frame of a database failure: fixed words and the incident id of its log line,
    never the error's text, which may hold other companies' data (R18)."""
    incident, message = store_incident(error, where)
    return {**error_frame(frame_code_of(error), message, ref), "incident": incident}


@contextlib.asynccontextmanager
async def admitted(websocket: WebSocket, connections: ConnectionLimiter) -> AsyncIterator[bool]:
    """Count the connection in for its life; one over a limit is told why and closed."""
    address = websocket.client.host if websocket.client else None
    refusal = connections.admit(address)
    if refusal is None:
        try:
            yield True
        finally:
            connections.release(address)
        return
    with contextlib.suppress(Exception):
        await websocket.accept()
        frame = error_frame("too_many_connections", f"{refusal}; try again later")
        await websocket.send_text(protocol.frame_text(frame))
        await websocket.close(code=CLOSE_TRY_AGAIN)
    yield False


def frame_field(frame: protocol.Frame, name: str) -> Any:
    """The frame's ``name`` field, ``None`` when its type has none.  Looked for in the
    class: pydantic answers a missing attribute by raising, and this runs on every frame."""
    return getattr(frame, name) if name in type(frame).model_fields else None


class FrameError(Exception):
    """A frame refused before it reached a service."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


class Connection:
    """What both audiences share: limits, the writer, sync by sequence number."""

    staff = False

    def __init__(self, websocket: WebSocket, container: Container) -> None:
        self.ws = websocket
        self.container = container
        self.service = container.chats
        config = container.config
        self.bucket = TokenBucket(config.frames_per_second, config.frame_burst)
        self.outbox: SendQueue[dict[str, Any] | Notice | Ending | None] = SendQueue()
        self.seen: dict[str, int] = {}
        self.unsubscribes: list[Callable[[], None]] = []
        self.ending: Ending | None = None
        self.typing: TypingThrottle | None = None  # made at the first indicator sent

    # -- plumbing ------------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        self.outbox.put_nowait(frame)

    async def _write(self, frame: dict[str, Any]) -> None:
        """A frame on the socket now: for the writer task and the ends, whose frames
        go in the order they are written; anything else queues with :meth:`send`."""
        await self.ws.send_text(protocol.frame_text(frame))

    def error(self, code: str, message: str, ref: str | None = None) -> None:
        self.send(error_frame(code, message, ref))

    def relay_typing(self, chat: LiveChat, notice: dict[str, Any]) -> None:
        """Tell the chat's other side, at most as often as the throttle lets (R23): the
        customer hears the chat's topic, staff their company's."""
        if self.typing is None:
            self.typing = TypingThrottle()
        if self.typing.admits(chat.chat_id, notice["typing"]["active"], time.monotonic()):
            topics = (chat_topic(chat.chat_id), company_topic(chat.record.company_id))
            self.container.fanout.publish_all(topics, notice)

    def subscribe(self, topic: str) -> None:
        self.unsubscribes.append(self.container.fanout.subscribe(topic, self._notice))

    def _saw(self, chat_id: str, seq: int) -> None:
        """The client has the chat up to ``seq``."""
        self.seen[chat_id] = seq

    def _notice(self, topic: str, notice: dict[str, Any]) -> None:
        # Shared with every other listener, never copied: notices are read-only (live.bus).
        self.outbox.put_nowait(Notice(topic, notice))

    async def _writer(self) -> None:
        while (item := await self.outbox.get()) is not None:
            if isinstance(item, Ending):
                await self._end(item)
                return
            if isinstance(item, Notice):
                try:
                    await self.on_notice(item.topic, item.notice)
                except StoreError as error:
                    # The client catches up by sequence at the next notice or its sync.
                    frame = store_error_frame(error, "reading a notice for a client")
                    await self._write(frame)
                except (WebSocketDisconnect, RuntimeError):
                    # The client is gone, or the ASGI server closed the socket itself (a
                    # frame over its size limit): sending after that is a RuntimeError.
                    return
                except Exception:
                    # A fault of ours: a writer that stopped silently would leave the
                    # client waiting for acks for ever. Closed, it reconnects and resumes
                    # by sequence (docs/protocol.md).
                    log.exception("a notice could not be sent on; closing the connection")
                    with contextlib.suppress(Exception):
                        await self.ws.close(code=INTERNAL_ERROR)
                    return
                continue
            await self._write(item)

    async def sync(
        self, chat_id: str, *, since: int | None = None, known: int | None = None
    ) -> None:
        """Send the chat's events the client has not seen, then its summary; ``known`` is
        the number a notice announced (another node's event, R20)."""
        after = self.seen.get(chat_id, 0) if since is None else since
        for seq, event in await self.service.events_after(chat_id, after, known=known):
            view = protocol.event_view(event, staff=self.staff)
            if view is not None:
                frame = {"type": "event", "chat_id": chat_id, "seq": seq, "event": view}
                await self._write(frame)
            self._saw(chat_id, seq)
        chat = self.service.find(chat_id)
        summary = chat_summary(chat, staff=self.staff) if chat else ended_summary(chat_id)
        await self._write({"type": "chat", "chat": summary})

    async def on_notice(self, topic: str, notice: dict[str, Any]) -> None:
        raise NotImplementedError

    def parse(self, raw: str, adapter: Any) -> Any:
        config = self.container.config
        if len(raw.encode()) > config.max_frame_bytes:
            raise FrameError("too_large", f"frames are limited to {config.max_frame_bytes} bytes")
        if not self.bucket.take():
            raise FrameError("rate_limited", "too many frames; slow down and retry")
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise FrameError("bad_json", f"the frame is not JSON: {error}") from None
        except RecursionError:  # deep nesting fits in a small frame; it must not end the socket
            raise FrameError("bad_json", "the frame's JSON is nested too deeply") from None
        # Echo the ref of a refused frame when it has a usable one, so clients can match.
        ref = data.get("ref") if isinstance(data, dict) else None
        ref = ref if isinstance(ref, str) and len(ref) <= 64 else None
        try:
            frame = adapter.validate_python(data)
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            message = f"{where}: {first['msg']}" if where else first["msg"]
            raise FrameError("bad_frame", message, ref) from None
        limit = config.max_message_chars
        for field in ("text", "draft", "note"):  # what people write: a message's limit
            written = frame_field(frame, field)
            if written is not None and len(written) > limit:
                raise FrameError("too_large", f"messages are limited to {limit} characters", ref)
        return frame

    async def receive(self) -> str | None:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is None:
            raise FrameError("bad_frame", "send JSON text frames, not binary")
        return str(text)

    async def run(self, adapter: Any) -> None:
        await self.ws.accept()
        writer = asyncio.create_task(self._writer())
        try:
            raw = await asyncio.wait_for(self.receive(), HELLO_TIMEOUT)
            if raw is None:
                return
            hello = self.parse(raw, adapter)
            if not isinstance(hello, protocol.Hello):
                raise AuthenticationError("the first frame must be hello")
            await self.welcome(hello)
            await self.loop(adapter)
        except FrameError as error:
            await self._refuse(error_frame(error.code, str(error)))
        except ActionError as error:
            await self._refuse(error_frame(frame_code_of(error), str(error)))
        except StoreError as error:
            await self._refuse(store_error_frame(error, "answering a hello"))
        except TimeoutError:
            await self._refuse(error_frame("unauthenticated", "send hello within 10 seconds"))
        except WebSocketDisconnect:
            pass
        finally:
            for unsubscribe in self.unsubscribes:
                unsubscribe()
            await self.closed()
            self.outbox.put_nowait(None)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 2)
            writer.cancel()

    async def _end(self, ending: Ending) -> None:
        """Say why the connection ends, then close it; nothing more is sent or acted on."""
        self.ending = ending
        with contextlib.suppress(Exception):
            await self._write(error_frame(ending.error_code, ending.message))
            await self.ws.close(code=ending.close_code, reason=ending.close_reason)

    async def _refuse(self, frame: dict[str, Any]) -> None:
        """End a connection whose hello failed: say why, then close (4401, 1013 or 4400)."""
        closes = {"unauthenticated": 4401, "store_unavailable": CLOSE_TRY_AGAIN}
        with contextlib.suppress(Exception):
            await self._write(frame)
            await self.ws.close(code=closes.get(frame["code"], 4400))

    async def loop(self, adapter: Any) -> None:
        while True:
            try:
                raw = await self.receive()
                if raw is None or self.ending is not None:
                    return
                frame = self.parse(raw, adapter)
            except FrameError as error:
                self.error(error.code, error.message, error.ref)
                continue
            try:
                seq = await self.handle(frame)
            except AccessLostError as lost:
                self.outbox.put_nowait(lost.ending)
                return
            except FrameError as error:
                self.error(error.code, error.message, frame.ref)
            except (ActionError, FlowError) as error:
                self.error(frame_code_of(error), str(error), frame.ref)
            except StoreError as error:
                # Nothing of the frame was applied (R19): the connection stays, and the
                # client sends the frame again.
                self.send(store_error_frame(error, f"a {frame.type} frame", frame.ref))
            else:
                if frame.acked:
                    self.send({"type": "ack", "ref": frame.ref, "seq": seq})

    async def welcome(self, hello: protocol.Hello) -> None:
        raise NotImplementedError

    async def handle(self, frame: Any) -> int | None:
        raise NotImplementedError

    async def closed(self) -> None:
        """Called once when the connection ends, whatever the reason."""


class CustomerConnection(Connection):
    """One per chat: a new connection with the chat's token closes the one before, so
    many connections of one token cannot multiply its frame budget (R19)."""

    chat_id: str
    chat: LiveChat | None = None

    def __init__(self, websocket: WebSocket, container: Container) -> None:
        super().__init__(websocket, container)
        self.connection_id = secrets.token_hex(8)

    async def welcome(self, hello: protocol.Hello) -> None:
        if not hello.token:
            raise AuthenticationError("hello needs the chat token from POST /api/chats")
        self.chat_id, self.chat = await self.service.chat_for_customer(hello.token)
        self.send({"type": "welcome", "role": "customer", "chat_id": self.chat_id})
        if self.chat is not None:
            topic = chat_topic(self.chat_id)
            self.subscribe(topic)
            self.container.fanout.publish(topic, {"customer_connection": self.connection_id})
        # Replays what the customer missed; for a chat that ended meanwhile, up to its end.
        self.outbox.put_nowait(Notice(chat_topic(self.chat_id), {"since": hello.last_seq}))

    async def on_notice(self, topic: str, notice: dict[str, Any]) -> None:
        if "typing" in notice:
            if notice["typing"]["by"] != "customer":
                await self._write(typing_frame(notice, staff=False))
            return
        newer = notice.get("customer_connection")
        if notice.get("resync"):
            await self.service.resync(self.chat_id)  # notices were lost (R20)
        if newer is None:
            known = notice.get("seq")
            if isinstance(known, int):  # what another node committed, maybe carried (R20)
                await self.service.catch_up(self.chat_id, known, notice)
            await self.sync(self.chat_id, since=notice.get("since"), known=known)
        elif newer != self.connection_id:
            message = "this chat was opened on another connection, which replaces this one"
            await self._write(error_frame("replaced", message))
            await self.ws.close(code=CLOSE_REPLACED)

    def live(self) -> LiveChat:
        if self.chat is None:
            raise ConflictError("this chat has ended")
        return self.chat

    async def handle(self, frame: Any) -> int | None:
        match frame:
            case protocol.Ping():
                self.send({"type": "pong", "ref": frame.ref})
                return None
            case protocol.CustomerMessage():
                return await self.service.customer_says(self.live(), frame.text)
            case protocol.CustomerTyping():
                chat = self.live()
                self.relay_typing(chat, customer_typing(chat, frame.active, frame.draft))
                return None
            case protocol.RequestDeletion():
                return await self.service.customer_requests_deletion(self.live())
            case protocol.CustomerEnd():
                return await self.service.customer_ends(self.live())
        raise FrameError("bad_frame", "hello was already received")


class StaffConnection(Connection):
    """A staff member's socket, kept in the node's registry (``live.staff_sockets``) so
    that access taken away closes it at once; each frame is checked as well."""

    staff = True
    user: UserRecord
    credential: Credential

    def __init__(self, websocket: WebSocket, container: Container, cookie_token: str | None):
        super().__init__(websocket, container)
        self.cookie_token = cookie_token
        self.hello_token: str | None = None
        self.connected = False
        self._loop = asyncio.get_running_loop()
        # The session this socket belongs to, kept in use while the portal is open so
        # its idle timeout does not end it under an agent waiting for chats; ``None``
        # for an API token, which has no idle timeout.
        self.session_token: str | None = None
        self.kept_alive = container.auth.now()

    @property
    def user_id(self) -> str:
        return self.user.user_id

    @property
    def credential_key(self) -> tuple[str, str]:
        return self.credential.kind.value, self.credential.credential_id

    @property
    def takes_chats(self) -> bool:
        """A read-only token's socket watches: it is never online for routing."""
        return self.credential.scope.covers(Scope.CHAT)

    async def authenticate(self) -> tuple[UserRecord, Credential]:
        if self.hello_token:
            return await caller_for_token(self.container, self.hello_token)
        return await session_caller(self.container, self.cookie_token)

    async def welcome(self, hello: protocol.Hello) -> None:
        self.hello_token = hello.token or None
        self.user, self.credential = await self.authenticate()
        if self.credential.kind is CredentialKind.SESSION:
            self.session_token = self.hello_token or self.cookie_token
        if self.user.role not in COMPANY_ROLES:
            raise PermissionDeniedError(
                "system operators administer companies from the console; they take no chats"
            )
        self.unsubscribes.append(self.container.staff_sockets.add(self))
        presence = presence_view(
            await self.service.staff_connected(self.user, takes_chats=self.takes_chats)
        )
        self.connected = True
        notices = self.container.company_notices
        self.unsubscribes.append(notices.join(self.user.company_id, self, self.seen))
        self.subscribe(user_topic(self.user.user_id))
        user = self.user
        idle = self.service.idle_timeout
        self.send(
            {
                "type": "welcome",
                "role": user.role,
                "scope": self.credential.scope.value,
                "user": {"user_id": user.user_id, "name": user.name, "login": user.login},
                "available": presence["available"],
                "presence_changed_by": presence["changed_by"],
                "presence_changed_at": presence["changed_at"],
                "away_reason": presence["away_reason"],
                "idle_timeout_seconds": idle.total_seconds() if idle else None,
            }
        )
        await self.service.load_company(user.company_id)
        visible = self.service.visible_chats(user)
        for chat in visible:
            # What the client says it holds is not sent again: a portal reconnecting
            # (a dropped network, a node gone, R20) would otherwise receive every open
            # chat from seq 1. A number above the chat's counts as the chat's own.
            since = min(hello.seen.get(chat.chat_id, 0), chat.record.last_seq)
            if since:
                self._saw(chat.chat_id, since)
            self.outbox.put_nowait(
                Notice(chat_topic(chat.chat_id), {"chat_id": chat.chat_id, "since": since})
            )
        # After the replays: which chats the connection follows, so that a client that
        # reconnects knows which of its chats ended or left it meanwhile without a
        # `sync` per chat (a supervisor's forty would meet the frame limit).
        self.send({"type": "following", "chat_ids": [chat.chat_id for chat in visible]})

    def end(self, reason: str) -> None:
        """Close the socket because its access ended (the registry calls this, from any
        thread): say why, then close with the reason's code."""
        ending = ENDINGS.get(reason) or credential_lost(AuthenticationError(reason))
        with contextlib.suppress(RuntimeError):  # the event loop has closed: so has the socket
            self._loop.call_soon_threadsafe(self.outbox.put_nowait, ending)

    async def check_access(self) -> Ending | None:
        """How the socket must end if its credential or login no longer lets it in as it
        came in; else ``None``, with the login as stored now."""
        try:
            user, _ = await self.authenticate()
        except AuthenticationError as error:
            return credential_lost(error)
        if user.role != self.user.role:
            return ENDINGS[AccessEnded.ROLE_CHANGED]
        self.user = user
        return None

    async def verify(self) -> None:
        if (ending := await self.check_access()) is not None:
            self.outbox.put_nowait(ending)

    @property
    def sees_every_chat(self) -> bool:
        return self.user.role is LoginRole.SUPERVISOR

    def _saw(self, chat_id: str, seq: int) -> None:
        if chat_id not in self.seen:
            self.container.company_notices.saw(self.user.company_id, self, chat_id)
        super()._saw(chat_id, seq)

    def hear(self, topic: str, notice: dict[str, Any]) -> None:
        """A notice of the company's (``live.company_notices`` picked this socket)."""
        self._notice(topic, notice)

    def _notice(self, topic: str, notice: dict[str, Any]) -> None:
        if self._concerns(notice):
            super()._notice(topic, notice)

    def _concerns(self, notice: dict[str, Any]) -> bool:
        """Whether a notice may change what this socket shows, decided as it is published
        (``live.company_notices`` hands a socket only the company's notices that may
        concern it; this is the socket's own, exact judgement).  Passed on: all but a
        chat's notices, every notice for a supervisor (who follows every chat) or about a
        chat this socket was sent, and, for a chat this node holds up to date, those of
        its participants; for a chat it does not (another node's change), as
        ``on_notice`` would judge it."""
        chat_id = followers_chat(notice)
        if chat_id is None:
            return True
        if chat_id in self.seen or self.sees_every_chat:
            return True
        if behind(self.service.find(chat_id), notice):
            return may_concern(notice, self.user.user_id, False)
        return self.follows(chat_id)

    def follows(self, chat_id: str) -> bool:
        chat = self.service.find(chat_id)
        if chat is None:
            return chat_id in self.seen
        if chat.record.company_id != self.user.company_id:
            return False
        return self.sees_every_chat or self.user.user_id in chat.present()

    async def on_notice(self, topic: str, notice: dict[str, Any]) -> None:
        if "presence" in notice:
            await self._write({"type": "presence", **notice["presence"]})
            return
        if "typing" in notice:
            mine = notice["typing"]["user_id"] == self.user.user_id
            if not mine and self.follows(notice["chat_id"]):
                await self._write(typing_frame(notice, staff=True))
            return
        if notice.get("resync"):
            # Notices between nodes were lost (R20): catch up on every chat by sequence.
            await self.service.load_company(self.user.company_id)
            visible = {chat.chat_id for chat in self.service.visible_chats(self.user)}
            for missed in sorted(visible | set(self.seen)):
                await self.on_notice(topic, {"chat_id": missed})
            return
        chat_id = notice.get("chat_id") or notice.get("assigned")
        if not chat_id:
            return
        known = notice.get("seq")
        if self.service.find(chat_id) is None and chat_id not in self.seen:
            # Opened on another node (R20): read only if this login may follow it.
            if not may_concern(notice, self.user.user_id, self.sees_every_chat):
                return
            await self.service.ensure(chat_id)
        elif isinstance(known, int):
            # Changed on another node: whether it is followed depends on the change.
            await self.service.catch_up(chat_id, known, notice)
        if self.follows(chat_id):
            await self.sync(chat_id, since=notice.get("since"), known=notice.get("seq"))
        elif chat_id in self.seen and (chat := self.service.find(chat_id)) is not None:
            # Left or transferred away: one last summary (without them), then silence.
            del self.seen[chat_id]
            self.container.company_notices.forgot(self.user.company_id, self, chat_id)
            summary = chat_summary(chat, staff=True)
            await self._write({"type": "chat", "chat": summary})

    async def closed(self) -> None:
        if self.connected:
            await self.service.staff_disconnected(self.user, takes_chats=self.takes_chats)

    async def keep_alive(self) -> None:
        """Note the session's use, at most once per the auth service's touch interval."""
        auth = self.container.auth
        if self.session_token is None:
            return
        if auth.now() - self.kept_alive < auth.touch_every:
            return
        self.kept_alive = auth.now()
        await auth.keep_alive(self.session_token)

    async def handle(self, frame: Any) -> int | None:
        if isinstance(frame, protocol.Ping):
            await self.keep_alive()  # the portal's ping keeps its session from idling out
            self.send({"type": "pong", "ref": frame.ref})
            return None
        # Whatever the registry may have missed (another node, the command line), no frame
        # acts for a login disabled, a credential gone, or a role the socket did not open with.
        if (ending := await self.check_access()) is not None:
            raise AccessLostError(ending)
        if not self.takes_chats and not isinstance(frame, protocol.Sync):
            raise ScopeError(
                f"{self.credential.what} may only read: send sync or ping, or connect with a "
                "token of scope chat or full"
            )
        service, user = self.service, self.user
        await self.keep_alive()
        if user.role is LoginRole.AGENT and not isinstance(frame, protocol.Sync):
            await service.agent_active(user)  # what the agent sends, not what the portal does alone
        chat_id = frame_field(frame, "chat_id")
        if isinstance(chat_id, str) and service.find(chat_id) is None:
            await service.ensure(chat_id)  # opened on another node (R20)
        match frame:
            case protocol.Presence():
                await service.set_presence(user, frame.available, reason=frame.reason)
                return None
            case protocol.Active():
                if user.role is not LoginRole.AGENT:
                    raise PermissionDeniedError("only agents have a presence to keep")
                return None
            case protocol.Sync():
                service.chat_for_staff(user, frame.chat_id)
                self.outbox.put_nowait(
                    Notice(
                        chat_topic(frame.chat_id),
                        {"chat_id": frame.chat_id, "since": frame.last_seq},
                    )
                )
                return None
            case protocol.StaffMessage():
                chat = service.chat_for_staff(user, frame.chat_id)
                return await service.staff_says(user, chat, frame.text)
            case protocol.StaffTyping():
                chat = service.chat_for_staff(user, frame.chat_id)
                self.relay_typing(chat, staff_typing(chat, user, frame.active))
                return None
            case protocol.WrapUp():
                chat = service.chat_for_staff(user, frame.chat_id)
                return await service.choose_wrap_up(user, chat, frame.code)
            case protocol.StaffNote():
                chat = service.chat_for_staff(user, frame.chat_id)
                return await service.staff_notes(user, chat, frame.text)
            case protocol.Transfer():
                chat = service.chat_for_staff(user, frame.chat_id)
                return await service.transfer(
                    user, chat, to_agent=frame.to_agent, to_queue=frame.to_queue, note=frame.note
                )
            case protocol.ChatAction():
                chat = service.chat_for_staff(user, frame.chat_id)
                if frame.type in ACTIONS:
                    return await service.recording_action(user, chat, ACTIONS[frame.type])
                if frame.type == "join":
                    return await service.join(user, chat)
                if frame.type == "leave":
                    return await service.leave(user, chat)
                return await service.staff_ends(user, chat)
        raise FrameError("bad_frame", "hello was already received")
