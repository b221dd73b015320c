"""Payment card numbers masked to their last four digits (R22).

A card number is 13 to 19 digits, in groups separated by single spaces or dashes (or
none), that pass the Luhn check.  Every one in a message is masked before the message
is stored, shown to anyone or written to a recording, so nothing downstream ever holds
it.  Masking is a backstop for a forgotten pause (R8), never a replacement for it.

Digits run together with their separators are found by one regular expression that
cannot backtrack (each group is digits, each gap one separator); within a run, the
longest span of whole groups that is a card number is masked, leftmost first, so a
card written after another number ("order 12 4111 1111 1111 1111") is still found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MIN_DIGITS = 13
MAX_DIGITS = 19
KEPT = 4
MASK = "*"

# Groups of digits (of any script: ``\d`` is Unicode's) joined by one space or dash; a
# lone digit is a run of one group.
_RUN = re.compile(r"\d+(?:[ -]\d+)*")
_GROUP = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Masked:
    """The text as it may be kept, and how many card numbers were masked in it."""

    text: str
    count: int


def luhn_valid(digits: str) -> bool:
    """The Luhn check over a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = unicodedata.decimal(char)  # any script's digits: a full-width one too
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    return MIN_DIGITS <= len(digits) <= MAX_DIGITS and luhn_valid(digits)


def _mask_span(span: str) -> str:
    """Every digit but the last four masked; separators kept, so the shape still reads."""
    digits = sum(char.isdigit() for char in span)
    out: list[str] = []
    for char in span:
        if char.isdigit():
            out.append(MASK if digits > KEPT else char)
            digits -= 1
        else:
            out.append(char)
    return "".join(out)


def _cards_in_run(run: str) -> list[tuple[int, int]]:
    """Start and end (in ``run``) of each card number: the longest span of whole groups
    from the leftmost group on that is one, then on after it."""
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    found: list[tuple[int, int]] = []
    first = 0
    while first < len(groups):
        digits = ""
        best: int | None = None
        for last in range(first, len(groups)):
            start, end = groups[last]
            digits += run[start:end]
            if len(digits) > MAX_DIGITS:
                break
            if _is_card(digits):
                best = last
        if best is None:
            first += 1
            continue
        found.append((groups[first][0], groups[best][1]))
        first = best + 1
    return found


def mask_card_numbers(text: str) -> Masked:
    """``text`` with every card number masked to its last four digits (R22)."""
    pieces: list[str] = []
    count = 0
    kept_to = 0
    for run in _RUN.finditer(text):
        if run.end() - run.start() < MIN_DIGITS:
            continue
        for start, end in _cards_in_run(run.group()):
            begin, finish = run.start() + start, run.start() + end
            pieces.append(text[kept_to:begin])
            pieces.append(_mask_span(text[begin:finish]))
            kept_to = finish
            count += 1
    if not count:
        return Masked(text, 0)
    pieces.append(text[kept_to:])
    return Masked("".join(pieces), count)
