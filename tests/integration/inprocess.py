"""The real application served by uvicorn on a thread of the test process, on a real socket.

For tests that need real WebSockets (with time limits) and what the process does inside
(its log, its store) without the cost of a ``chatrec demo`` child process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.demo.company import seed_demo
from chatrec.store.migrations import migrate
from chatrec.web.app import create_app
from chatrec.web.container import Container

STARTUP_SECONDS = 20


@dataclass(frozen=True)
class InProcessServer:
    port: int
    container: Container

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextmanager
def serving(app: FastAPI) -> Iterator[int]:
    """``app`` listening on a free loopback port (yielded), lifespan and all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port: int = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the in-process server did not start")
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)
        listener.close()


@contextmanager
def demo_server(data_dir: Path, database_url: str) -> Iterator[InProcessServer]:
    """The demo company (``chatrec demo``'s seed) served in process; no delivery runs."""
    config = Config(data_dir=data_dir, database_url=database_url, delivery_in_server=False)
    container = build(config)
    try:
        seed_demo(container.store, config.data_dir)
        with serving(create_app(container)) as port:
            yield InProcessServer(port, container)
    finally:
        container.store.close()


@contextmanager
def empty_app(data_dir: Path) -> Iterator[FastAPI]:
    """The app over a migrated, empty SQLite store in ``data_dir``, not served: for
    requests sent through ``httpx.ASGITransport``."""
    config = Config(data_dir=data_dir)
    migrate(config.effective_database_url)
    container = build(config)
    try:
        yield create_app(container)
    finally:
        container.store.close()
