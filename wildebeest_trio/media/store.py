"""Where media files live: the `MediaStore` interface and its local-filesystem backend.

Keys have the shape `<category>/<ab>/<cd>/<name>.<ext>`, and a file never changes once
written, so it can be cached forever. The name is the file's SHA-256 (its content
address: the same bytes stored twice share one key, as avatars, headers and emoji do)
or, for files stored `unique` (attachments), 256 random bits: then a URL is the
attachment's own, unguessable from the content and shared with no other upload.
Deleting a key is the caller's decision, taken only when nothing refers to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import trio

from ..private_files import write_atomically

# The media types the server stores, with the one extension each is stored under.
# Attachments (video, audio) add theirs here; serving derives Content-Type from it.
EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
}
CONTENT_TYPES: dict[str, str] = {ext: ctype for ctype, ext in EXTENSIONS.items()}

# One to four lower-case path segments, e.g. `avatars` or `cache/remote_avatars`.
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}(?:/[a-z][a-z0-9_-]{0,62}){0,3}$")
# A whole key. Strict on purpose: nothing outside this shape can name a file, so
# `..`, absolute paths, temporary files and stray names are refused by syntax alone.
KEY_RE = re.compile(
    r"^(?P<category>[a-z][a-z0-9_-]{0,62}(?:/[a-z][a-z0-9_-]{0,62}){0,3})"
    r"/(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P<name>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})$"
)


class MediaKeyError(ValueError):
    """A key, category or content type the media store does not accept."""


@dataclass(frozen=True)
class StoredMedia:
    """One file in the media store."""

    key: str
    url: str
    content_type: str
    size: int
    sha256: str


@runtime_checkable
class MediaStore(Protocol):
    """Content-addressed file storage with public URLs (local disk now, S3-compatible later)."""

    async def put(
        self, data: bytes, *, content_type: str, category: str, unique: bool = False
    ) -> StoredMedia:
        """Store `data` under its content address (storing the same bytes again is a no-op),
        or, with `unique`, under a fresh random name of its own."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a file; a missing file is not an error."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""
        ...

    def url(self, key: str) -> str:
        """The public URL of `key` (whether or not it exists)."""
        ...


def make_key(
    data: bytes, *, content_type: str, category: str, unique: bool = False
) -> tuple[str, str]:
    """The key for `data` and its SHA-256 hex digest: its content address, or with `unique`
    a fresh name of 256 random bits (nothing about the content can find it)."""
    ext = EXTENSIONS.get(content_type)
    if ext is None:
        raise MediaKeyError(f"unsupported media type for storage: {content_type!r}")
    if not CATEGORY_RE.match(category):
        raise MediaKeyError(f"invalid media category: {category!r}")
    digest = hashlib.sha256(data).hexdigest()
    name = secrets.token_hex(32) if unique else digest
    return f"{category}/{name[:2]}/{name[2:4]}/{name}.{ext}", digest


def is_valid_key(key: str) -> bool:
    """Whether `key` has the shape `make_key` produces (its fan-out matching its name)."""
    m = KEY_RE.match(key)
    return bool(m) and m["name"][:2] == m["a"] and m["name"][2:4] == m["b"]


def content_type_for_key(key: str) -> str:
    """The Content-Type a stored key is served with."""
    return CONTENT_TYPES.get(key.rpartition(".")[2], "application/octet-stream")


class LocalMediaStore:
    """A `MediaStore` on the local filesystem: `<root>/<key>`, served at `<base_url>/system/<key>`.

    Writes are atomic (a temporary file in the target folder, fsynced, then
    renamed over the final name), so a reader or a crash never sees half a file.
    All blocking file work runs in worker threads.
    """

    def __init__(self, root: Path, base_url: str) -> None:
        # No I/O here: the folder is created on first write.
        self.root = Path(os.path.abspath(root))
        self.base_url = base_url.rstrip("/")

    def url(self, key: str) -> str:
        return f"{self.base_url}/system/{key}"

    async def put(
        self, data: bytes, *, content_type: str, category: str, unique: bool = False
    ) -> StoredMedia:
        key, digest = make_key(data, content_type=content_type, category=category, unique=unique)
        await trio.to_thread.run_sync(self._write, key, data)
        return StoredMedia(
            key=key, url=self.url(key), content_type=content_type, size=len(data), sha256=digest
        )

    async def delete(self, key: str) -> None:
        path = self._path(key)
        if path is not None:
            await trio.to_thread.run_sync(_unlink_quietly, path)

    async def exists(self, key: str) -> bool:
        return await self.local_path(key) is not None

    async def local_path(self, key: str) -> Path | None:
        """The file holding `key`, if it is a valid key naming a regular file inside the root."""
        path = self._path(key)
        if path is None:
            return None
        return await trio.to_thread.run_sync(self._check_inside, path)

    def _path(self, key: str) -> Path | None:
        if not is_valid_key(key):
            return None
        return self.root / key

    def _check_inside(self, path: Path) -> Path | None:
        # Syntax already rules out `..`; this catches symlinks planted under the
        # root that point elsewhere (the file must really be inside the root).
        try:
            real = Path(os.path.realpath(path, strict=True))
            root = Path(os.path.realpath(self.root, strict=True))
        except OSError:
            return None
        if not real.is_relative_to(root) or not real.is_file():
            return None
        return real

    def _write(self, key: str, data: bytes) -> None:
        final = self.root / key
        if final.is_file() and final.stat().st_size == len(data):
            return  # Content-addressed: the same name already holds these bytes.
        # Folders 0700, files 0600: the server serves them itself. A temporary file has
        # a dot name, which never matches KEY_RE, so it is never served.
        write_atomically(final, data)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
