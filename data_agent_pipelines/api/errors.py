"""Every error answers `{"error": CODE, "detail": TEXT}`: the project's errors by class, nothing else leaks.

Messages of the project's errors are written for customers and carry no secrets; anything unexpected answers a
generic 500 and is logged here with its stack trace, never sent.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import Conflict, CredentialsError, DataAgentError, InvalidInput, NotFound

log = logging.getLogger("data_agent.api")

_STATUS_CODES = {
    400: "invalid_input",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    504: "timeout",
}


class Unauthorized(Exception):
    """No API key, or one that is unknown or revoked."""


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of an error."""
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    # ("body", "credentials", "key") -> "credentials.key"; ("query", "limit") -> "limit"
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    return ".".join(parts) or "body"


def validation_detail(exc: RequestValidationError) -> str:
    """One line naming each offending field and what is wrong with it (never echoing the value)."""
    problems = []
    for error in exc.errors():
        field = _location(tuple(error.get("loc", ())))
        message = error.get("msg", "invalid value")
        if error.get("type") == "json_invalid":
            problems.append("the body is not valid JSON")
        elif error.get("type") == "extra_forbidden":
            problems.append(f"{field}: unknown field")
        else:
            problems.append(f"{field}: {message}")
    return "; ".join(problems) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the error shape."""

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        return error_response(400, "invalid_input", str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        return error_response(409, "conflict", str(exc))

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return error_response(401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return error_response(exc.status_code, code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(CredentialsError)
    async def _credentials(request: Request, exc: CredentialsError) -> JSONResponse:
        log.error("stored credentials cannot be used: %s", exc)
        return error_response(503, "unavailable", "the service cannot read its stored credentials; try again later")

    @app.exception_handler(DataAgentError)
    async def _project(request: Request, exc: DataAgentError) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(503, "unavailable", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return error_response(500, "internal_error", "the request failed on our side; it has been logged")
