"""The access log: one line per request on the `wildebeest_trio.access` logger; the
request's context (its id) and its metrics.

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

from .. import metrics, tracing
from ..logs import new_request

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
    """ASGI middleware: each request's context (its id for the logs), its metrics, and
    the access log when `log_requests` (inside `ProxyHeaders`: the client is real)."""

    def __init__(self, app: Any, *, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = new_request()
        state: dict[str, Any] = {"status": None, "bytes": 0}

        async def observing_send(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state["status"] = message["status"]
            elif kind == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            elif kind == "websocket.accept":
                state["status"] = 101
            elif kind == "websocket.close" and state["status"] is None:
                state["status"] = 403
            elif kind == "websocket.http.response.start":
                state["status"] = message["status"]
            await send(message)

        method = scope.get("method", "GET") if kind == "http" else "WEBSOCKET"
        with tracing.request_span(method, scope.get("path", ""), scope["headers"]) as span:
            try:
                await self.app(scope, receive, observing_send)
            finally:
                seconds = time.perf_counter() - started
                status = state["status"] or 500
                route = context.route or "unmatched"
                metrics.http_request(method, route, status, seconds)
                tracing.finish_request(span, route, status)
                if self.log_requests and log.isEnabledFor(logging.INFO):
                    self._log(scope, state, seconds, context.request_id)

    @staticmethod
    def _log(scope: dict[str, Any], state: dict[str, Any], seconds: float, request_id: str) -> None:
        client = scope.get("client")
        address = client[0] if client else "-"
        line = request_line(scope)
        agent = _printable(_header(scope, b"user-agent")[:300])
        # The same facts as fields, for JSON logs (WB_LOG_FORMAT=json).
        fields = {
            "client": address,
            "request": line,
            "status": state["status"],
            "bytes": state["bytes"],
            "duration_ms": round(seconds * 1000, 1),
            "user_agent": agent,
        }
        log.info(
            '%s "%s" %s %d %.1fms "%s" %s',
            address,
            line,
            state["status"] or "-",
            state["bytes"],
            seconds * 1000,
            agent,
            request_id,
            extra=fields,
        )
