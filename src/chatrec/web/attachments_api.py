"""Files sent in chats (R23): uploaded by the chat's customer or staff, downloaded only
by its participants (R18).

An upload is the file's bytes as the request body, its name in ``?name=``: the type is
read from the bytes, never from the request's ``Content-Type`` or the name.  The
customer proves the chat with its token in ``X-Chat-Token``; staff with their session
(and its CSRF token) or an API token.  A download is served as the type it was sniffed
as, never sniffed again by the browser (``nosniff``), in a sandbox, inline only for
images (previews) and as a download for everything else.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, Field

from chatrec.domain.attachments import IMAGE_TYPES, MAX_ATTACHMENT_BYTES, TEXT
from chatrec.domain.journal import AttachmentSent
from chatrec.errors import AuthenticationError, ConflictError, NotFoundError
from chatrec.services.attachments import attachment_for_staff
from chatrec.store.records import AttachmentRecord
from chatrec.web.api import limit_customer_uploads
from chatrec.web.body_limit import BodyTooLarge
from chatrec.web.errors import refusal, refusals
from chatrec.web.guard import GuardedRoute, Services, Staff

router = APIRouter(prefix="/api", route_class=GuardedRoute)

CHAT_TOKEN_HEADER = "X-Chat-Token"  # noqa: S105 - a header's name, not a token
WIDGET_UPLOADS = "/api/widget/attachments"
STAFF_UPLOADS = r"/api/chats/[^/]+/attachments"
"""The upload paths, whose bodies may be as large as any company takes (``body_limit``)."""

FileName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=255,
        description="the file's name (`attachment` unless given); made safe for any file "
        "system, never read for its type",
    ),
]
ChatToken = Annotated[
    str | None,
    Header(alias=CHAT_TOKEN_HEADER, description="the chat token from POST /api/chats"),
]

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the file's bytes; its type is read from them (R23)",
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    }
}
_REFUSED = {
    **refusal(413, "Larger than the company takes (code attachment_too_large, names the limit)"),
    **refusal(415, "A type the company does not take, read from the bytes (code attachment_type)"),
}
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes, as the type it was sniffed as",
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
    }
}


class AttachmentRead(BaseModel):
    attachment_id: str
    name: str = Field(description="the file's name as kept, made safe")
    media_type: str = Field(description="read from the file's bytes (R23)")
    size: int
    sha256: str
    paused: bool = Field(description="sent while recording was paused: in no recording (R8)")
    seq: int = Field(description="the number of its event in the chat")


def _read(seq: int, event: AttachmentSent) -> AttachmentRead:
    return AttachmentRead(
        attachment_id=event.attachment_id,
        name=event.name,
        media_type=event.media_type,
        size=event.size,
        sha256=event.sha256,
        paused=event.paused,
        seq=seq,
    )


async def _body(request: Request) -> bytes:
    """The whole body; a chunked one is counted against the limit as it comes."""
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > MAX_ATTACHMENT_BYTES:
            raise BodyTooLarge(MAX_ATTACHMENT_BYTES)
    return bytes(content)


def file_response(attachment: AttachmentRecord) -> Response:
    """The file as sniffed, never run: images inline (previews), the rest downloaded."""
    if attachment.content is None:
        raise NotFoundError(
            f"attachment {attachment.attachment_id!r} was purged with the chat's messages (R17)"
        )
    media_type = attachment.media_type
    if media_type == TEXT:
        media_type += "; charset=utf-8"
    how = "inline" if attachment.media_type in IMAGE_TYPES else "attachment"
    return Response(
        attachment.content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'{how}; filename="{attachment.name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


def _required(token: str | None) -> str:
    if not token:
        raise AuthenticationError(
            f"send the chat token from POST /api/chats in {CHAT_TOKEN_HEADER}"
        )
    return token


@router.post(
    "/widget/attachments",
    status_code=201,
    operation_id="sendCustomerAttachment",
    tags=["widget"],
    openapi_extra=_BODY,
    responses={**refusals(401, 404, 409, 429, 503), **_REFUSED},
)
async def customer_attachment(
    request: Request, services: Services, name: FileName = "attachment", token: ChatToken = None
) -> AttachmentRead:
    """Send a file into the customer's chat (R23); everyone in it sees it at once."""
    _, chat = await services.chats.chat_for_customer(_required(token))
    if chat is None:
        raise ConflictError("this chat has ended")
    await limit_customer_uploads(request)  # what is stored, so after who may send (R19)
    seq, event = await services.chats.attach(chat, name, await _body(request))
    return _read(seq, event)


@router.get(
    "/widget/attachments/{attachment_id}",
    operation_id="getCustomerAttachment",
    tags=["widget"],
    response_class=Response,
    responses={**_FILE, **refusals(401, 404, 503)},
)
async def customer_download(
    attachment_id: str, services: Services, token: ChatToken = None
) -> Response:
    """A file of the customer's chat, for as long as its token opens the chat."""
    chat_id, _ = await services.chats.chat_for_customer(_required(token))
    found = await asyncio.to_thread(services.store.get_attachment, chat_id, attachment_id)
    return file_response(found)


@router.post(
    "/chats/{chat_id}/attachments",
    status_code=201,
    operation_id="sendAttachment",
    tags=["chats"],
    openapi_extra=_BODY,
    responses={**refusals(409), **_REFUSED},
)
async def staff_attachment(
    chat_id: str, request: Request, user: Staff, services: Services, name: FileName = "attachment"
) -> AttachmentRead:
    """Send a file into an open chat the caller is in (R23)."""
    await services.chats.ensure(chat_id)  # opened on another node (R20)
    chat = services.chats.chat_for_staff(user, chat_id)
    seq, event = await services.chats.attach(chat, name, await _body(request), user)
    return _read(seq, event)


@router.get(
    "/chats/{chat_id}/attachments/{attachment_id}",
    operation_id="getAttachment",
    tags=["chats"],
    response_class=Response,
    responses=_FILE,
)
async def staff_download(
    chat_id: str, attachment_id: str, user: Staff, services: Services
) -> Response:
    """A file of a chat the caller took part in, or of their company's chats for
    supervisors and administrators; any other is 404 (R18)."""
    found = await asyncio.to_thread(
        attachment_for_staff, services.store, user, chat_id, attachment_id
    )
    return file_response(found)
