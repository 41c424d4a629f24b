"""WebSocket frames written straight to the connection's socket, beside Hypercorn.

Hypercorn sends each ASGI `websocket.send` through an ASGI message, a wsproto event, its
HTTP/1.1 protocol object and a shielded `send_all` under the connection's send lock, with
three Trio scheduling points on the way: most of the server's time when one status goes
out to a thousand streams. A stream event is the same frame for every connection with the
same stream label, so the hub frames it once (`StreamMessage.websocket_bytes`) and
`DirectFrames.write_now` writes those bytes to each socket from the publishing task, with
no task switch, whenever the connection is idle: one `os.write` per connection.

A socket that takes only part of a frame keeps the rest in `SendLock`, which replaces
Hypercorn's send lock on the connection: whoever takes the lock next (Hypercorn for a
ping or a close, the stream's own task for the next event, or the flush task started for
it) writes that rest first, so no frame is ever cut or interleaved, and waiting for that
socket holds up that connection alone. `abort` closes a connection that fell too far
behind, even while a write to it is blocked.

Only plain HTTP/1.1 connections are reached this way; anything else (TLS, HTTP/2, the
test client, a closed connection) gets `None` or `False` and goes through ASGI as before.
`DirectWebSocket` is the ASGI middleware that finds the connection: it must be outermost,
where `send` is still Hypercorn's own.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import Any

import trio
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
from hypercorn.trio.tcp_server import TCPServer
from wsproto.connection import ConnectionState

SCOPE_KEY = "wildebeest.direct_frames"

Scope = MutableMapping[str, Any]
Send = Callable[[Any], Awaitable[None]]


class SendLock:
    """A connection's send lock (Hypercorn's own `trio.Lock` inside), and the rest of a
    frame that its socket took only part of: written by whoever takes the lock next."""

    def __init__(self, lock: trio.Lock, socket: trio.SocketStream) -> None:
        self._lock = lock
        self._socket = socket
        self.rest = b""

    def locked(self) -> bool:
        return self._lock.locked()

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        await self.write_rest()

    async def write_rest(self) -> None:
        """Write the rest of a frame, if one was cut; the lock must be held."""
        if not self.rest:
            return
        rest, self.rest = self.rest, b""
        # Shielded, as Hypercorn's sends are: a frame cut short would corrupt the stream.
        # Closing the socket (`DirectFrames.abort`) still ends the wait.
        with trio.CancelScope(shield=True):
            try:
                await self._socket.send_all(rest)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the reading side sees the connection go and ends the stream

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()


class DirectFrames:
    """One WebSocket connection's socket, for frames that are already encoded."""

    def __init__(self, stream: WSStream, lock: SendLock, socket: trio.SocketStream) -> None:
        self._ws = stream
        self._lock = lock
        self._socket = socket

    def _open(self) -> bool:
        ws = self._ws
        return (
            not ws.closed
            and ws.state == ASGIWebsocketState.CONNECTED
            and ws.connection.state == ConnectionState.OPEN
        )

    def write_now(self, frame: bytes, nursery: trio.Nursery) -> bool:
        """Write a whole frame without waiting if the connection is idle; False if it
        is not (the caller sends it later, in order). A socket that takes part of the
        frame gets the rest from a task started in `nursery`."""
        # Checked and written with no await between: nobody else can write in the
        # meantime, nor close the socket (and have its descriptor reused).
        if self._lock.locked() or self._lock.rest:
            return False
        sent = self._write(frame)
        if sent < 0:
            return False
        if sent < len(frame):
            self._lock.rest = frame[sent:]
            nursery.start_soon(self._flush)
        return True

    async def _flush(self) -> None:
        async with self._lock:
            pass  # taking the lock writes the rest

    async def send(self, frame: bytes) -> bool:
        """Write one whole frame, waiting for this socket only; False when the connection
        cannot take it this way."""
        async with self._lock:
            sent = self._write(frame)
            if 0 <= sent < len(frame):
                self._lock.rest = frame[sent:]
                await self._lock.write_rest()
            return sent >= 0

    def _write(self, frame: bytes) -> int:
        """As much of the frame as the socket takes without waiting; -1 if none may go."""
        fd = self._socket.socket.fileno()
        if fd < 0 or not self._open():
            return -1
        try:
            return os.write(fd, frame)
        except BlockingIOError:
            return 0
        except OSError:
            return -1  # Hypercorn's own path meets the error and ends the stream

    def abort(self) -> None:
        """Close the connection now, without a closing frame (its reader is too far
        behind to read one); a write blocked on it ends."""
        self._lock.rest = b""
        self._socket.socket.close()  # wakes the tasks waiting on it; Hypercorn cleans up


def find_direct_frames(send: Send) -> DirectFrames | None:
    """The socket behind Hypercorn's ASGI `send` for a plain HTTP/1.1 WebSocket, if any."""
    ws = getattr(send, "__self__", None)
    if not isinstance(ws, WSStream):
        return None
    protocol = getattr(ws.send, "__self__", None)
    if not isinstance(protocol, H11Protocol):
        return None
    server = getattr(protocol.send, "__self__", None)
    if not isinstance(server, TCPServer) or not isinstance(server.stream, trio.SocketStream):
        return None
    lock = server.send_lock
    if not isinstance(lock, SendLock):
        # The same inner lock: a send holding it now releases the same lock.
        lock = server.send_lock = SendLock(lock, server.stream)  # type: ignore[assignment]
    return DirectFrames(ws, lock, server.stream)


class DirectWebSocket:
    """ASGI middleware: puts a WebSocket connection's `DirectFrames` in its scope."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] == "websocket":
            frames = find_direct_frames(send)
            if frames is not None:
                scope = dict(scope)
                scope[SCOPE_KEY] = frames
        await self.app(scope, receive, send)
