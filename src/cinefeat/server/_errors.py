"""The API's error contract: every failure is a JSON body `{"detail": ...}` with a 4xx status
that says whose fault it is; only a bug in cinefeat gives a 500 (and it is logged)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from cinefeat.errors import (
    CinefeatError,
    EntityDataFrameError,
    FeatureNotFoundError,
    SchemaMismatchError,
)

__all__ = ["ApiError", "install_error_handlers", "json_response"]

log = logging.getLogger("cinefeat.server")


def json_response(
    body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response serialized by orjson (datetimes as RFC 3339 with `Z`)."""
    try:
        content = orjson.dumps(body, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # text orjson refuses (a lone surrogate): escape it
        content = json.dumps(body, default=str).encode()
    return Response(content, status_code, headers, media_type="application/json")


class ApiError(HTTPException):
    """A request the server refuses: its status code, a message for the caller, and headers
    (answered as every HTTPException is)."""

    def __init__(
        self, status_code: int, detail: Any, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code, detail, headers)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Inputs can be large (a whole body): keep the path, message and type only.
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return json_response({"detail": _validation_detail(exc)}, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return json_response({"detail": exc.detail}, exc.status_code, exc.headers)

    @app.exception_handler(FeatureNotFoundError)
    async def not_found(request: Request, exc: FeatureNotFoundError) -> Response:
        return json_response({"detail": str(exc)}, 404)

    @app.exception_handler(CinefeatError)
    async def bad_input(request: Request, exc: CinefeatError) -> Response:
        # The store's own errors on a request's data: unknown keys, wrong types, bad frames.
        kind = (
            "schema_mismatch"
            if isinstance(exc, SchemaMismatchError)
            else "entity_error"
            if isinstance(exc, EntityDataFrameError)
            else "invalid_request"
        )
        return json_response({"detail": str(exc), "type": kind}, 422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response({"detail": "internal server error (logged by the server)"}, 500)
