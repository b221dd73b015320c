"""One node of the demo company, in process on the real store: what the service tests
that need no second node share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chatrec.bootstrap import build
from chatrec.config import Config
from chatrec.demo.company import seed_demo
from chatrec.web.container import Container


@contextmanager
def demo_node(database_url: str, data_dir: Path) -> Iterator[Container]:
    """A node's container on the database, the demo company seeded; its store closed after."""
    node = build(Config(data_dir=data_dir, database_url=database_url))
    try:
        seed_demo(node.store, data_dir)
        yield node
    finally:
        node.store.close()


def run_on(node: Container, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run ``scenario`` with the node's group commit running, stopped after."""

    async def main() -> None:
        node.committer.start()
        try:
            await scenario()
        finally:
            await node.committer.stop()

    asyncio.run(main())
