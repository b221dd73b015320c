"""The customer panel beside a chat in the portal (R23; issue 15).

What the customer told the pre-chat form, the page the chat started on, and their
earlier chats with the company: those whose pre-chat e-mail was the same, ended, as far
as retention keeps them (a purge empties the details, R17, so a purged chat is not
found).  Only staff who may see the chat read it, as they read its messages: a
supervisor of its company, or an agent in it (or, once it ended, who took part in it,
as their history shows it); any other chat is 404 (R18).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from chatrec.domain.journal import Journal
from chatrec.domain.participants import primary_agent
from chatrec.store.records import ChatRecord
from chatrec.web.container import Container
from chatrec.web.errors import refusals
from chatrec.web.guard import GuardedRoute, Services, Staff
from chatrec.web.history_api import ended_chat_of, names_of

router = APIRouter(prefix="/api", route_class=GuardedRoute)

EARLIER_CHATS = 10


class AnswerRead(BaseModel):
    key: str
    label: str = Field(description="the form's label when the customer answered")
    value: str


class EarlierChatRead(BaseModel):
    chat_id: str
    service: str
    started_at: datetime
    ended_at: datetime | None
    agent: str | None = Field(description="who handled it longest; null if no agent did")


class CustomerRead(BaseModel):
    name: str = Field(description="as given in the pre-chat form; empty if not")
    email: str = Field(description="as given, in lower case; empty if not")
    answers: list[AnswerRead] = Field(description="the form's other fields the customer filled")
    page: str = Field(description="the page the chat started on; empty if unknown")
    earlier_chats: list[EarlierChatRead] = Field(
        description=f"the company's ended chats with the same e-mail, newest first (at most "
        f"{EARLIER_CHATS}), as far as retention keeps them (R17)"
    )


def _earlier(
    services: Container, company_id: str, email: str, chat_id: str
) -> list[EarlierChatRead]:
    if not email:
        return []
    found = services.store.chats_of_customer(company_id, email, EARLIER_CHATS, but=chat_id)
    names = names_of(services, found)
    return [_earlier_read(services, chat, names) for chat in found]


def _earlier_read(services: Container, chat: ChatRecord, names: dict[str, str]) -> EarlierChatRead:
    events = [event for _, event in services.store.load_journal(chat.chat_id)]
    agent = primary_agent(Journal.of(events))
    return EarlierChatRead(
        chat_id=chat.chat_id,
        service=names.get(chat.service_id, chat.service_id),
        started_at=chat.started_at,
        ended_at=chat.ended_at,
        agent=agent.name if agent is not None else None,
    )


@router.get(
    "/chats/{chat_id}/customer",
    operation_id="getChatCustomer",
    tags=["chats"],
    responses=refusals(404),
)
async def chat_customer(chat_id: str, user: Staff, services: Services) -> CustomerRead:
    """The customer of an open chat the caller may see: their pre-chat details, the page,
    and their earlier chats with the company (R23)."""
    if await services.chats.ensure(chat_id) is not None:  # opened on another node (R20)
        details = services.chats.chat_for_staff(user, chat_id).journal.start.customer
    else:
        _, journal = await asyncio.to_thread(
            ended_chat_of, services, user, chat_id, supervisors=True
        )
        details = Journal.of([event for _, event in journal]).start.customer
    if details is None:
        return CustomerRead(name="", email="", answers=[], page="", earlier_chats=[])
    earlier = await asyncio.to_thread(_earlier, services, user.company_id, details.email, chat_id)
    return CustomerRead(
        name=details.name,
        email=details.email,
        answers=[AnswerRead(key=a.key, label=a.label, value=a.value) for a in details.answers],
        page=details.page,
        earlier_chats=earlier,
    )
