"""What a client is told of chatrec's errors, the same over HTTP and WebSocket (R19).

One table, :func:`refusal_of`: the code an error is named by (its ``code``, for an
:class:`~chatrec.errors.ActionError`) and the HTTP status it answers with;
:func:`frame_code_of` names it in a frame.
``web.errors`` answers requests from it, ``web.ws`` writes error frames from it; a code
in :data:`RETRYABLE` tells a client that sending the same request or frame again later
may work.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from chatrec.errors import (
    ActionError,
    AttachmentTooLargeError,
    AttachmentTypeError,
    AuthenticationError,
    CannedResponseError,
    ChatrecError,
    ConflictError,
    FlowError,
    InvalidRequestError,
    MaskPatternError,
    NotFoundError,
    PasswordChangeRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    RecordingOnQueueError,
    ScopeError,
    SecondFactorRequiredError,
    SecretKeyError,
    StoreError,
    TemplateError,
    TooManyCannedResponsesError,
    TooManyTokensError,
    TotpEnrolmentRequiredError,
)

# The logger incident lines were always filed under, which operators may filter on.
log = logging.getLogger("chatrec.web.errors")

RETRYABLE = frozenset({"store_unavailable", "rate_limited", "too_many_connections"})
"""Codes a client may answer by sending the same request or frame again, later
(docs/protocol.md)."""

STATUS: dict[type[ActionError], int] = {
    NotFoundError: 404,
    PermissionDeniedError: 403,
    AuthenticationError: 401,
    SecondFactorRequiredError: 401,
    PasswordChangeRequiredError: 403,
    TotpEnrolmentRequiredError: 403,
    RateLimitedError: 429,
    ConflictError: 409,
    RecordingOnQueueError: 422,
    ScopeError: 403,
    InvalidRequestError: 422,
    MaskPatternError: 422,
    TooManyTokensError: 409,
    CannedResponseError: 422,
    TooManyCannedResponsesError: 409,
    AttachmentTooLargeError: 413,
    AttachmentTypeError: 415,
}
"""By the exact class: a refusal of a class not named here answers 400."""


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    """The error's name, for programs (``error.code`` of a request's answer)."""
    status: int
    """The HTTP status a request refused by it answers with."""


def refusal_of(error: ChatrecError) -> Refusal:
    """How a client is told of ``error``: a refusal (an ``ActionError``, by its ``code``), a
    refused flow or template, or a failure of the database (nothing was applied)."""
    if isinstance(error, ActionError):
        # A kind of refusal not named answers as the nearest kind that is: a name already
        # taken (DuplicateError) is a conflict, 409, as documented, not a bare 400.
        status = next((STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), 400)
        return Refusal(error.code, status)
    if isinstance(error, StoreError):
        code = "store_unavailable"
        status = 503
    elif isinstance(error, FlowError | TemplateError):
        code = "invalid"
        status = 422
    else:
        raise TypeError(f"no refusal for {type(error).__name__}")
    return Refusal(code, status)


def frame_code_of(error: ChatrecError) -> str:
    """The error's name in an error frame: as in a request's answer, but for a refused
    flow, which a frame names apart from other invalid input."""
    code = refusal_of(error).code
    if isinstance(error, FlowError):
        code = "flow_error"
    return code


def store_incident(error: StoreError, where: str) -> tuple[str, str]:
    """Log a failure of the database under a new incident id; the id and the fixed words
    to answer the caller with.

    A failed group commit's error concerns a batch of several companies' changes (R18):
    the caller learns only that it failed and the id to quote; the log, what failed
    (types, code, statement: ``StoreError.cause``) and never a value.
    """
    incident = secrets.token_hex(6)
    log.error("incident %s: %s failed in the database: %s", incident, where, error)
    if isinstance(error, SecretKeyError):
        what = "the server cannot read the stored SFTP secrets (it runs with another key)"
    else:
        what = "the database failed"
    message = (
        f"{what}; nothing was applied; try again later, and if it keeps failing give the "
        f"operator incident {incident}"
    )
    return incident, message
