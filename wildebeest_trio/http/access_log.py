"""The access log: one line per request on the `wildebeest_trio.access` logger.

`client "METHOD /path?query" status bytes duration "user agent" request-id`, logged when
the response is complete (a streaming response when it ends). Query values that may be
secrets (tokens, codes, passwords...) are replaced by `[FILTERED]`; control characters
and quotes are escaped so a request cannot forge log lines.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import parse_qsl, quote

log = logging.getLogger("wildebeest_trio.access")

# Rails' filter_parameters as Mastodon sets them, plus OAuth's `code` and signatures.
SECRET_PARTS = (
    "passw",
    "secret",
    "token",
    "_key",
    "crypt",
    "salt",
    "certificate",
    "otp",
    "ssn",
    "code",
    "email",
    "signature",
)
FILTERED = "[FILTERED]"


def _printable(text: str) -> str:
    """Control characters, quotes and backslashes as escapes: one log line stays one."""
    out = []
    for char in text:
        if char in '"\\' or ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def filtered_query(query: str) -> str:
    """A query string with the values of secret-looking parameters replaced."""
    if not query:
        return ""
    pairs = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        secret = any(part in name.lower() for part in SECRET_PARTS)
        pairs.append(f"{quote(name, safe='[]')}={FILTERED if secret else quote(value)}")
    return "&".join(pairs)


def request_line(scope: dict[str, Any]) -> str:
    """`METHOD /path?query` as logged: the path as sent, secrets filtered out."""
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    path = raw_path.decode("latin-1").partition("?")[0]
    query = filtered_query(scope.get("query_string", b"").decode("latin-1"))
    method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
    return _printable(f"{method} {path}" + (f"?{query}" if query else ""))


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


class AccessLog:
    """ASGI middleware writing the access log (inside `ProxyHeaders`: the client is real)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": None, "bytes": 0, "request_id": "-"}

        async def logging_send(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state["status"] = message["status"]
                for key, value in message.get("headers", []):
                    if key.lower() == b"x-request-id":
                        state["request_id"] = value.decode("latin-1")
            elif kind == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            elif kind == "websocket.accept":
                state["status"] = 101
            elif kind == "websocket.close" and state["status"] is None:
                state["status"] = 403
            await send(message)

        try:
            await self.app(scope, receive, logging_send)
        finally:
            client = scope.get("client")
            log.info(
                '%s "%s" %s %d %.1fms "%s" %s',
                client[0] if client else "-",
                request_line(scope),
                state["status"] or "-",
                state["bytes"],
                (time.perf_counter() - started) * 1000,
                _printable(_header(scope, b"user-agent")[:300]),
                _printable(state["request_id"]),
            )
