"""Stream events between the processes of one machine sharing a SQLite database.

SQLite has no LISTEN/NOTIFY, so each process serving streams binds a Unix datagram
socket in a private folder beside the database file (`<database>-streams/<pid>`, 0700
like the data folder), and a process that publishes sends each event, once, to every
other socket there. No broker stands between them (a parent's crash loses nothing, a
child's restart just binds a new socket); the kernel keeps each datagram whole; a
socket left by a killed process refuses the datagram and is removed by the next
sender. A receiver too far behind to take a datagram loses that event (as the
PostgreSQL relay drops when its buffer is full) rather than slowing the writer.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

import trio

log = logging.getLogger(__name__)

# What one datagram carries; larger events are parked in the database and sent by reference.
DATAGRAM_LIMIT = 60_000
# Unix socket paths are at most 107 bytes on Linux.
_PATH_LIMIT = 107


def folder_for(database_path: str) -> Path | None:
    """The folder of a database's stream sockets; None for an in-memory database."""
    if not database_path or database_path == ":memory:":
        return None
    return Path(os.path.abspath(database_path) + "-streams")


class StreamPeers:
    """This process's end of the datagram fan-out (a no-op without a folder)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.own: str | None = None
        self._sender: socket.socket | None = None

    def _send_socket(self) -> socket.socket:
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        return self._sender

    def others(self) -> list[str]:
        """The sockets of the other processes serving streams (none without a folder)."""
        if self.folder is None:
            return []
        try:
            return [
                e.path for e in os.scandir(self.folder) if e.name.isdigit() and e.path != self.own
            ]
        except FileNotFoundError:
            return []

    def send(self, message: bytes, paths: list[str]) -> int:
        """Send a message to each of these sockets at once; how many took it."""
        sent = 0
        for path in paths:
            try:
                self._send_socket().sendto(message, path)
                sent += 1
            except (ConnectionRefusedError, FileNotFoundError):
                # Its process died without removing it (kill -9): nobody reads there.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            except BlockingIOError:
                log.warning("a streaming process is behind; an event was dropped for it")
            except OSError as exc:
                if exc.errno != errno.EMSGSIZE:
                    raise
                log.warning("stream event of %d bytes too large for a datagram", len(message))
        return sent

    async def receive(
        self,
        on_message: Callable[[str], None],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Bind this process's socket and hand each datagram to `on_message` until cancelled."""
        if self.folder is None:
            task_status.started()
            await trio.sleep_forever()
        assert self.folder is not None
        self.folder.mkdir(mode=0o700, exist_ok=True)
        path = str(self.folder / str(os.getpid()))
        if len(path.encode()) > _PATH_LIMIT:
            log.warning("stream socket path too long (%s): other processes' events stay away", path)
            task_status.started()
            await trio.sleep_forever()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a previous process of the same pid
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        with sock:
            await sock.bind(path)
            self.own = path
            task_status.started()
            try:
                while True:
                    data = await sock.recv(DATAGRAM_LIMIT + 1)
                    try:
                        on_message(data.decode())
                    except UnicodeDecodeError:
                        log.warning("malformed stream datagram ignored")
            finally:
                self.own = None
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
