"""Queues hold no recording settings at all (R3): the one home of that rule.

Who is recorded follows the agents who handle a chat (R4, R7) and the flow's record
steps (R5b).  A request that tries to put a recording setting on a queue, by any road
(API field, CLI flag, console, import, flow key), is refused whole with this reason.
"""

from __future__ import annotations

from collections.abc import Iterable

R3_REASON = (
    "Recording cannot be enabled on a queue (R3): recording follows the agents who handle "
    "a chat (record chats, record percentage) and the flow's record steps, never the queue."
)


def is_recording_key(key: object) -> bool:
    """Whether a key reads as a recording setting, so its refusal cites R3."""
    return isinstance(key, str) and "record" in key.casefold()


def recording_keys(keys: Iterable[object]) -> list[str]:
    """The keys of a queue request that try to set recording (R3), in the given order."""
    return [key for key in keys if isinstance(key, str) and is_recording_key(key)]
