"""What is masked in a message before anything keeps or shows it (R22).

A company masks payment card numbers (:mod:`chatrec.domain.cards`) unless an
administrator turns that off, and may add patterns of its own, for instance national
identity numbers.  A company's patterns are compiled by RE2, whose matching time grows
with the text and never with the pattern's choices: no pattern an administrator saves
can make a message's masking backtrack for ever (the constructs that would need
backtracking, back-references and look-around, are refused on save).

A value found by a company's pattern has every letter and digit masked; its other
characters are kept so its shape still reads.  Masking is a backstop for a forgotten
pause (R8), never a replacement for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

from chatrec.domain.cards import MASK, mask_card_numbers
from chatrec.errors import MaskPatternError

MAX_PATTERNS = 20
MAX_NAME_LENGTH = 60
MAX_PATTERN_LENGTH = 300
# RE2 builds an automaton per pattern; this bounds its memory (the default is 8 MiB).
_MAX_MEMORY = 2 << 20


class _Match(Protocol):
    def start(self) -> int: ...

    def end(self) -> int: ...


class _Compiled(Protocol):
    def finditer(self, text: str) -> Any: ...

    def search(self, text: str) -> _Match | None: ...


@dataclass(frozen=True, slots=True)
class MaskPattern:
    """A value an administrator has the company's messages masked for (R22)."""

    name: str
    pattern: str


@lru_cache(maxsize=256)  # a company's patterns are compiled per chat it starts or loads
def compile_pattern(pattern: MaskPattern) -> _Compiled:
    """The pattern compiled by RE2; :class:`MaskPatternError` says what to change."""
    name = pattern.name
    if not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise MaskPatternError(name, f"a pattern needs a name of 1 to {MAX_NAME_LENGTH} characters")
    if not pattern.pattern or len(pattern.pattern) > MAX_PATTERN_LENGTH:
        raise MaskPatternError(
            name, f"a pattern has 1 to {MAX_PATTERN_LENGTH} characters, not {len(pattern.pattern)}"
        )
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEMORY
    try:
        compiled: _Compiled = re2.compile(pattern.pattern, options)
    except re2.error as error:
        said = error.args[0] if error.args else "refused"
        problem = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        raise MaskPatternError(
            name,
            f"{problem}. Patterns use RE2 syntax, which has no back-references or "
            "look-around, so that no message can make masking run for ever",
        ) from None
    if compiled.search("") is not None:
        raise MaskPatternError(name, "the pattern matches an empty text: it must match a value")
    return compiled


def check_patterns(patterns: tuple[MaskPattern, ...]) -> tuple[MaskPattern, ...]:
    """The patterns as an administrator may save them: each compiles, names are unique."""
    if len(patterns) > MAX_PATTERNS:
        raise MaskPatternError(
            "", f"a company has at most {MAX_PATTERNS} patterns of its own, not {len(patterns)}"
        )
    seen: set[str] = set()
    for pattern in patterns:
        compile_pattern(pattern)
        key = pattern.name.strip().casefold()
        if key in seen:
            raise MaskPatternError(pattern.name, "two patterns have this name; name each once")
        seen.add(key)
    return patterns


@dataclass(frozen=True, slots=True)
class MaskedText:
    """A message as it may be kept, and how many values of each kind were masked in it."""

    text: str
    card_numbers: int = 0
    other_values: int = 0


def _mask_value(value: str) -> str:
    return "".join(MASK if char.isalnum() else char for char in value)


@dataclass(frozen=True, slots=True)
class Masking:
    """A company's masking: card numbers (on unless turned off) and its own patterns."""

    card_numbers: bool = True
    patterns: tuple[MaskPattern, ...] = ()
    _compiled: tuple[_Compiled, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(map(compile_pattern, self.patterns)))

    def mask(self, text: str) -> MaskedText:
        """``text`` with every value masked that the company masks (R22)."""
        cards = 0
        if self.card_numbers:
            masked = mask_card_numbers(text)
            text, cards = masked.text, masked.count
        others = 0
        for compiled in self._compiled:
            pieces: list[str] = []
            kept_to = 0
            for match in compiled.finditer(text):
                start, end = match.start(), match.end()
                if start == end:
                    continue
                pieces += (text[kept_to:start], _mask_value(text[start:end]))
                kept_to = end
                others += 1
            if pieces:
                pieces.append(text[kept_to:])
                text = "".join(pieces)
        return MaskedText(text, cards, others)
