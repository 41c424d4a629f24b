"""WebSocket frames written straight to the connection's socket, beside Hypercorn.

Hypercorn sends each ASGI `websocket.send` through an ASGI message, a wsproto event, its
HTTP/1.1 protocol object and a shielded `send_all` under the connection's send lock, with
three Trio scheduling points on the way: most of the server's time when one status goes
out to a thousand streams. A stream event is the same frame for every connection with the
same stream label, so the hub frames it once (`StreamMessage.websocket_bytes`) and
`DirectFrames.send` writes those bytes under the same send lock: one `send` call when the
socket has room, and the rest with `send_all` (shielded, as Hypercorn does, so that no frame
is ever cut) when it has not, waiting for that reader alone.

Only plain HTTP/1.1 connections are reached this way; anything else (TLS, HTTP/2, the
test client, a closed connection) gets `None` or `False` and goes through ASGI as before.
`DirectWebSocket` is the ASGI middleware that finds the connection: it must be outermost,
where `send` is still Hypercorn's own.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.protocol.ws_stream import ASGIWebsocketState, WSStream
from hypercorn.trio.tcp_server import TCPServer
from wsproto.connection import ConnectionState

SCOPE_KEY = "wildebeest.direct_frames"

Scope = MutableMapping[str, Any]
Send = Callable[[Any], Awaitable[None]]


class DirectFrames:
    """One WebSocket connection's socket, for frames that are already encoded."""

    def __init__(self, stream: WSStream, server: TCPServer, socket: trio.SocketStream) -> None:
        self._ws = stream
        self._lock = server.send_lock
        self._socket = socket

    def _open(self) -> bool:
        ws = self._ws
        return (
            not ws.closed
            and ws.state == ASGIWebsocketState.CONNECTED
            and ws.connection.state == ConnectionState.OPEN
        )

    async def send(self, frame: bytes) -> bool:
        """Write one whole frame; False when the connection cannot take it this way."""
        if self._lock.locked():
            await self._lock.acquire()  # Hypercorn is writing (a ping, a reply): queue
        else:
            self._lock.acquire_nowait()  # without the scheduling point of `acquire`
        try:
            sent = self._write_now(frame)
            if 0 <= sent < len(frame):
                await self._finish(frame, sent)
            return sent >= 0
        finally:
            self._lock.release()

    def _write_now(self, frame: bytes) -> int:
        """As much of the frame as the socket takes without waiting; -1 if none may go."""
        # Checked and written with no await between: the socket cannot be closed (and its
        # descriptor reused) in the meantime.
        fd = self._socket.socket.fileno()
        if fd < 0 or not self._open():
            return -1
        try:
            return os.write(fd, frame)
        except BlockingIOError:
            return 0
        except OSError:
            return -1  # Hypercorn's own path meets the error and ends the stream

    async def _finish(self, frame: bytes, sent: int) -> None:
        # The reader is behind: the rest of this frame goes before anything else, waiting
        # for this connection only. Shielded, as Hypercorn's sends are: a frame cut short
        # would corrupt the stream.
        with trio.CancelScope(shield=True):
            try:
                await self._socket.send_all(memoryview(frame)[sent:])
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # the reading side sees the connection go and ends the stream


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
    return DirectFrames(ws, server, server.stream)


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
