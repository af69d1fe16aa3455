"""Every error the server answers: JSON ``{"code", "message", "details"}`` with a stable code.

The codes, by status: 400 ``bad_input`` (the library refused an argument), 401
``unauthorized``, 403 ``forbidden``, 404 ``graph_not_found`` / ``not_found``, 409
``conflict``, 413 ``body_too_large``, 422 ``invalid_request`` (the body does not fit the
schema, or breaks a cap), 429 ``queue_full``, 503 ``not_ready`` / ``timeout`` /
``shutting_down``, 500 ``internal`` (a bug: logged with its traceback).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kglink.errors import ArtifactError, InputError, KglinkError

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer other than 200: its status, stable code, a message that says what to do."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = {"code": self.code, "message": self.message, "details": self.details}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def error_response(status: int, code: str, message: str, details: Any = None, **headers: str) -> JSONResponse:
    return ApiError(status, code, message, details, headers).response()


def from_library(e: KglinkError) -> ApiError:
    """The library's own errors: bad input is the caller's (400), the rest the server's."""
    if isinstance(e, InputError):
        return ApiError(400, "bad_input", str(e))
    if isinstance(e, ArtifactError):
        return ApiError(503, "graph_unavailable", str(e))
    return ApiError(500, "internal", str(e))


def install(app: FastAPI) -> None:
    """Route every exception the app can meet to one JSON error."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, e: ApiError):
        return e.response()

    @app.exception_handler(KglinkError)
    async def _library(request: Request, e: KglinkError):
        return from_library(e).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError):
        details = [{"loc": list(x.get("loc", ())), "msg": x.get("msg", "")} for x in e.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid"}
        where = ".".join(str(p) for p in first["loc"][1:]) or "body"
        return error_response(
            422, "invalid_request", f"{where}: {first['msg']}; fix the request body", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        return error_response(e.status_code, code, f"{e.detail}; see /docs for the routes")

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception):
        logger.exception("unexpected error on %s", request.url.path)
        return error_response(
            500, "internal", f"unexpected {type(e).__name__} (a bug in kglink: please report it)"
        )
