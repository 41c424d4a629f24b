"""The one ASGI layer between Hypercorn and Quart: what every request passes through.

For each HTTP request or WebSocket, in one call and at most one copy of the scope:

- its context for the logs and metrics (`logs.new_request`: its id);
- the client's address and scheme as trusted proxies report them (`http.proxy`);
- `/api/v1/instance/` served as `/api/v1/instance` (a trailing slash stripped);
- an answer given before the request body was read leaves the connection usable
  (`http.unread_body`);
- the headers every HTTP answer carries (`X-Request-Id`, CORS, HSTS, the process),
  appended as bytes to the response's start;
- its metrics, its span (traces) and the access line (`http.access_log`).

They were five nested middlewares (and an after-request hook); every request paid each
one's frames, closures and scope copy, which a trivial route felt next to a bare hello.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any

from .. import metrics, tracing
from ..config import IpNetwork
from ..logs import new_request
from .access_log import log as access_log
from .access_log import log_request
from .proxy import PeerCache
from .unread_body import DRAIN_SECONDS, Exchange

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CORS_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo/")
CORS_EXPOSE = "Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"
# What Rails' force_ssl sends (Mastodon in production): two years, subdomains included.
HSTS = "max-age=63072000; includeSubDomains"
_CORS_HEADERS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", CORS_EXPOSE.encode()),
)
_HSTS_HEADER = (b"strict-transport-security", HSTS.encode())
_WS_SCHEMES = {"http": "ws", "https": "wss"}


def is_cors(path: str) -> bool:
    """Whether `path` answers browsers of any origin (the API, OAuth tokens, discovery)."""
    return path.startswith(CORS_PREFIXES)


class Edge:
    """ASGI middleware: the request path's shared work, in one layer (see the module)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted: Sequence[IpNetwork],
        max_bytes: int,
        larger: Mapping[str, int] | None = None,
        log_requests: bool = True,
        hsts: bool = False,
        process: Callable[[], int | None] = lambda: None,
        max_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.app = app
        self.peers = PeerCache(trusted)
        self.max_bytes = max_bytes
        #: POST paths that accept larger bodies than `max_bytes`, and their limits.
        self.larger = dict(larger or {})
        self.log_requests = log_requests
        #: Whether the server's public scheme is https (HSTS over https requests then).
        self.hsts = hsts
        #: Which web process this is (None: the only one), read per request.
        self.process = process
        self.max_seconds = max_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = new_request()
        sent_scope = scope  # the path as sent, for the log and the span
        scope = self._rewrite(scope, kind)
        method = scope.get("method", "GET") if kind == "http" else "WEBSOCKET"
        path: str = scope["path"]
        app_receive: Receive
        app_send: Send
        if kind == "http":
            max_bytes = self.max_bytes
            if method == "POST" and self.larger:
                max_bytes = max(max_bytes, self.larger.get(path, 0))
            extra = [(b"x-request-id", context.request_id.encode())]
            process = self.process()
            if process is not None:
                # Which process answered, for an admin (and a test) following a request.
                extra.append((b"wildebeest-process", str(process).encode()))
            if self.hsts and scope.get("scheme") == "https":
                extra.append(_HSTS_HEADER)
            if path.startswith(CORS_PREFIXES):
                extra.extend(_CORS_HEADERS)
            exchange = Exchange(scope, receive, send, max_bytes, self.max_seconds, extra)
            app_receive, app_send = exchange.receive, exchange.send
        else:
            exchange = Exchange.websocket(receive, send)
            app_receive, app_send = receive, exchange.send_websocket
        with tracing.request_span(method, sent_scope["path"], scope["headers"]) as span:
            try:
                await self.app(scope, app_receive, app_send)
            finally:
                seconds = time.perf_counter() - started
                status = exchange.status or 500
                route = context.route or "unmatched"
                metrics.http_request(method, route, status, seconds)
                tracing.finish_request(span, route, status)
                if self.log_requests and access_log.isEnabledFor(logging.INFO):
                    client = scope.get("client")
                    log_request(
                        sent_scope,
                        client[0] if client else None,
                        exchange.status,
                        exchange.sent,
                        seconds,
                        context.request_id,
                    )

    def _rewrite(self, scope: Scope, kind: str) -> Scope:
        """The scope as the application sees it: the client's address and scheme, the
        path without a trailing slash (a copy when any differs)."""
        changes: dict[str, Any] = {}
        client = scope.get("client")
        if client:
            address, scheme = self.peers.resolve(client[0], scope.get("headers", []))
            if address != client[0]:
                changes["client"] = (address, client[1])
            if scheme is not None:
                scheme = _WS_SCHEMES[scheme] if kind == "websocket" else scheme
                if scheme != scope.get("scheme"):
                    changes["scheme"] = scheme
        path: str = scope["path"]
        if len(path) > 1 and path[-1] == "/":
            stripped = path.rstrip("/") or "/"
            changes["path"] = stripped
            changes["raw_path"] = stripped.encode()
        return dict(scope, **changes) if changes else scope
