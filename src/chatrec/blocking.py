"""Blocking calls of live chats and logins (the store's reads, an end's rendering) run
off the event loop on threads of their own.

``asyncio.to_thread`` costs 22 to 95 µs of CPU a call on uvloop (a ``Future`` for the
executor, another for the loop, the idle-thread semaphore, a copy of the context),
and the threads hold the GIL the loop waits for: a chat made about ten such calls
(issue 13, chat_lifecycle), a staff frame one.  Here a call is a tuple on a
``SimpleQueue`` and its answer one ``call_soon_threadsafe``: 5 to 48 µs.  Password
hashes and the API's occasional reads stay on the loop's default executor, so a burst
of sign-ins never holds up the calls of chats under way.

Context variables are not carried into the thread (chatrec sets none).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

THREADS = min(32, (os.cpu_count() or 1) + 4)
"""As many as the loop's default executor has: a call waiting on a slow database holds
one, and others go on."""

_Call = tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Callable[[], Any]]
_calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
_started = 0
_starting = threading.Lock()


async def run_blocking(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` on one of the threads; its result, or its error.

    Cancelling the caller leaves the call to finish in its thread, its answer dropped,
    as with ``asyncio.to_thread``."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()
    _start_threads()
    _calls.put((answer, loop, lambda: function(*args, **kwargs)))
    return await answer


def _start_threads() -> None:
    global _started
    if _started:
        return
    with _starting:
        while _started < THREADS:
            _started += 1
            name = f"chatrec-blocking-{_started}"
            threading.Thread(target=_serve, name=name, daemon=True).start()


def _serve() -> None:
    while True:
        answer, loop, call = _calls.get()
        try:
            result = call()
        except BaseException as error:  # handed to the caller, as to_thread does
            _answer(loop, _set_error, answer, error)
        else:
            _answer(loop, _set_result, answer, result)
        del answer, loop, call  # no reference kept while waiting for the next


def _answer(
    loop: asyncio.AbstractEventLoop,
    settle: Callable[[asyncio.Future[Any], Any], None],
    answer: asyncio.Future[Any],
    value: Any,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
        loop.call_soon_threadsafe(settle, answer, value)


def _set_result(answer: asyncio.Future[Any], result: Any) -> None:
    if not answer.done():  # the caller was cancelled
        answer.set_result(result)


def _set_error(answer: asyncio.Future[Any], error: BaseException) -> None:
    if not answer.done():
        answer.set_exception(error)
