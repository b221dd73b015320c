"""The one place that turns chatrec's errors into HTTP answers (R19)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from chatrec.errors import (
    ActionError,
    AuthenticationError,
    ConflictError,
    FlowError,
    NotFoundError,
    PermissionDeniedError,
    RecordingOnQueueError,
    TemplateError,
)

STATUS: dict[type[ActionError], int] = {
    NotFoundError: 404,
    PermissionDeniedError: 403,
    AuthenticationError: 401,
    ConflictError: 409,
    RecordingOnQueueError: 422,
}


def error_body(code: str, message: str) -> dict[str, dict[str, Any]]:
    return {"error": {"code": code, "message": message}}


def install_error_handlers(app: FastAPI) -> None:
    async def on_action_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ActionError)
        status = STATUS.get(type(error), 400)
        return JSONResponse(error_body(error.code, str(error)), status_code=status)

    async def on_invalid(request: Request, error: Exception) -> JSONResponse:
        body: dict[str, Any] = error_body("invalid", str(error))
        if isinstance(error, FlowError):
            # The console marks each problem at its line of the editor.
            body["error"]["problems"] = [
                {"message": p.message, "line": p.line, "column": p.column, "location": p.location}
                for p in error.problems
            ]
        elif isinstance(error, TemplateError):
            body["error"]["position"] = error.position
        return JSONResponse(body, status_code=422)

    async def on_bad_request(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return JSONResponse(error_body("invalid", f"{where}: {first['msg']}"), status_code=422)

    app.add_exception_handler(ActionError, on_action_error)
    app.add_exception_handler(RequestValidationError, on_bad_request)
    app.add_exception_handler(FlowError, on_invalid)
    app.add_exception_handler(TemplateError, on_invalid)
