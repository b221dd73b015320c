"""What a run's customers and agents share: options, HTTP client, samples, chats."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from chatrec.simulate.client import ClientError, Frame, Link, Sent, open_link
from chatrec.simulate.plan import Options
from chatrec.simulate.summary import ChatRun, Stats

if TYPE_CHECKING:
    from chatrec.simulate.agents import Agent

# What stops one chat or one agent, counted: the server refused or went silent, or
# answered with something that is not the protocol (a missing field, a wrong type).
FAILURES = (ClientError, TimeoutError, KeyError, TypeError, ValueError)


@dataclass
class Context:
    """One run's state: its chats by id, the customers' messages by text (which tells an
    agent which scripted message it sees), and the agents that are logged in."""

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
        if isinstance(error, ClientError):
            code = error.code
        else:
            code = "timeout" if isinstance(error, TimeoutError) else "unexpected_answer"
        self.stats.errors[code] += 1
        return code

    async def open(
        self, url: str, token: str, on_frame: Callable[[Frame], None]
    ) -> tuple[Link, Frame]:
        """A link paced and timed as the options say, counted in the run's stats."""
        return await open_link(
            url,
            token,
            on_frame,
            timeout=self.options.timeout,
            frames_per_second=self.options.frames_per_second,
            tally=self.stats,
        )
