"""Hypercorn's TCP connections with a keep-alive timer that costs no task per request.

Hypercorn's Trio worker closes a connection that stays idle `keep_alive_timeout` seconds
(or at once, when idle during a shutdown) with an "idle task": started in the
connection's nursery each time a response ends, cancelled when the next request comes.
Every request so paid a task start, a lock, a cancellation and the cancelled task's
unwinding: more than the rest of Hypercorn's own work for a small answer. `IdleTimer`
keeps one watcher task per connection and moves its deadline instead (a request: no
deadline; a response done: the keep-alive time from now). What a client sees is the
same: an idle connection is closed after `keep_alive_timeout`, a busy one never, and on
shutdown an idle one at once and a busy one when its response is done.

Its `TCPServer` also writes a response's bytes to a plain socket at once when the socket
takes them (Hypercorn takes a lock and calls `send_all`, each a trip through Trio's
scheduler), and skips the empty write that ends a body of declared length.

`install()` makes Hypercorn's Trio worker build its connections as `TCPServer` here.
"""

from __future__ import annotations

import math
import os
from typing import Any

import trio
from hypercorn.events import Closed, Event, RawData
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import TCPServer as HypercornTCPServer


class IdleTimer:
    """A connection's idle task, as Hypercorn's `TrioSingleTask` is used for it
    (`restart` when the connection goes idle, `stop` when a request comes)."""

    def __init__(self, server: HypercornTCPServer) -> None:
        self._server = server
        self._idle = False
        self._deadline = math.inf
        self._scope: trio.CancelScope | None = None
        self._watching = False

    async def restart(self, task_group: Any, action: Any) -> None:
        """The connection is idle: close it after the keep-alive time (`action`, Hypercorn's
        own timeout, is what the watcher does)."""
        self._idle = True
        self._deadline = trio.current_time() + self._server.config.keep_alive_timeout
        if self._scope is not None:
            self._scope.deadline = self._deadline
        if not self._watching:
            self._watching = True
            task_group._nursery.start_soon(self._watch)

    async def stop(self) -> None:
        """A request came: the connection stays open while it is served."""
        self._idle = False
        self._deadline = math.inf
        if self._scope is not None:
            self._scope.deadline = math.inf

    async def _watch(self) -> None:
        terminated = self._server.context.terminated
        while True:
            with trio.CancelScope(deadline=self._deadline) as scope:
                self._scope = scope
                await terminated.wait()
            self._scope = None
            if self._idle:
                break  # idle past its time, or the server is shutting down
            if terminated.is_set():
                # Busy while the server shuts down: closed when its response is done
                # (`restart` starts the watcher again, which then closes at once).
                self._watching = False
                return
            # The deadline passed as a request came in: watch again.
        with trio.CancelScope(shield=True):
            await self._server._initiate_server_close()


class TCPServer(HypercornTCPServer):
    """Hypercorn's connection, with an `IdleTimer` as its idle task, whose bytes go to a
    plain socket without a detour through Trio's scheduler when the socket takes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_task = IdleTimer(self)  # type: ignore[assignment]

    async def protocol_send(self, event: Event) -> None:
        stream: Any = self.stream  # typed as TLS; a plain socket's is what this serves
        lock = self.send_lock
        if (
            type(event) is not RawData
            or type(stream) is not trio.SocketStream
            or type(lock) is not trio.Lock
            or lock.locked()
            or stream.socket.did_shutdown_SHUT_WR
            or stream.socket.fileno() == -1
        ):
            # Anything but bytes for an open plain socket nobody is writing to, as Hypercorn.
            await super().protocol_send(event)
            return
        data = event.data
        if not data:
            return  # h11's end of a body of declared length: nothing to write
        # Hypercorn takes its lock and sends with `send_all`: two trips through the
        # scheduler (and up and down every ASGI layer's coroutine) per write, even when the
        # socket takes the bytes at once. So: write now, and wait only for what is left.
        lock.acquire_nowait()
        try:
            sent = _write_now(stream, data)
            if sent < len(data):
                try:
                    # Shielded, as Hypercorn's: an answer cut short would corrupt the stream.
                    with trio.CancelScope(shield=True):
                        await stream.send_all(data[sent:] if sent > 0 else data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    await self.protocol.handle(Closed())
        finally:
            lock.release()


def _write_now(stream: trio.SocketStream, data: bytes) -> int:
    """As many bytes as the socket takes without waiting (0: none, or an error that
    `send_all` then meets and reports)."""
    try:
        return os.write(stream.socket.fileno(), data)
    except OSError:
        return 0


def install() -> None:
    """Hypercorn's Trio worker serves its connections with `TCPServer` (this module's)."""
    hypercorn_run.TCPServer = TCPServer  # type: ignore[attr-defined]
