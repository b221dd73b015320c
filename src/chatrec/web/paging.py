"""Cursor pagination for the lists that grow: chats, deliveries, audit entries.

A page answers ``{"items": [...], "next_cursor": ...}``, newest first; ``next_cursor`` is
``null`` on the last page, and otherwise goes back as ``?cursor=`` for the next one.
A cursor is opaque to clients: the position after a page's last item, as base64url
JSON named for its list.  It holds no secret and no authority (every page is read
within the caller's company), so it is validated, not signed: a cursor that is not
one of this list's is a clear 422, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

Cursor = Annotated[
    str | None,
    Query(max_length=500, description="`next_cursor` of the previous page; left out: the first"),
]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many items")]
KeyPart = int | str | datetime
T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="pass it as `cursor` for the next page; `null` on the last page"
    )


def _encode(part: KeyPart) -> int | str:
    return part.isoformat() if isinstance(part, datetime) else part


def write_cursor(listing: str, key: tuple[KeyPart, ...]) -> str:
    """The cursor after an item whose sort key is ``key``."""
    raw = json.dumps({"list": listing, "after": [_encode(part) for part in key]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _refuse(reason: str) -> RequestValidationError:
    error = {"type": "value_error", "loc": ("query", "cursor"), "msg": reason, "input": None}
    return RequestValidationError([error])


def _decode(part: object, kind: type[KeyPart]) -> KeyPart:
    if kind is datetime and isinstance(part, str):
        found = datetime.fromisoformat(part)
        if found.tzinfo is None:
            raise ValueError("a time without its zone")
        return found
    if kind is int and isinstance(part, int) and not isinstance(part, bool):
        return part
    if kind is str and isinstance(part, str):
        return part
    raise ValueError(f"not a {kind.__name__}")


def read_cursor(
    cursor: str | None, listing: str, kinds: tuple[type[KeyPart], ...]
) -> tuple[Any, ...] | None:
    """The sort key a cursor of ``listing`` continues after; ``None`` for the first page."""
    if cursor is None:
        return None
    try:
        found = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:
        raise _refuse("not a cursor this server gave; start again without it") from error
    if not isinstance(found, dict) or found.get("list") != listing:
        raise _refuse(f"not a cursor of the {listing} list; start again without it")
    after = found.get("after")
    if not isinstance(after, list) or len(after) != len(kinds):
        raise _refuse("a damaged cursor; start again without it")
    try:
        return tuple(_decode(part, kind) for part, kind in zip(after, kinds, strict=True))
    except ValueError as error:
        raise _refuse(f"a damaged cursor ({error}); start again without it") from error


def page_of(
    listing: str,
    found: list[R],
    limit: int,
    key: Callable[[R], tuple[KeyPart, ...]],
    read: Callable[[R], T],
) -> Page[T]:
    """A page of the first ``limit`` of ``found``, which was read with one more so as to
    know whether a next page exists; ``key`` is a record's sort key."""
    kept = found[:limit]
    after = write_cursor(listing, key(kept[-1])) if len(found) > limit else None
    return Page[T](items=[read(record) for record in kept], next_cursor=after)
