"""A connection's send queue: first in, first out, the writer woken by whatever comes."""

from __future__ import annotations

import asyncio

import pytest

from chatrec.web.sendqueue import SendQueue


def test_items_come_out_in_the_order_they_went_in() -> None:
    async def scenario() -> list[int]:
        queue: SendQueue[int] = SendQueue()
        for item in range(5):
            queue.put_nowait(item)
        first = [await queue.get() for _ in range(3)]
        queue.put_nowait(5)
        return first + [await queue.get() for _ in range(3)]

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4, 5]


def test_a_waiting_writer_is_woken_by_a_put_even_from_another_thread() -> None:
    async def scenario() -> list[str | None]:
        queue: SendQueue[str | None] = SendQueue()
        loop = asyncio.get_running_loop()
        got: list[str | None] = []

        async def writer() -> None:
            while (item := await queue.get()) is not None:
                got.append(item)
            got.append(None)

        task = asyncio.create_task(writer())
        await asyncio.sleep(0)
        queue.put_nowait("a")
        await asyncio.sleep(0)
        await loop.run_in_executor(None, loop.call_soon_threadsafe, queue.put_nowait, "b")
        queue.put_nowait(None)
        await asyncio.wait_for(task, 5)
        return got

    assert asyncio.run(scenario()) == ["a", "b", None]


def test_a_writer_cancelled_while_waiting_leaves_the_queue_usable() -> None:
    async def scenario() -> int:
        queue: SendQueue[int] = SendQueue()
        task = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        queue.put_nowait(7)
        return await queue.get()

    assert asyncio.run(scenario()) == 7
