"""Where media files live: the `MediaStore` interface and its local-filesystem backend.

The S3-compatible backend is `media.s3.S3MediaStore`; `media.backends.open_media_store`
picks one from the settings. Every read, write and deletion of a media file goes through
a `MediaStore` (uploads, previews, thumbnails, avatars, headers, emoji, the remote media
cache, archives, `media migrate`), so no other code knows where the files are.

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
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import trio

from ..private_files import make_private_dir, write_atomically

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
    # Private files only (archives, raw uploads waiting for their job).
    "application/zip": "zip",
    "application/octet-stream": "bin",
}
CONTENT_TYPES: dict[str, str] = {ext: ctype for ctype, ext in EXTENSIONS.items()}

# Where a bucket shared by public and private files keeps the private ones (see
# `media.backends.open_private_store`); no public key starts with it.
PRIVATE_PREFIX = "private/"
# One to four lower-case path segments, e.g. `avatars` or `cache/remote_avatars`; never
# `private`, the first segment of the private files when they share a bucket.
CATEGORY_RE = re.compile(
    r"^(?!private(?:/|$))[a-z][a-z0-9_-]{0,62}(?:/[a-z][a-z0-9_-]{0,62}){0,3}$"
)
# A whole key. Strict on purpose: nothing outside this shape can name a file, so
# `..`, absolute paths, temporary files and stray names are refused by syntax alone.
KEY_RE = re.compile(
    r"^(?!private/)(?P<category>[a-z][a-z0-9_-]{0,62}(?:/[a-z][a-z0-9_-]{0,62}){0,3})"
    r"/(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P<name>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})$"
)


# Files are read and copied in pieces this large: a video never sits whole in memory.
CHUNK_BYTES = 1024 * 1024
# Public files never change once written (see the module's docstring).
CACHE_FOREVER = "public, max-age=31536000, immutable"


class MediaKeyError(ValueError):
    """A key, category or content type the media store does not accept."""


class MediaStoreError(Exception):
    """The storage failed (unreachable, refused, full): nothing was stored; try again later."""


@dataclass(frozen=True)
class StoredMedia:
    """One file in the media store."""

    key: str
    url: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Listed:
    """A key found by `MediaStore.listing`, with when its file was last written."""

    key: str
    # Unix seconds.
    modified: float


@runtime_checkable
class MediaStore(Protocol):
    """Content-addressed file storage with public URLs: `local` disk or `s3`-compatible.

    Writes are whole or nothing (a failed one raises `MediaStoreError` and leaves no
    file under the key); reads stream in pieces of at most `CHUNK_BYTES`.
    """

    # `local` or `s3`: what `media migrate` records and the settings name.
    kind: str
    # Where this store keeps private files (archives): a store of the same kind that no
    # public URL serves (a private store is its own).
    private: MediaStore

    async def put(
        self, data: bytes, *, content_type: str, category: str, unique: bool = False
    ) -> StoredMedia:
        """Store `data` under its content address (storing the same bytes again is a no-op),
        or, with `unique`, under a fresh random name of its own."""
        ...

    async def put_file(self, key: str, source: Path, *, download_name: str = "") -> None:
        """Store the file `source` under exactly `key` (streamed, never read whole); with
        `download_name`, a browser fetching it saves it under that name."""
        ...

    async def signed_url(self, key: str, seconds: int) -> str | None:
        """A URL that reads the private `key` for `seconds`, or None when this store has
        none (the local folder: the server streams the file itself)."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The bytes of `key` in pieces; `FileNotFoundError` when it is not stored."""
        ...

    async def size(self, key: str) -> int | None:
        """The size of the file under `key`, or None when there is none."""
        ...

    async def keys(self) -> list[str]:
        """Every valid key stored (for `media migrate`; other names are ignored)."""
        ...

    async def listing(self, after: str, limit: int) -> list[Listed]:
        """Up to `limit` valid keys greater than `after`, in key order, with their ages
        (for the orphan cleanup, a page at a time; other names are skipped)."""
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


def unique_key(content_type: str, category: str) -> str:
    """A fresh key of 256 random bits for a file of `content_type` (one streamed from a
    file, whose content is not at hand to address it by)."""
    return make_key(b"", content_type=content_type, category=category, unique=True)[0]


def is_valid_key(key: str) -> bool:
    """Whether `key` has the shape `make_key` produces (its fan-out matching its name)."""
    m = KEY_RE.match(key)
    return m is not None and m["name"][:2] == m["a"] and m["name"][2:4] == m["b"]


def content_type_for_key(key: str) -> str:
    """The Content-Type a stored key is served with."""
    return CONTENT_TYPES.get(key.rpartition(".")[2], "application/octet-stream")


class LocalMediaStore:
    """A `MediaStore` on the local filesystem: `<root>/<key>`, served at `<base_url>/system/<key>`.

    Writes are atomic (a temporary file in the target folder, fsynced, then
    renamed over the final name), so a reader or a crash never sees half a file.
    All blocking file work runs in worker threads.
    """

    kind = "local"

    def __init__(self, root: Path, base_url: str, *, private_root: Path | None = None) -> None:
        # No I/O here: the folder is created on first write.
        self.root = Path(os.path.abspath(root))
        self.base_url = base_url.rstrip("/")
        # Private files outside what `/system/<key>` serves (a dot folder is no key).
        private = Path(os.path.abspath(private_root or self.root / ".private"))
        self.private: MediaStore = self
        if private != self.root:
            self.private = LocalMediaStore(private, base_url, private_root=private)

    def url(self, key: str) -> str:
        return f"{self.base_url}/system/{key}"

    async def put(
        self, data: bytes, *, content_type: str, category: str, unique: bool = False
    ) -> StoredMedia:
        key, digest = make_key(data, content_type=content_type, category=category, unique=unique)
        try:
            await trio.to_thread.run_sync(self._write, key, data)
        except OSError as exc:
            raise MediaStoreError(f"the media folder refused the file: {exc}") from exc
        return StoredMedia(
            key=key, url=self.url(key), content_type=content_type, size=len(data), sha256=digest
        )

    async def put_file(self, key: str, source: Path, *, download_name: str = "") -> None:
        path = self._path(key)
        if path is None:
            raise MediaKeyError(f"invalid media key: {key!r}")
        try:
            await trio.to_thread.run_sync(_copy_atomically, source, path)
        except OSError as exc:
            raise MediaStoreError(f"the media folder refused the file: {exc}") from exc

    async def signed_url(self, key: str, seconds: int) -> str | None:
        return None

    async def read(self, key: str) -> AsyncIterator[bytes]:
        path = await self.local_path(key)
        if path is None:
            raise FileNotFoundError(key)
        handle = await trio.open_file(path, "rb")
        async with handle:
            while chunk := await handle.read(CHUNK_BYTES):
                yield chunk

    async def size(self, key: str) -> int | None:
        path = await self.local_path(key)
        if path is None:
            return None
        try:
            return (await trio.Path(path).stat()).st_size
        except FileNotFoundError:
            return None

    async def keys(self) -> list[str]:
        return await trio.to_thread.run_sync(self._walk)

    async def listing(self, after: str, limit: int) -> list[Listed]:
        return await trio.to_thread.run_sync(self._list_after, after, limit)

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

    def _walk(self) -> list[str]:
        found: list[str] = []
        for folder, _dirs, files in os.walk(self.root):
            base = Path(folder).relative_to(self.root).as_posix()
            found.extend(key for name in files if is_valid_key(key := f"{base}/{name}"))
        return sorted(found)

    def _list_after(self, after: str, limit: int) -> list[Listed]:
        found: list[Listed] = []

        def visit(folder: Path, prefix: str) -> bool:
            """Collect keys under `folder` in key order; False once `limit` are found."""
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                return True
            # A folder sorts as its name and a slash, so that this order is the keys'
            # ("a-b/..." comes before "a/...", as '-' < '/').
            named = sorted(
                (
                    f"{prefix}{e.name}/"
                    if e.is_dir(follow_symlinks=False)
                    else f"{prefix}{e.name}",
                    e,
                )
                for e in entries
            )
            for name, entry in named:
                if name.endswith("/"):
                    # Skip a folder whose every key is at or before `after`.
                    if name < after and not after.startswith(name):
                        continue
                    if not visit(Path(entry.path), name):
                        return False
                elif name > after and is_valid_key(name) and entry.is_file(follow_symlinks=False):
                    try:
                        modified = entry.stat(follow_symlinks=False).st_mtime
                    except FileNotFoundError:
                        continue  # deleted while listing
                    found.append(Listed(name, modified))
                    if len(found) >= limit:
                        return False
            return True

        visit(self.root, "")
        return found

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
            # Content-addressed: the same name already holds these bytes. It is written
            # again all the same as far as its age goes, so that the orphan cleanup, which
            # removes only files older than its grace period, leaves it to the new row.
            os.utime(final)
            return
        # Folders 0700, files 0600: the server serves them itself. A temporary file has
        # a dot name, which never matches KEY_RE, so it is never served.
        write_atomically(final, data)


def _copy_atomically(source: Path, final: Path) -> None:
    """Copy `source` to `final` (0600, folders 0700) through a synced temporary file."""
    make_private_dir(final.parent)
    fd, tmp = tempfile.mkstemp(prefix=".", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK_BYTES)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        _unlink_quietly(Path(tmp))
        raise


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
