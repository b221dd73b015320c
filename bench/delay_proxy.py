"""A TCP proxy that holds each direction's bytes for a fixed time: a long link on loopback.

``tc netem`` needs privileges this machine does not give, so the delivery benchmark
puts this between the SFTP client and the server instead: 10 ms each way is a round
trip 20 ms longer, as between a contact centre and a platform in another region.

Only latency is added, not a bandwidth limit: bytes are forwarded in the order they
came, each chunk once its delay has passed.  Reading pauses while too much waits, so a
fast sender meets the back-pressure a real link gives.  Run it in a process of its own
(``python -m bench.delay_proxy``): in the client's process it would take the client's CPU.

    with delayed_link("127.0.0.1", 2222, delay=0.010) as port:
        ...  # connect to 127.0.0.1:port
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import signal
import subprocess
import sys
from collections.abc import Iterator

HIGH_WATER = 4 << 20  # bytes waiting in one direction before its reader pauses
LOW_WATER = 1 << 20


class _Direction(asyncio.Protocol):
    """One side's socket: what it receives goes, delayed, to the other side."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.transport: asyncio.Transport | None = None
        self.peer: _Direction | None = None
        self.waiting: collections.deque[tuple[float, bytes]] = collections.deque()
        self.waiting_bytes = 0
        self.timer: asyncio.TimerHandle | None = None
        self.reading_paused = False
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.waiting.append((loop.time() + self.delay, data))
        self.waiting_bytes += len(data)
        if self.timer is None:
            self.timer = loop.call_at(self.waiting[0][0], self._forward)
        if self.waiting_bytes > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True

    def _forward(self) -> None:
        """Hand the peer every chunk whose time has come; wake again for the next."""
        self.timer = None
        peer = self.peer.transport if self.peer is not None else None
        if peer is None:
            return  # the other side is still connecting; it forwards once it is there
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.waiting and self.waiting[0][0] <= now:
            _, data = self.waiting.popleft()
            self.waiting_bytes -= len(data)
            if not peer.is_closing():
                peer.write(data)
        if self.waiting:
            self.timer = loop.call_at(self.waiting[0][0], self._forward)
        elif self.closing:
            # The end of the stream travels as late as the bytes before it.
            peer.close()
        if self.reading_paused and self.waiting_bytes < LOW_WATER and self.transport is not None:
            self.transport.resume_reading()
            self.reading_paused = False

    def eof_received(self) -> bool:
        self._close_after_waiting()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._close_after_waiting()

    def _close_after_waiting(self) -> None:
        self.closing = True
        if not self.waiting and self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


async def serve(listen_port: int, target_host: str, target_port: int, delay: float) -> None:
    """Accept on 127.0.0.1:``listen_port`` (0: any) and print the port, then forever."""
    loop = asyncio.get_running_loop()
    connecting: set[asyncio.Task[None]] = set()

    def client_side() -> _Direction:
        client = _Direction(delay)

        async def connect() -> None:
            server = _Direction(delay)
            try:
                await loop.create_connection(lambda: server, target_host, target_port)
            except OSError:
                if client.transport is not None:
                    client.transport.close()
                return
            if client.transport is None or client.transport.is_closing():
                if server.transport is not None:
                    server.transport.close()
                return
            client.peer, server.peer = server, client
            # Bytes either side sent while the server side was connecting go now.
            for side in (client, server):
                if side.waiting and side.timer is None:
                    side._forward()

        task = loop.create_task(connect())
        connecting.add(task)
        task.add_done_callback(connecting.discard)
        return client

    listener = await loop.create_server(client_side, "127.0.0.1", listen_port)
    port = listener.sockets[0].getsockname()[1]
    print(port, flush=True)
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    async with listener:
        await stop.wait()


@contextlib.contextmanager
def delayed_link(target_host: str, target_port: int, *, delay: float) -> Iterator[int]:
    """A proxy process to ``target`` adding ``delay`` seconds each way; yields its port."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter and this module
        [
            sys.executable,
            "-m",
            "bench.delay_proxy",
            "--target",
            f"{target_host}:{target_port}",
            "--delay-ms",
            f"{delay * 1000:g}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the delay proxy did not start (it said {line!r})")
        yield int(line)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, default=10.0, help="added each way")
    parser.add_argument("--port", type=int, default=0, help="where to listen; 0: any")
    options = parser.parse_args()
    host, _, port = options.target.rpartition(":")
    asyncio.run(serve(options.port, host, int(port), options.delay_ms / 1000))


if __name__ == "__main__":
    main()
