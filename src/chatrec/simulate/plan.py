"""The load plan of ``chatrec simulate``: its options, and what each chat will do.

Each chat's plan is drawn from the seed before anything runs (which chats pause,
transfer, ask for deletion, decline consent, and who ends them), so two runs with one
seed do the same things; only the timings, and which agent takes which chat, differ.
The scripted texts name the plan and the message, so an agent knows which one it sees.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Ender = Literal["customer", "agent"]


class SetupError(Exception):
    """The simulation cannot start: no password for an agent, no agent could log in."""


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


def customer_text(plan: ChatPlan, k: int, seed: int) -> str:
    return f"[sim {seed}/{plan.index}/{k}] Question {k} about my policy, please."


def agent_text(plan: ChatPlan, k: int, seed: int) -> str:
    return f"[sim {seed}/{plan.index}/{k}] Answer {k}: here is what I found."
