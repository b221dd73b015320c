"""``chatrec simulate``: scripted chats over the public protocol, for load tests and benchmarks.

Customers and agents are real clients of ``docs/protocol.md``: customers start chats
with ``POST /api/chats`` and talk over ``/ws/customer``; agents log in, go Available on
``/ws/staff`` and answer the chats they are given.  Each chat follows a plan drawn from
the seed before anything runs (which chats pause, transfer, ask for deletion, decline
consent, and who ends them), so two runs with one seed do the same things; only the
timings, and which agent takes which chat, differ.

Agents act on what the protocol shows them: they answer a customer message they see
unanswered, press Delete recording when they see the request, resume a pause they
find.  From the simulation they learn only the chat's plan and which scripted message
a text is, which tells them *when* to pause or transfer, as a script tells a tester.

The tool never stops on a server's refusal or a lost connection: it counts it by code
and the chat it broke, and reports it in the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import math
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

Frame = dict[str, Any]
Ender = Literal["customer", "agent"]
ENV_PREFIX = "CHATREC_SIMULATE_PASSWORD_"
DEMO_LOGINS = "demo-logins.json"
STAFF_ROLES = {"agent", "supervisor"}
FREE_TEXT_AFTER = 2.0


class SimulationError(Exception):
    """Something the simulation could not get past; ``code`` is what the summary counts.

    Server error frames keep their own code (``conflict``, ``rate_limited``, ...); the
    simulation's own are ``timeout``, ``connection_failed``, ``connection_lost``,
    ``http_failed``, ``http_<status>``, ``bad_server_frame`` and ``unexpected_answer``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SetupError(Exception):
    """The simulation cannot start: no password for an agent, no agent could log in."""


# What stops one chat or one agent, counted: the server refused or went silent, or
# answered with something that is not the protocol (a missing field, a wrong type).
FAILURES = (SimulationError, TimeoutError, KeyError, TypeError, ValueError)


# -- what to do --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    """A run, as ``chatrec simulate``'s options describe it (shares are of all chats)."""

    url: str = "http://127.0.0.1:8400"
    chats: int = 10
    concurrency: int = 5
    services: tuple[str, ...] = ("demo-support",)
    agents: tuple[str, ...] = ("alice", "carol")
    messages: int = 6
    pause_share: float = 0.3
    transfer_share: float = 0.1
    delete_share: float = 0.1
    consent_no_share: float = 0.2
    agent_end_share: float = 0.5
    seed: int = 1
    frames_per_second: float = 15.0
    timeout: float = 30.0
    chat_timeout: float = 120.0
    think_seconds: float = 0.0
    """The customer's pause before each message; 0 sends each as soon as the last is
    answered.  A chat starts after a share of it drawn from its plan, so that a steady
    load (the benchmarks' one message every few seconds per side) does not start as
    one burst.  Not a command-line option: benchmarks set it."""

    def __post_init__(self) -> None:
        if not self.services or not self.agents:
            raise SetupError("name at least one service and one agent")
        if self.chats < 0 or self.concurrency < 1 or self.messages < 0:
            raise SetupError("chats and messages cannot be negative; concurrency is at least 1")

    @property
    def ws_url(self) -> str:
        return re.sub(r"^http", "ws", self.url.rstrip("/"))


@dataclass(frozen=True, slots=True)
class ChatPlan:
    """What one chat will do; message numbers ``k`` count the customer's, from 1."""

    index: int
    service_id: str
    choice: int
    pause_at: int | None
    transfer_at: int | None
    delete_at: int | None
    consent_no: bool
    ender: Ender


def _chosen(rng: random.Random, members: Sequence[int], share: float) -> set[int]:
    """Exactly ``round(share * len)`` members, so small runs still do a bit of each."""
    return set(rng.sample(members, round(share * len(members))))


def plan_chats(options: Options) -> list[ChatPlan]:
    """Every chat's plan, from the seed alone; services are dealt in turn.

    Shares are drawn within each service's chats, so ``consent_no_share`` holds exactly
    for the chats of a consent-first service, not only on average.
    """
    rng = random.Random(options.seed)  # noqa: S311 (reproducible plans, no secrets)
    services, last = options.services, options.messages
    groups = [range(n, options.chats, len(services)) for n in range(len(services))]
    shares = {
        "pause": options.pause_share,
        "transfer": options.transfer_share,
        "delete": options.delete_share,
        "no": options.consent_no_share,
        "agent_ends": options.agent_end_share,
    }
    chosen = {
        name: set().union(*(_chosen(rng, group, share) for group in groups))
        for name, share in shares.items()
    }

    def moment(name: str, index: int, latest: int) -> int | None:
        return rng.randint(1, latest) if index in chosen[name] and last else None

    return [
        ChatPlan(
            index=index,
            service_id=services[index % len(services)],
            choice=rng.randrange(1 << 16),
            # A pause comes before an answer the customer follows up, so it gets resumed.
            pause_at=moment("pause", index, max(1, last - 1)),
            transfer_at=moment("transfer", index, last),
            delete_at=moment("delete", index, last),
            consent_no=index in chosen["no"],
            ender="agent" if index in chosen["agent_ends"] and last else "customer",
        )
        for index in range(options.chats)
    ]


# -- what happened ------------------------------------------------------------------


@dataclass
class ChatRun:
    """One chat as it goes: its plan and what was done, by customer and agents alike."""

    plan: ChatPlan
    chat_id: str | None = None
    consent: str | None = None
    paused: bool = False
    transferred: bool = False
    deletion_requested: bool = False
    delete_pressed: bool = False
    ended: bool = False
    ended_by: str | None = None
    error: str | None = None

    def result(self) -> dict[str, Any]:
        done = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "plan"}
        return {"index": self.plan.index, "service": self.plan.service_id, **done}


@dataclass
class Stats:
    messages_sent: int = 0
    messages_acked: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    transfer_fallbacks: int = 0
    foreign_chats: int = 0
    ack_seconds: list[float] = field(default_factory=list)
    delivery_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class Summary:
    url: str
    seed: int
    chats: int
    concurrency: int
    agents: list[str]
    chats_started: int
    chats_ended: int
    chats_failed: int
    messages_sent: int
    messages_acked: int
    actions: dict[str, int]
    errors: dict[str, int]
    transfer_fallbacks: int
    foreign_chats: int
    send_to_ack: Latency
    customer_to_agent: Latency
    messages_per_second: float
    chats_per_second: float
    wall_seconds: float
    results: list[dict[str, Any]]

    @property
    def clean(self) -> bool:
        return self.chats_ended == self.chats and not self.errors


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest value with at least ``percent`` % of values at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latency(seconds: Sequence[float]) -> Latency:
    if not seconds:
        return Latency(0, None, None, None)
    p50, p95, p99 = (round(percentile(seconds, p) * 1000, 2) for p in (50, 95, 99))
    return Latency(len(seconds), p50, p95, p99)


def summarise(options: Options, runs: Sequence[ChatRun], stats: Stats, wall: float) -> Summary:
    ended = sum(run.ended for run in runs)
    return Summary(
        url=options.url,
        seed=options.seed,
        chats=options.chats,
        concurrency=options.concurrency,
        agents=list(options.agents),
        chats_started=sum(run.chat_id is not None for run in runs),
        chats_ended=ended,
        chats_failed=len(runs) - ended,
        messages_sent=stats.messages_sent,
        messages_acked=stats.messages_acked,
        actions=dict(sorted(stats.actions.items())),
        errors=dict(sorted(stats.errors.items())),
        transfer_fallbacks=stats.transfer_fallbacks,
        foreign_chats=stats.foreign_chats,
        send_to_ack=latency(stats.ack_seconds),
        customer_to_agent=latency(stats.delivery_seconds),
        messages_per_second=round(stats.messages_acked / wall, 2) if wall else 0.0,
        chats_per_second=round(ended / wall, 2) if wall else 0.0,
        wall_seconds=round(wall, 3),
        results=[run.result() for run in runs],
    )


def summary_json(summary: Summary) -> str:
    return json.dumps(asdict(summary), indent=2)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _latency_line(found: Latency) -> str:
    return (
        f"p50 {_ms(found.p50_ms)}, p95 {_ms(found.p95_ms)}, p99 {_ms(found.p99_ms)}"
        f" ({found.count} samples)"
    )


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.items()) or "none"


def _foreign(count: int) -> list[tuple[str, str]]:
    if not count:
        return []
    return [("other chats", f"{count} given to the agents were not this run's; left alone")]


def _fallbacks(count: int) -> str:
    return f" ({count} to the queue: target agent busy)" if count else ""


def summary_text(summary: Summary) -> str:
    rows = [
        (
            "chats",
            f"started {summary.chats_started}, ended {summary.chats_ended}, "
            f"failed {summary.chats_failed}",
        ),
        ("messages", f"sent {summary.messages_sent}, acked {summary.messages_acked}"),
        ("actions", _counts(summary.actions) + _fallbacks(summary.transfer_fallbacks)),
        ("errors", _counts(summary.errors)),
        *_foreign(summary.foreign_chats),
        ("send to ack", _latency_line(summary.send_to_ack)),
        ("customer to agent", _latency_line(summary.customer_to_agent)),
        (
            "throughput",
            f"{summary.messages_per_second} messages/s, {summary.chats_per_second} chats/s",
        ),
        ("wall time", f"{summary.wall_seconds:.2f} s"),
    ]
    head = (
        f"chatrec simulate: {summary.chats} chats, concurrency {summary.concurrency}, "
        f"agents {','.join(summary.agents)}, seed {summary.seed}, {summary.url}"
    )
    return "\n".join([head, *(f"  {label:<19}{value}" for label, value in rows)])


# -- one connection ------------------------------------------------------------------


class Pacer:
    """Spaces a connection's frames to stay under the server's per-connection rate."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1 / per_second
        self.next_at = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self.next_at > now:
            await asyncio.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


class Link:
    """One WebSocket: a reader that hands every frame on, and requests answered by ref.

    Requests go one at a time, so that an ``error`` the server sends without a ``ref``
    (a frame refused before it was parsed) still belongs to the request in flight.
    """

    def __init__(
        self,
        ws: ClientConnection,
        on_frame: Callable[[Frame], None],
        stats: Stats,
        options: Options,
    ) -> None:
        self.ws = ws
        self.on_frame = on_frame
        self.stats = stats
        self.timeout = options.timeout
        self.pacer = Pacer(options.frames_per_second)
        self.refs = itertools.count(1)
        self.pending: dict[str, asyncio.Future[Frame]] = {}
        self.turn = asyncio.Lock()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    self._take(json.loads(raw))
                except (ValueError, KeyError, TypeError, AttributeError):
                    self.stats.errors["bad_server_frame"] += 1
        except ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(SimulationError("connection_lost", "connection closed"))

    def _take(self, frame: Frame) -> None:
        if frame.get("type") in {"ack", "error"}:
            ref = frame.get("ref")
            if ref is None and len(self.pending) == 1:
                ref = next(iter(self.pending))
            future = self.pending.pop(ref, None) if ref is not None else None
            if future is not None and not future.done():
                future.set_result(frame)
                return
            if frame["type"] == "error":
                self.stats.errors[str(frame.get("code"))] += 1
        self.on_frame(frame)

    async def request(self, frame: Frame, sent: Sent | None = None) -> Frame:
        """Send a frame and return its ``ack``; an ``error`` frame is raised with its code.

        ``sent`` is stamped with the moment the frame leaves, after any pacing.
        """
        async with self.turn:
            await self.pacer.wait()
            ref = f"s{next(self.refs)}"
            future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
            self.pending[ref] = future
            is_message = frame["type"] == "message"
            self.stats.messages_sent += is_message
            sent_at = time.monotonic()
            if sent is not None:
                sent.at = sent_at
            try:
                await self.ws.send(json.dumps({**frame, "ref": ref}))
                answer = await asyncio.wait_for(future, self.timeout)
            except ConnectionClosed:
                raise SimulationError("connection_lost", "connection closed") from None
            except TimeoutError:
                raise SimulationError("timeout", f"no answer to {frame['type']}") from None
            finally:
                self.pending.pop(ref, None)
        if answer["type"] == "error":
            raise SimulationError(str(answer.get("code")), str(answer.get("message")))
        self.stats.ack_seconds.append(time.monotonic() - sent_at)
        self.stats.messages_acked += is_message
        if not is_message:
            self.stats.actions[frame["type"]] += 1
        return answer

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        with contextlib.suppress(Exception):
            await self.reader


async def open_link(
    url: str, token: str, on_frame: Callable[[Frame], None], stats: Stats, options: Options
) -> tuple[Link, Frame]:
    """Connect and say hello; returns the link and the ``welcome`` frame."""
    try:
        ws = await connect(url, open_timeout=options.timeout)
    except (OSError, InvalidHandshake, TimeoutError) as error:
        raise SimulationError("connection_failed", f"{url}: {error}") from None
    welcomed: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

    def first(frame: Frame) -> None:
        if not welcomed.done() and frame.get("type") in {"welcome", "error"}:
            welcomed.set_result(frame)
        else:
            on_frame(frame)

    link = Link(ws, first, stats, options)
    try:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        welcome = await asyncio.wait_for(welcomed, options.timeout)
    except (ConnectionClosed, TimeoutError):
        await link.close()
        raise SimulationError("connection_lost", f"{url}: no welcome") from None
    if welcome["type"] == "error":
        await link.close()
        raise SimulationError(str(welcome.get("code")), str(welcome.get("message")))
    link.on_frame = on_frame
    return link, welcome


async def post(http: httpx.AsyncClient, path: str, body: Frame) -> Frame:
    try:
        response = await http.post(path, json=body)
    except httpx.HTTPError as error:
        raise SimulationError("http_failed", f"POST {path}: {error}") from None
    if response.is_error:
        raise SimulationError(f"http_{response.status_code}", f"POST {path}: {response.text}")
    found: Frame = response.json()
    return found


# -- what a client has seen of a chat ---------------------------------------------------


@dataclass
class ChatView:
    """The events and latest summary of one chat, as one client received them."""

    events: dict[int, Frame] = field(default_factory=dict)
    summary: Frame = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, frame: Frame) -> None:
        if frame["type"] == "event":
            self.events[frame["seq"]] = frame["event"]
        elif frame["type"] == "chat":
            self.summary = frame["chat"]
        self.changed.set()

    def ordered(self) -> list[tuple[int, Frame]]:
        return sorted(self.events.items())

    def of_type(self, kind: str) -> list[tuple[int, Frame]]:
        return [(seq, event) for seq, event in self.ordered() if event["type"] == kind]

    def last(self, *kinds: str) -> str | None:
        found = [event["type"] for _, event in self.ordered() if event["type"] in kinds]
        return found[-1] if found else None

    @property
    def status(self) -> str | None:
        status: str | None = self.summary.get("status")
        return status

    @property
    def ended(self) -> bool:
        return self.status == "ended" or bool(self.of_type("ended"))

    @property
    def paused(self) -> bool:
        return self.last("paused", "resumed") == "paused"

    def answered(self, seq: int) -> bool:
        """Whether staff wrote after event ``seq`` (or the chat ended: no answer to come)."""
        return self.ended or any(
            s > seq and e["type"] == "message" and e["by"]["role"] in STAFF_ROLES
            for s, e in self.ordered()
        )

    def summary_reached(self, seq: int) -> bool:
        last: int = self.summary.get("last_seq", 0)
        return last >= seq

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait for frames until ``condition`` holds; the chat's deadline bounds the wait."""
        while not condition():
            self.changed.clear()
            await self.changed.wait()


# -- the simulation's shared state ---------------------------------------------------


@dataclass(slots=True)
class Sent:
    """A customer message of the conversation: its number and when it left."""

    k: int
    at: float = 0.0


@dataclass
class Context:
    options: Options
    http: httpx.AsyncClient
    stats: Stats = field(default_factory=Stats)
    runs: dict[str, ChatRun] = field(default_factory=dict)
    sent: dict[str, Sent] = field(default_factory=dict)
    delivered: set[str] = field(default_factory=set)
    agents: list[Agent] = field(default_factory=list)

    def note_delivery(self, text: str) -> None:
        """The first agent to receive a customer's message times its delivery."""
        sent = self.sent.get(text)
        if sent is not None and text not in self.delivered:
            self.delivered.add(text)
            self.stats.delivery_seconds.append(time.monotonic() - sent.at)

    def count(self, error: Exception) -> str:
        """Count a failure once, where it stopped a chat or an agent; returns its code."""
        if isinstance(error, SimulationError):
            code = error.code
        else:
            code = "timeout" if isinstance(error, TimeoutError) else "unexpected_answer"
        self.stats.errors[code] += 1
        return code


def customer_text(plan: ChatPlan, k: int, seed: int) -> str:
    return f"[sim {seed}/{plan.index}/{k}] Question {k} about my policy, please."


def agent_text(plan: ChatPlan, k: int, seed: int) -> str:
    return f"[sim {seed}/{plan.index}/{k}] Answer {k}: here is what I found."


# -- customers ------------------------------------------------------------------------


def flow_answer(view: ChatView, plan: ChatPlan, run: ChatRun) -> str:
    """The customer's answer to the question the flow waits on.

    A consent question (R10) is the one whose ``consent_asked`` is not yet answered; its
    choices are ``[yes, no]``.  Other questions get the plan's pick among the choices,
    and a question without choices a line of text.
    """
    choices: list[str] | None = view.summary.get("choices")
    if not choices:
        return f"[sim {plan.index}] An answer in my own words."
    if view.last("consent_asked", "consent_answered") == "consent_asked":
        run.consent = "no" if plan.consent_no else "yes"
        return choices[1] if plan.consent_no else choices[0]
    return choices[plan.choice % len(choices)]


async def answer_flow(link: Link, view: ChatView, run: ChatRun) -> None:
    """Answer the flow's questions until it hands the chat on (queued), or ends it.

    A question with choices shows in the summary. One without does not: the flow is
    taken to wait for text when the chat stays in ``flow`` for ``FREE_TEXT_AFTER`` s.
    """
    while True:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FREE_TEXT_AFTER):
                await view.until(
                    lambda: bool(view.summary.get("choices")) or view.status not in {None, "flow"}
                )
        if view.status != "flow":
            if view.status is None:
                continue
            return
        answer = flow_answer(view, run.plan, run)
        seq = (await link.request({"type": "message", "text": answer}))["seq"]
        await view.until(functools.partial(view.summary_reached, seq))


async def converse(ctx: Context, link: Link, view: ChatView, run: ChatRun) -> None:
    """Once an agent has the chat: ask, wait for each answer, ask for deletion if planned."""
    await view.until(lambda: view.status in {"active", "ended"})
    for k in range(1, ctx.options.messages + 1):
        if view.ended:
            return
        if run.plan.delete_at == k:
            await link.request({"type": "request_deletion"})
            run.deletion_requested = True
        if k > 1 and ctx.options.think_seconds:
            await asyncio.sleep(ctx.options.think_seconds)
        text = customer_text(run.plan, k, ctx.options.seed)
        sent = ctx.sent[text] = Sent(k)
        seq = (await link.request({"type": "message", "text": text}, sent))["seq"]
        await view.until(functools.partial(view.answered, seq))


async def finish(link: Link, view: ChatView, run: ChatRun) -> None:
    """End the chat if the customer is to; either way, wait until it has ended."""
    if not view.ended and run.plan.ender == "customer":
        await link.request({"type": "end"})
    await view.until(lambda: view.ended)
    run.ended = True
    ended = view.of_type("ended")
    run.ended_by = ended[-1][1]["by"]["role"] if ended else None


async def run_customer(ctx: Context, run: ChatRun) -> None:
    """One chat from the customer's side; a failure is counted, never raised."""
    view = ChatView()
    link: Link | None = None
    if ctx.options.think_seconds:
        await asyncio.sleep(ctx.options.think_seconds * run.plan.choice / (1 << 16))
    try:
        async with asyncio.timeout(ctx.options.chat_timeout):
            started = await post(ctx.http, "/api/chats", {"service_id": run.plan.service_id})
            run.chat_id = started["chat_id"]
            ctx.runs[started["chat_id"]] = run
            url = ctx.options.ws_url + started.get("websocket", "/ws/customer")
            link, _ = await open_link(url, started["token"], view.take, ctx.stats, ctx.options)
            await answer_flow(link, view, run)
            await converse(ctx, link, view, run)
            await finish(link, view, run)
    except FAILURES as error:
        run.error = ctx.count(error)
    finally:
        if link is not None:
            await link.close()


# -- agents ---------------------------------------------------------------------------


@dataclass
class AgentChat:
    """One chat as an agent sees it, and what this agent did in it."""

    view: ChatView = field(default_factory=ChatView)
    answered: set[int] = field(default_factory=set)
    left_seq: int = 0


class Agent:
    """One agent login: Available, answering its chats one frame at a time.

    Every frame about a chat wakes a driver for that chat; the driver does one thing
    at a time (press Delete, pause, resume, transfer, answer, end) until nothing is
    left to do, so duplicate or late frames never make it act twice.
    """

    def __init__(self, ctx: Context, login: str) -> None:
        self.ctx = ctx
        self.login = login
        self.user_id = ""
        self.link: Link | None = None
        self.chats: dict[str, AgentChat] = {}
        self.drivers: dict[str, asyncio.Task[None]] = {}
        self.again: set[str] = set()

    async def start(self, password: str) -> None:
        session = await post(
            self.ctx.http, "/api/login", {"login": self.login, "password": password}
        )
        self.user_id = session["user"]["user_id"]
        url = self.ctx.options.ws_url + "/ws/staff"
        self.link, _ = await open_link(
            url, session["token"], self.on_frame, self.ctx.stats, self.ctx.options
        )
        await self.link.request({"type": "presence", "available": True})

    async def stop(self) -> None:
        for task in list(self.drivers.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.link is not None:
            with contextlib.suppress(SimulationError):
                await self.link.request({"type": "presence", "available": False})
            await self.link.close()

    def holding(self) -> int:
        return sum(self.mine(chat) for chat in self.chats.values())

    def mine(self, chat: AgentChat) -> bool:
        """Whether the latest summary has this agent in the chat.

        After a transfer the last summary received still names this agent: only one
        at or after the transfer's own event counts (the chat may come back by queue).
        """
        summary = chat.view.summary
        here = any(p["user_id"] == self.user_id for p in summary.get("participants") or [])
        fresh = summary.get("last_seq", 0) >= chat.left_seq
        return here and fresh and chat.view.status == "active"

    def on_frame(self, frame: Frame) -> None:
        chat_id = frame.get("chat_id") or frame.get("chat", {}).get("chat_id")
        if frame["type"] not in {"event", "chat"} or not chat_id:
            return
        chat = self.chats.setdefault(chat_id, AgentChat())
        chat.view.take(frame)
        if frame["type"] == "chat":
            self.wake(chat_id)
            return
        event = frame["event"]
        if event["type"] == "message" and event["by"]["role"] == "customer":
            self.ctx.note_delivery(event["text"])

    def wake(self, chat_id: str) -> None:
        if chat_id in self.drivers:
            self.again.add(chat_id)
            return
        self.drivers[chat_id] = asyncio.create_task(self._drive(chat_id))

    async def _drive(self, chat_id: str) -> None:
        try:
            while True:
                self.again.discard(chat_id)
                while await self.step(chat_id):
                    pass
                if chat_id not in self.again:
                    return
        except FAILURES as error:
            run = self.ctx.runs.get(chat_id)
            code = self.ctx.count(error)
            if run is not None and run.error is None:
                run.error = code
        finally:
            del self.drivers[chat_id]

    def unanswered(self, chat: AgentChat) -> tuple[int, str] | None:
        """The customer's latest message since an agent first joined, if no one answered it."""
        joined = chat.view.of_type("joined")
        if not joined:
            return None
        latest: tuple[int, str] | None = None
        for seq, event in chat.view.ordered():
            if seq <= joined[0][0] or event["type"] != "message":
                continue
            latest = (seq, event["text"]) if event["by"]["role"] == "customer" else None
        if latest is None or latest[0] in chat.answered:
            return None
        return latest

    async def step(self, chat_id: str) -> bool:
        """Do the next thing this chat needs from this agent; ``False``: nothing to do."""
        chat, run = self.chats[chat_id], self.ctx.runs.get(chat_id)
        if run is None or self.link is None or not self.mine(chat) or chat.view.ended:
            return False
        link, plan = self.link, run.plan
        if chat.view.of_type("deletion_requested") and not run.delete_pressed:
            run.delete_pressed = True
            await link.request({"type": "delete_recording", "chat_id": chat_id})
            return True
        waiting = self.unanswered(chat)
        sent = self.ctx.sent.get(waiting[1]) if waiting else None
        if waiting is None or sent is None:
            return False
        k = sent.k
        if plan.pause_at == k and not run.paused:
            run.paused = True
            await link.request({"type": "pause", "chat_id": chat_id})
            return True
        if chat.view.paused and (plan.pause_at is None or k > plan.pause_at):
            await link.request({"type": "resume", "chat_id": chat_id})
            return True
        if plan.transfer_at == k and not run.transferred:
            run.transferred = True
            await self.transfer(chat_id, chat)
            return False
        chat.answered.add(waiting[0])
        await link.request(
            {
                "type": "message",
                "chat_id": chat_id,
                "text": agent_text(plan, k, self.ctx.options.seed),
            }
        )
        if k == self.ctx.options.messages and plan.ender == "agent":
            await link.request({"type": "end", "chat_id": chat_id})
        return True

    async def transfer(self, chat_id: str, chat: AgentChat) -> None:
        """To the least busy other agent of the simulation; to the queue if none can take it."""
        assert self.link is not None
        others = sorted(
            (a for a in self.ctx.agents if a is not self and a.link is not None),
            key=lambda a: a.holding(),
        )
        if others:
            try:
                frame: Frame = {
                    "type": "transfer",
                    "chat_id": chat_id,
                    "to_agent": others[0].user_id,
                }
                chat.left_seq = (await self.link.request(frame))["seq"]
            except SimulationError as error:
                if error.code != "conflict":  # the target is away or has no free slot
                    raise
                self.ctx.stats.transfer_fallbacks += 1
            else:
                return
        queue = chat.view.summary.get("queue_id")
        frame = {"type": "transfer", "chat_id": chat_id, "to_queue": queue}
        chat.left_seq = (await self.link.request(frame))["seq"]


async def start_agents(ctx: Context, passwords: Mapping[str, str]) -> list[Agent]:
    """Log every agent in and make it Available; one that fails is counted and left out."""
    agents = []
    for login in ctx.options.agents:
        agent = Agent(ctx, login)
        try:
            await agent.start(passwords[login])
        except FAILURES as error:
            ctx.count(error)
            await agent.stop()
            continue
        agents.append(agent)
    return agents


# -- the whole run ----------------------------------------------------------------------


async def _worker(ctx: Context, runs: Iterator[ChatRun]) -> None:
    for run in runs:
        await run_customer(ctx, run)


async def simulate(
    options: Options, passwords: Mapping[str, str], stats: Stats | None = None
) -> Summary:
    """Run every planned chat, at most ``concurrency`` at once, and sum up.

    ``stats``, when given, collects every sample the summary's percentiles come from
    (benchmarks plot their distributions).
    """
    runs = [ChatRun(plan) for plan in plan_chats(options)]
    limits = httpx.Limits(max_connections=max(10, options.concurrency * 2))
    async with httpx.AsyncClient(
        base_url=options.url, timeout=options.timeout, limits=limits
    ) as http:
        ctx = Context(options, http) if stats is None else Context(options, http, stats)
        ctx.agents = await start_agents(ctx, passwords)
        if not ctx.agents:
            raise SetupError(f"no agent could log in: {dict(ctx.stats.errors)}")
        started = time.monotonic()
        pending = iter(runs)
        try:
            await asyncio.gather(*(_worker(ctx, pending) for _ in range(options.concurrency)))
        finally:
            wall = time.monotonic() - started
            for agent in ctx.agents:
                await agent.stop()
    # Chats of other customers (or of an earlier run) that routing gave these agents
    # hold their slots; the agents leave them alone, and the summary says so.
    given = {chat_id for agent in ctx.agents for chat_id in agent.chats}
    ctx.stats.foreign_chats = len(given - ctx.runs.keys())
    return summarise(options, runs, ctx.stats, wall)


# -- passwords --------------------------------------------------------------------------


def _password_file(path: Path) -> dict[str, str]:
    """``demo-logins.json`` (a list of objects with login and password) or ``{login: pw}``."""
    try:
        data = json.loads(path.read_text())
        if isinstance(data, list):
            return {str(entry["login"]): str(entry["password"]) for entry in data}
        return {str(login): str(password) for login, password in data.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise SetupError(f"cannot read passwords from {path}: {error!r}") from None


def find_passwords(
    agents: Sequence[str],
    *,
    data_dir: Path,
    password_file: Path | None,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """Each agent's password: ``--password-file``, else the environment, else the demo's file.

    The environment names one variable per login, ``CHATREC_SIMULATE_PASSWORD_<LOGIN>``
    (upper case, other characters as ``_``).
    """
    found: dict[str, str] = {}
    if password_file is not None:
        found = _password_file(password_file)
    else:
        for login in agents:
            name = ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", login.upper())
            if name in environ:
                found[login] = environ[name]
        demo = data_dir / DEMO_LOGINS
        if len(found) < len(agents) and demo.exists():
            found = {**_password_file(demo), **found}
    missing = [login for login in agents if login not in found]
    if missing:
        where = password_file or f"{ENV_PREFIX}<LOGIN> or {data_dir / DEMO_LOGINS}"
        raise SetupError(f"no password for {', '.join(missing)} (looked in {where})")
    return {login: found[login] for login in agents}
