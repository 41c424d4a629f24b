"""Per-request access to the application's configured objects, and response helpers."""

from __future__ import annotations

from typing import Any

from quart import Response, current_app, request

from ..runtime import Runtime
from . import jsonio


def runtime() -> Runtime:
    """The runtime of the application serving the current request."""
    return current_app.extensions["wildebeest"]  # type: ignore[no-any-return]


def features() -> frozenset[str]:
    """The API features the mounted blueprints provide."""
    return current_app.extensions["wildebeest.features"]  # type: ignore[no-any-return]


def takes_av() -> bool:
    """Whether uploads may be video and audio: ffmpeg was there when the app was made."""
    return current_app.extensions["wildebeest.av"]  # type: ignore[no-any-return]


def signed_url() -> str:
    """The URL a remote server signed for this request: our public origin, path and query.

    Built from the configured scheme and domain, not from `Host`: behind a proxy the
    request reaches us under another authority than the one the sender addressed.
    """
    query = request.query_string.decode("latin-1")
    return f"{runtime().config.base_url}{request.path}" + (f"?{query}" if query else "")


AP_TYPES = ("application/activity+json", "application/ld+json")


def wants_activitypub() -> bool:
    """Whether the client asked for ActivityStreams rather than a web page."""
    accept = request.headers.get("Accept", "")
    return any(t in accept for t in AP_TYPES)


def encode_json(data: Any) -> bytes:
    """JSON as `json_response` encodes it."""
    return jsonio.encode(data)


def json_response(data: Any, status: int = 200, **headers: str) -> Response:
    """A JSON response, encoded with orjson (cheaper than `jsonify`'s provider machinery);
    `data` may be JSON already encoded (`bytes`)."""
    response = Response(
        data if isinstance(data, bytes) else encode_json(data),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response
