"""Mastodon-style errors: `{"error": "..."}` with a 4xx status."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Response


class ApiError(Exception):
    """An error answered as `{"error": message}` (plus optional fields) with `status`."""

    def __init__(
        self, status: int, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.extra = extra


def error_response(status: int, message: str, **extra: Any) -> Response:
    return Response(
        orjson.dumps({"error": message, **extra}),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def not_found() -> ApiError:
    return ApiError(404, "Record not found")
