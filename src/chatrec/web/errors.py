"""chatrec's errors as HTTP answers (R19), their codes and statuses from ``error_codes``,
which error frames use too; the OpenAPI description of each refusal."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from chatrec.errors import (
    ActionError,
    FlowError,
    RateLimitedError,
    StoreError,
    TemplateError,
)
from chatrec.web.error_codes import refusal_of, store_incident


def error_body(code: str, message: str) -> dict[str, dict[str, Any]]:
    return {"error": {"code": code, "message": message}}


class ProblemRead(BaseModel):
    message: str
    line: int | None
    column: int | None
    location: str


class ErrorDetailRead(BaseModel):
    code: str = Field(description="what went wrong, for programs: not_found, forbidden, ...")
    message: str = Field(description="what went wrong, for people, and how to fix it")
    problems: list[ProblemRead] | None = Field(
        default=None, description="a refused flow: every problem, at its line"
    )
    position: int | None = Field(default=None, description="a refused template: where")
    incident: str | None = Field(
        default=None,
        description="a failure of the server (store_unavailable): the id under which the "
        "operator's log holds its cause",
    )


class ErrorRead(BaseModel):
    """The body of every refusal, request validation (422) included."""

    error: ErrorDetailRead


def _refusal(description: str) -> dict[str, Any]:
    # The JSON content is named as well: FastAPI files a model under the route's own media
    # type, which for a download (text/csv) would misstate every refusal.
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRead"}}}
    return {"model": ErrorRead, "description": description, "content": content}


REFUSALS: dict[int, str] = {
    400: "Refused as it stands (code refused), or a body that could not be read at all "
    "(code bad_request)",
    401: "No valid login, session or token (code unauthenticated)",
    403: "The caller's role does not allow it (code forbidden), nor the scope of the caller's "
    "API token (code insufficient_scope), a cookie session's change lacks its X-CSRF-Token "
    "(code csrf), or the session must first change its password (code "
    "password_change_required) or set up two-factor sign-in (code totp_enrolment_required)",
    404: "Unknown id, or another company's (code not_found, R18)",
    409: "The current state does not allow it, or an id or name is taken (code conflict)",
    422: "The request does not fit this schema (code invalid)",
    429: "Too many attempts: see Retry-After (code rate_limited)",
    503: "The database failed; nothing was applied; try again (code store_unavailable, "
    "with the incident id the operator's log files its cause under)",
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of the refusals an operation can give, in our error body."""
    return {code: _refusal(REFUSALS[code]) for code in sorted(set(codes))}


def refusal(code: int, description: str) -> dict[int | str, dict[str, Any]]:
    """One refusal, worded for the operation that gives it."""
    return {code: _refusal(description)}


def install_error_handlers(app: FastAPI) -> None:
    async def on_action_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ActionError)
        refused = refusal_of(error)
        headers = None
        if isinstance(error, RateLimitedError):
            headers = {"Retry-After": str(error.retry_after)}
        return JSONResponse(
            error_body(refused.code, str(error)), status_code=refused.status, headers=headers
        )

    async def on_invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FlowError | TemplateError)
        refused = refusal_of(error)
        body: dict[str, Any] = error_body(refused.code, str(error))
        if isinstance(error, FlowError):
            # The console marks each problem at its line of the editor.
            body["error"]["problems"] = [
                {"message": p.message, "line": p.line, "column": p.column, "location": p.location}
                for p in error.problems
            ]
        elif isinstance(error, TemplateError):
            body["error"]["position"] = error.position
        return JSONResponse(body, status_code=refused.status)

    async def on_bad_request(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return JSONResponse(error_body("invalid", f"{where}: {first['msg']}"), status_code=422)

    async def on_http_error(request: Request, error: Exception) -> Response:
        # Starlette's own refusals (a body that is not JSON, an unknown path or method)
        # get our body too, not FastAPI's {"detail": ...}.
        assert isinstance(error, HTTPException)
        if error.status_code < 400:
            return await http_exception_handler(request, error)
        try:
            code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_")
        except ValueError:
            code = "refused"
        if error.status_code == 413:  # a body over its limit, as a frame over its own
            code = "too_large"
        return JSONResponse(
            error_body(code, str(error.detail)),
            status_code=error.status_code,
            headers=error.headers,
        )

    async def on_store_error(request: Request, error: Exception) -> JSONResponse:
        # The database failed (or its secrets key is wrong): nothing was applied, and the
        # caller may try again once the operator has fixed it; never a bare 500, and never
        # the error's text, which may hold other companies' data (R18).
        assert isinstance(error, StoreError)
        refused = refusal_of(error)
        incident, message = store_incident(error, f"{request.method} {request.url.path}")
        body = error_body(refused.code, message)
        body["error"]["incident"] = incident
        return JSONResponse(body, status_code=refused.status)

    app.add_exception_handler(ActionError, on_action_error)
    app.add_exception_handler(StoreError, on_store_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_bad_request)
    app.add_exception_handler(FlowError, on_invalid)
    app.add_exception_handler(TemplateError, on_invalid)
