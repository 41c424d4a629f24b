"""A request body kept in a temporary file as it arrives, for the routes that take large files.

Quart reads a request's body eagerly, whatever the route does, into a `bytearray`: a
30 MB video would sit whole in memory before the route reads a byte of it. For the
upload routes (`WildebeestRequest.spooled_bodies`) the body goes instead to an unnamed
temporary file (the kernel removes it when it is closed, or when the process dies),
with the size limit checked on every piece (past it the route sees a 413), and the
multipart parser reads it back in pieces and writes each file field to a temporary file
of its own (`stream_factory`), which ffmpeg and the media store then read by name.
`close` removes them all; the route calls it when it is done, and garbage collection
does it for a request that never got there.

The writes are plain blocking writes of the pieces Hypercorn hands over (at most its
read size, 64 KiB): they land in the page cache and return at once, which costs less
than a round trip to a worker thread for each.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

from quart_trio.wrappers.request import TrioBody
from werkzeug.exceptions import RequestEntityTooLarge

# The pieces the form parser reads the body back in.
READ_BYTES = 256 * 1024


class SpooledBody(TrioBody):
    """A Quart request body in a temporary file: bounded memory whatever its size."""

    def __init__(self, expected_content_length: int | None, max_content_length: int | None) -> None:
        super().__init__(expected_content_length, max_content_length)
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="wb-body-")
        self._size = 0
        self._read = 0
        self._parts: list[IO[bytes]] = []

    def append(self, data: bytes) -> None:
        if data == b"" or self._must_raise is not None or self._file.closed:
            return
        limit = self._max_content_length
        if limit is not None and self._size + len(data) > limit:
            self._must_raise = RequestEntityTooLarge()
            self.set_complete()
            return
        self._file.seek(self._size)
        self._file.write(data)
        self._size += len(data)
        self._has_data.set()

    async def __anext__(self) -> bytes:
        while True:
            if self._must_raise is not None:
                raise self._must_raise
            if self._read < self._size:
                self._file.seek(self._read)
                chunk = self._file.read(min(READ_BYTES, self._size - self._read))
                self._read += len(chunk)
                return chunk
            if self._complete.is_set():
                raise StopAsyncIteration()
            # No await between the checks and this wait: nothing can arrive in between.
            self._has_data.clear()
            await self._has_data.wait()

    def __await__(self) -> Generator[Any, None, bytes]:
        return self._whole().__await__()

    async def _whole(self) -> bytes:
        """The whole body (for a route that wants it in memory after all)."""
        if self._must_raise is not None:
            raise self._must_raise
        await self._complete.wait()
        if self._must_raise is not None:
            raise self._must_raise
        self._file.seek(0)
        return self._file.read(self._size)

    def clear(self) -> None:
        """Nothing is held in memory to drop."""

    @property
    def size(self) -> int:
        """The bytes received so far."""
        return self._size

    def stream_factory(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        """Where the form parser writes a file field: a named temporary file (ffmpeg reads
        it by name), removed by `close`."""
        part = tempfile.NamedTemporaryFile(prefix="wb-upload-")
        self._parts.append(part)
        return part

    def close(self) -> None:
        """Remove the body's file and every file field's."""
        for handle in (self._file, *self._parts):
            with contextlib.suppress(OSError):
                handle.close()
        self._parts.clear()


def close_spooled(body: object) -> None:
    """Close a request's body and its file fields if it is a `SpooledBody`."""
    if isinstance(body, SpooledBody):
        body.close()


@contextlib.contextmanager
def file_path(stream: IO[bytes]) -> Iterator[Path]:
    """The name of a file holding an uploaded field: the spooled one, else a copy."""
    name = getattr(stream, "name", None)
    if isinstance(name, str) and Path(name).is_absolute():
        stream.flush()
        yield Path(name)
        return
    # A body that was not spooled (an app without `SpooledBody`): copied to a file.
    with tempfile.NamedTemporaryFile(prefix="wb-upload-") as copy:
        stream.seek(0)
        shutil.copyfileobj(stream, copy, 1024 * 1024)
        copy.flush()
        yield Path(copy.name)


__all__ = ["SpooledBody", "close_spooled", "file_path"]
