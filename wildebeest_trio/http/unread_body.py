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

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DRAIN_SECONDS = 5.0


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def declares_no_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether an HTTP/1 request has no body: neither `Content-Length` (or 0) nor
    `Transfer-Encoding` (RFC 9112 6.3), as most GETs."""
    for name, value in headers:
        name = name.lower()
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return False
    return True


class Exchange:
    """One request as `http.edge` passes it on: what of its body has come in, and its
    response on the way out (its status, its bytes, the headers every answer carries).

    Created once per request, so it makes no more than it needs: the events that
    coordinate draining and the last send are made when a request gets there.
    """

    __slots__ = (
        "_declared",
        "_extra",
        "_http1",
        "_last_sent",
        "_max_bytes",
        "_max_seconds",
        "_receive",
        "_received",
        "_send",
        "_sending_last",
        "_settled",
        "body_done",
        "sent",
        "status",
    )

    def __init__(
        self,
        scope: MutableMapping[str, Any],
        receive: Receive,
        send: Send,
        max_bytes: int,
        max_seconds: float,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self._receive = receive
        self._send = send
        self._max_bytes = max_bytes
        self._max_seconds = max_seconds
        self._extra = extra_headers
        #: The response's status once it started (None: not yet), and its body bytes.
        self.status: int | None = None
        self.sent = 0
        if scope.get("type") != "http":
            self._http1 = False
            self._declared = None
            self.body_done = True
        else:
            # `Connection` is a hop-by-hop header of HTTP/1 only (HTTP/2 refuses it).
            self._http1 = scope.get("http_version", "1.1") in ("1.0", "1.1")
            headers = scope.get("headers", [])
            self._declared = _content_length(headers)
            # Nothing to read or drop (HTTP/2 may send a body without declaring its length).
            self.body_done = self._http1 and declares_no_body(headers)
        self._received = 0
        self._settled: trio.Event | None = None
        self._sending_last = False
        self._last_sent: trio.Event | None = None

    @classmethod
    def websocket(cls, receive: Receive, send: Send) -> Exchange:
        """A WebSocket's: only its status is observed (101 accepted, 403 refused...)."""
        return cls({"type": "websocket"}, receive, send, 0, 0.0)

    async def send_websocket(self, message: Message) -> None:
        """A WebSocket application's `send`."""
        kind = message["type"]
        if kind == "websocket.accept":
            self.status = 101
        elif kind == "websocket.close" and self.status is None:
            self.status = 403
        elif kind == "websocket.http.response.start":
            self.status = message["status"]
        await self._send(message)

    def _settle(self) -> None:
        self.body_done = True
        if self._settled is not None:
            self._settled.set()

    async def _next(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self._settle()
        elif message["type"] == "http.disconnect":
            self._settle()
        return message

    async def receive(self) -> Message:
        """The application's `receive`."""
        message = await self._next()
        if message["type"] == "http.disconnect" and self._sending_last:
            # Hypercorn hands this over while it closes or recycles the connection inside
            # the last `send`; quart-trio would cancel that send half-way.
            if self._last_sent is None:
                self._last_sent = trio.Event()
            await self._last_sent.wait()
        return message

    async def send(self, message: Message) -> None:
        """The application's `send`."""
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            headers = message.get("headers", [])
            if self._extra:
                headers = [*headers, *self._extra]
            if not self.body_done and not await self._drain() and self._http1:
                headers = [*headers, (b"connection", b"close")]
            if headers is not message.get("headers"):
                message = {**message, "headers": headers}
            await self._send(message)
        elif kind == "http.response.body":
            self.sent += len(message.get("body", b""))
            if message.get("more_body", False):
                await self._send(message)
            else:
                await self._send_last(message)
        else:
            await self._send(message)

    async def _drain(self) -> bool:
        """Read and drop the rest of the body within the bounds; whether it all came."""
        if self._declared is not None and self._declared > self._max_bytes:
            return False
        if self._settled is None:
            self._settled = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._drop_body, self._max_bytes)
            with trio.move_on_after(self._max_seconds):
                await self._settled.wait()
            nursery.cancel_scope.cancel()
        return self.body_done

    async def _drop_body(self, limit: int | None) -> None:
        # The application may be receiving at the same time: every message goes to one
        # of the two, and both count it.
        while not self.body_done and (limit is None or self._received <= limit):
            await self._next()
        if self._settled is not None:
            self._settled.set()

    async def _send_last(self, message: Message) -> None:
        self._sending_last = True
        try:
            if self.body_done:
                await self._send(message)
                return
            async with trio.open_nursery() as nursery:
                # Keeps Hypercorn's queue to the application moving until it has closed.
                nursery.start_soon(self._drop_body, None)
                await self._send(message)
                nursery.cancel_scope.cancel()
        finally:
            if self._last_sent is not None:
                self._last_sent.set()
            else:
                # A disconnect that comes later need not wait for anything.
                self._sending_last = False
