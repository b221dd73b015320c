"""The SSH connection's transport gathers a turn's writes and keeps their order (issue 13)."""

from __future__ import annotations

import asyncio
import socket

from chatrec.delivery.sftp.coalesce import CoalescingTunnel


class Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set_result(exc)


def test_writes_of_one_turn_leave_together_in_order_and_a_close_sends_them_first() -> None:
    async def scenario() -> None:
        ours, theirs = socket.socketpair()
        loop = asyncio.get_running_loop()
        try:
            transport, client = await CoalescingTunnel(ours).create_connection(
                Collect, "platform", 22
            )
            _, server = await loop.create_connection(Collect, sock=theirs)
            sent: list[bytes] = []
            real_write = transport._transport.write  # type: ignore[attr-defined]

            def spy(data: bytes) -> None:
                sent.append(bytes(data))
                real_write(data)

            transport._transport.write = spy  # type: ignore[attr-defined]
            for n in range(5):
                transport.write(b"packet %d;" % n)
            assert sent == []  # nothing until the turn ends
            await asyncio.sleep(0)
            assert sent == [b"packet 0;packet 1;packet 2;packet 3;packet 4;"]
            assert transport.get_extra_info("socket") is not None
            transport.write(b"bye")
            transport.close()  # at once, not a turn later: still delivered
            await asyncio.wait_for(server.lost, 5)
            assert sent[-1] == b"bye"
            assert bytes(server.received) == b"packet 0;packet 1;packet 2;packet 3;packet 4;bye"
            await asyncio.wait_for(client.lost, 5)
        finally:
            ours.close()
            theirs.close()

    asyncio.run(scenario())
