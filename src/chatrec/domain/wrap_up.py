"""A company's wrap-up codes (R23): what an agent says a chat was about, from a list.

Checked once, on save, so that a chat never meets a list it cannot use: every code is
kept as typed but for the spaces around it, and two codes that differ only in case or
spacing are one code twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from chatrec.errors import InvalidRequestError

MAX_CODES = 50
MAX_CODE_LENGTH = 60


def code_key(code: str) -> str:
    """``" Billing  Question"`` and ``"billing question"`` are the same code."""
    return " ".join(code.split()).casefold()


def check_wrap_up_codes(codes: Iterable[str], required: bool) -> tuple[str, ...]:
    """The codes as kept; :class:`InvalidRequestError` naming what to change."""
    kept = tuple(" ".join(code.split()) for code in codes)
    if len(kept) > MAX_CODES:
        raise InvalidRequestError(
            f"a company has at most {MAX_CODES} wrap-up codes, not {len(kept)}"
        )
    seen: set[str] = set()
    for code in kept:
        if not code:
            raise InvalidRequestError("a wrap-up code cannot be empty")
        if len(code) > MAX_CODE_LENGTH:
            raise InvalidRequestError(
                f"wrap-up code {code[:20]!r}… is {len(code)} characters; at most {MAX_CODE_LENGTH}"
            )
        if not code.isprintable():
            raise InvalidRequestError(f"wrap-up code {code!r} has a control character")
        if code_key(code) in seen:
            raise InvalidRequestError(f"wrap-up code {code!r} is in the list twice")
        seen.add(code_key(code))
    if required and not kept:
        raise InvalidRequestError(
            "wrap-up codes cannot be required while the list is empty: add codes first"
        )
    return kept


def chosen_code(codes: Iterable[str], given: str) -> str:
    """The company's code ``given`` names (case and spacing aside), as the list spells it."""
    wanted = code_key(given)
    for code in codes:
        if code_key(code) == wanted:
            return code
    listed = ", ".join(repr(code) for code in codes) or "none: an administrator adds them"
    raise InvalidRequestError(f"{given!r} is not one of the company's wrap-up codes ({listed})")
