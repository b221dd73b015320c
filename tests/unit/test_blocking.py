"""Blocking calls handed to chatrec's own threads (``chatrec.blocking``)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chatrec.blocking import THREADS, run_blocking


def test_a_call_runs_off_the_loop_and_answers_with_its_result() -> None:
    async def scenario() -> tuple[int, str]:
        return threading.get_ident(), await run_blocking(
            lambda a, b="": f"{a}{b}:{threading.get_ident()}", "x", b="y"
        )

    loop_thread, answer = asyncio.run(scenario())
    text, _, thread = answer.partition(":")
    assert text == "xy"
    assert int(thread) != loop_thread


def test_an_error_reaches_the_caller_as_raised() -> None:
    def fail() -> None:
        raise LookupError("no chat 'C9'")

    with pytest.raises(LookupError, match="no chat 'C9'"):
        asyncio.run(run_blocking(fail))


def test_calls_run_side_by_side_up_to_the_thread_count() -> None:
    """A call waiting (a slow database) holds one thread; the others go on."""
    both = threading.Barrier(2, timeout=5)

    async def scenario() -> list[int]:
        return list(await asyncio.gather(run_blocking(both.wait), run_blocking(both.wait)))

    assert sorted(asyncio.run(scenario())) == [0, 1]
    assert THREADS >= 2


def test_a_cancelled_caller_leaves_the_threads_serving() -> None:
    release = threading.Event()

    async def scenario() -> str:
        waiting = asyncio.ensure_future(run_blocking(release.wait, 5))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        release.set()  # the cancelled call ends in its thread; its answer is dropped
        return await run_blocking(str.upper, "next")

    assert asyncio.run(scenario()) == "NEXT"


def test_an_answer_for_a_closed_loop_is_dropped_and_every_thread_serves_on() -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        release.wait(5)
        finished.set()

    async def leave_early() -> asyncio.Future[None]:
        running = asyncio.ensure_future(run_blocking(slow))
        await asyncio.sleep(0.01)
        return running

    asyncio.run(leave_early())  # the loop closes with the call still running
    release.set()
    assert finished.wait(5)
    every = threading.Barrier(THREADS, timeout=5)  # broken if a thread died answering

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(run_blocking(every.wait) for _ in range(THREADS))))

    assert sorted(asyncio.run(scenario())) == list(range(THREADS))
