"""An agent's history (R23): the ended chats they took part in, read-only.

Supervisors and administrators read every chat of the company through
``/api/chats/history`` and its journal (R14); an agent reads here only the chats they
were assigned to, transferred to or joined, as staff saw them, for as long as retention
keeps the texts (R17): a purged chat lists its events without what was said.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chatrec.domain.journal import Event
from chatrec.domain.roles import LoginRole
from chatrec.errors import NotFoundError
from chatrec.services.attachments import took_part
from chatrec.store.records import ChatRecord, ChatStatus, UserRecord
from chatrec.web.container import Container
from chatrec.web.errors import refusals
from chatrec.web.guard import GuardedRoute, Services, Staff
from chatrec.web.paging import Cursor, Limit, Page, page_of, read_cursor
from chatrec.web.protocol import event_view

router = APIRouter(prefix="/api", route_class=GuardedRoute)


class PastChatRead(BaseModel):
    chat_id: str
    service: str = Field(description="the service's name, as the customer saw it")
    started_at: datetime
    ended_at: datetime | None
    purged: bool = Field(description="what was said is gone after delivery and retention (R17)")


class PastChatEventsRead(BaseModel):
    chat: PastChatRead
    events: list[dict[str, Any]] = Field(
        description="as the portal showed them (seq, and the staff view of each event); "
        "no text once purged"
    )


def names_of(services: Container, chats: list[ChatRecord]) -> dict[str, str]:
    """Each chat's service name by service id (its id if the service is gone)."""
    names = {}
    for service_id in {chat.service_id for chat in chats}:
        found = services.store.get_service(service_id)
        names[service_id] = found.name if found is not None else service_id
    return names


def _read(chat: ChatRecord, names: dict[str, str]) -> PastChatRead:
    return PastChatRead(
        chat_id=chat.chat_id,
        service=names.get(chat.service_id, chat.service_id),
        started_at=chat.started_at,
        ended_at=chat.ended_at,
        purged=chat.purged_at is not None,
    )


@router.get("/me/history", operation_id="listMyPastChats", tags=["chats"])
def my_history(
    user: Staff, services: Services, cursor: Cursor = None, limit: Limit = 50
) -> Page[PastChatRead]:
    """The ended chats the caller took part in, newest first, a page at a time (R23)."""
    after = read_cursor(cursor, "history", (datetime, str))
    found = services.store.chats_taken_part_in(
        user.company_id, user.user_id, limit + 1, after=after
    )
    names = names_of(services, found)
    return page_of(
        "history", found, limit, lambda c: (c.started_at, c.chat_id), lambda c: _read(c, names)
    )


@router.get(
    "/me/history/{chat_id}",
    operation_id="getMyPastChat",
    tags=["chats"],
    responses=refusals(404),
)
async def my_past_chat(chat_id: str, user: Staff, services: Services) -> PastChatEventsRead:
    """One ended chat the caller took part in, as staff saw it; any other chat is 404,
    the same answer as for a chat that does not exist (R18).  A purge (R17) has emptied
    the texts already."""
    chat, journal = await asyncio.to_thread(ended_chat_of, services, user, chat_id)
    views = [(seq, event_view(event, staff=True)) for seq, event in journal]
    events = [{"seq": seq, **view} for seq, view in views if view is not None]
    names = await asyncio.to_thread(names_of, services, [chat])
    return PastChatEventsRead(chat=_read(chat, names), events=events)


def ended_chat_of(
    services: Container, user: UserRecord, chat_id: str, *, supervisors: bool = False
) -> tuple[ChatRecord, list[tuple[int, Event]]]:
    """An ended chat of the caller's company and its journal, if the caller took part in
    it (or, with ``supervisors``, is one of its supervisors); else 404, the same answer
    as for a chat that does not exist (R18)."""
    chat = services.store.get_chat(chat_id)
    if chat is not None and chat.status is ChatStatus.ENDED and chat.company_id == user.company_id:
        journal = services.store.load_journal(chat_id)
        if (supervisors and user.role is LoginRole.SUPERVISOR) or took_part(journal, user.user_id):
            return chat, journal
    raise NotFoundError(f"no ended chat {chat_id!r} of yours")
