"""A ``chatrec simulate`` run: the customers' side of each chat, and the whole run.

Customers and agents are real clients of ``docs/protocol.md``: customers start chats
with ``POST /api/chats`` and talk over ``/ws/customer``; agents log in, go Available on
``/ws/staff`` and answer the chats they are given (:mod:`chatrec.simulate.agents`).
Each chat follows its plan (:mod:`chatrec.simulate.plan`).

The tool never stops on a server's refusal or a lost connection: it counts it by code
and the chat it broke, and reports it in the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Iterator, Mapping

import httpx

from chatrec.simulate.agents import start_agents
from chatrec.simulate.client import ChatView, Link, Sent, post
from chatrec.simulate.context import FAILURES, Context
from chatrec.simulate.plan import ChatPlan, Options, SetupError, customer_text, plan_chats
from chatrec.simulate.summary import ChatRun, Stats, Summary, summarise

FREE_TEXT_AFTER = 2.0


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
            link, _ = await ctx.open(url, started["token"], view.take)
            await answer_flow(link, view, run)
            await converse(ctx, link, view, run)
            await finish(link, view, run)
    except FAILURES as error:
        run.error = ctx.count(error)
    finally:
        if link is not None:
            await link.close()


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
