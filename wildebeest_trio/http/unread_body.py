"""ASGI middleware: an answer given before the request body was read leaves the connection
usable, by reading the rest of the body first, or by closing the connection.

An endpoint that refuses a request (401, 403, 413, 422, 429...) answers without reading its
body. On Hypercorn's Trio worker with quart-trio that hung the keep-alive connection:
Hypercorn cannot start the next request while body bytes are unread, so it closes the
connection, and the `http.disconnect` it hands the application while closing makes
quart-trio cancel the very task that is closing it. The socket stayed open and the next
request on it was swallowed as body bytes, never answered. With more than a few chunks of
unread body Hypercorn's queue to the application also filled up and nothing moved at all.

So, when a response starts before the body has been received in full, the rest is read
and dropped, up to the size the application accepts and for a few seconds, and the
connection is reused. Past those bounds the response says `Connection: close` (as puma
does) and the body is read and dropped until the response is sent, so Hypercorn's queue
never blocks. While the last part of a response is being sent, a disconnect is held
back from the application until the send has returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import trio

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

DRAIN_SECONDS = 5.0


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _declares_no_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an HTTP/1 request has no body: neither `Content-Length` (or 0) nor
    `Transfer-Encoding` (RFC 9112 6.3), as most GETs."""
    for name, value in headers:
        name = name.lower()
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return False
    return True


class FinishUnreadBody:
    """Wrap an ASGI application so an early answer never strands the request body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_seconds: float = DRAIN_SECONDS,
        larger: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        #: POST paths that accept larger bodies than `max_bytes`, and their limits.
        self.larger = dict(larger or {})

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        if scope.get("method") == "POST":
            max_bytes = max(max_bytes, self.larger.get(scope["path"], 0))
        exchange = _Exchange(scope, receive, send, max_bytes, self.max_seconds)
        await self.app(scope, exchange.receive, exchange.send)


class _Exchange:
    """One request: what of its body has come in, and its response on the way out."""

    def __init__(
        self,
        scope: MutableMapping[str, Any],
        receive: Receive,
        send: Send,
        max_bytes: int,
        max_seconds: float,
    ) -> None:
        self._receive = receive
        self._send = send
        self._max_bytes = max_bytes
        self._max_seconds = max_seconds
        # `Connection` is a hop-by-hop header of HTTP/1 only (HTTP/2 refuses it).
        self._http1 = scope.get("http_version", "1.1") in ("1.0", "1.1")
        headers = scope.get("headers", [])
        self._declared = _content_length(headers)
        self._received = 0
        # Nothing to read or drop (HTTP/2 may send a body without declaring its length).
        self._body_done = self._http1 and _declares_no_body(headers)
        self._settled = trio.Event()
        self._sending_last = False
        self._last_sent = trio.Event()

    async def _next(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self._body_done = True
                self._settled.set()
        elif message["type"] == "http.disconnect":
            self._body_done = True
            self._settled.set()
        return message

    async def receive(self) -> Message:
        """The application's `receive`."""
        message = await self._next()
        if message["type"] == "http.disconnect" and self._sending_last:
            # Hypercorn hands this over while it closes or recycles the connection inside
            # the last `send`; quart-trio would cancel that send half-way.
            await self._last_sent.wait()
        return message

    async def send(self, message: Message) -> None:
        """The application's `send`."""
        kind = message["type"]
        if kind == "http.response.start" and not self._body_done:
            if not await self._drain() and self._http1:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
        if kind == "http.response.body" and not message.get("more_body", False):
            await self._send_last(message)
        else:
            await self._send(message)

    async def _drain(self) -> bool:
        """Read and drop the rest of the body within the bounds; whether it all came."""
        if self._declared is not None and self._declared > self._max_bytes:
            return False
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._drop_body, self._max_bytes)
            with trio.move_on_after(self._max_seconds):
                await self._settled.wait()
            nursery.cancel_scope.cancel()
        return self._body_done

    async def _drop_body(self, limit: int | None) -> None:
        # The application may be receiving at the same time: every message goes to one
        # of the two, and both count it.
        while not self._body_done and (limit is None or self._received <= limit):
            await self._next()
        self._settled.set()

    async def _send_last(self, message: Message) -> None:
        self._sending_last = True
        try:
            if self._body_done:
                await self._send(message)
                return
            async with trio.open_nursery() as nursery:
                # Keeps Hypercorn's queue to the application moving until it has closed.
                nursery.start_soon(self._drop_body, None)
                await self._send(message)
                nursery.cancel_scope.cancel()
        finally:
            self._last_sent.set()
