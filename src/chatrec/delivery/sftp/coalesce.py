"""SSH packets written in one event-loop turn leave in one ``send``, not one each.

asyncssh writes every SSH packet to its transport at once, with ``TCP_NODELAY``: each
SFTP request is a system call, and a wake-up of the server's ``sshd``.  With many files
in flight, the requests of one turn of the loop (a batch of answers came in, each
upload sends its next request) were a third of the delivery worker's time on loopback
(issue 13).  :class:`CoalescingTunnel` is asyncssh's ``tunnel`` hook over a socket
already connected (the egress-checked one): the connection's transport keeps what is
written during a turn and writes it, joined, at the turn's end.  Nothing waits longer
than the current turn; the order of bytes is kept.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, cast


class _CoalescingTransport(asyncio.Transport):
    """The socket's transport, as the SSH connection sees it: writes gathered per turn."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._pending.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()  # what was written before the close still goes
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class _Relay(asyncio.Protocol):
    """Between the socket's transport and the SSH connection: hands the connection the
    coalescing transport, and passes every event on unchanged."""

    def __init__(self, inner: asyncio.Protocol, loop: asyncio.AbstractEventLoop) -> None:
        self.inner = inner
        self.loop = loop
        self.transport: _CoalescingTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = _CoalescingTransport(cast(asyncio.Transport, transport), self.loop)
        self.inner.connection_made(self.transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class CoalescingTunnel:
    """asyncssh's ``tunnel=``: the SSH connection runs over ``sock``, its writes gathered
    per event-loop turn.  One use: ``sock`` is the connection's."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    async def create_connection(
        self, session_factory: Callable[[], asyncio.Protocol], _host: str, _port: int
    ) -> tuple[asyncio.Transport, asyncio.Protocol]:
        loop = asyncio.get_running_loop()
        _, relay = await loop.create_connection(
            lambda: _Relay(session_factory(), loop), sock=self.sock
        )
        assert relay.transport is not None  # connection_made has run
        return relay.transport, relay.inner
