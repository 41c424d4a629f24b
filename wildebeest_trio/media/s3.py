"""The S3-compatible `MediaStore`: objects in a bucket, served from its public URL or a CDN.

Built on obstore (Rust's `object_store`): one wheel without dependencies, its calls
release the GIL, uploads larger than `MULTIPART_BYTES` go up as multipart uploads read
from the file piece by piece, and failed requests are retried with exponential backoff
and jitter (bounded by `RETRY`). Its calls block, so they run in worker threads under
this store's own limiter (`THREADS`): a slow bucket holds those threads, never the ones
the database or image processing use. A put is atomic on S3 (an object appears whole or
not at all), so a failed or cancelled upload leaves nothing under its key.

Objects get `Content-Type` from their key and `Cache-Control: public, max-age=31536000,
immutable`, as the local store's files are served; the bucket (or the CDN in front of
it) serves them at `<WB_MEDIA_BASE_URL>/<key>`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import obstore
import trio
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from .store import (
    CACHE_FOREVER,
    CHUNK_BYTES,
    Listed,
    MediaKeyError,
    MediaStore,
    MediaStoreError,
    StoredMedia,
    content_type_for_key,
    is_valid_key,
    make_key,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

# Files above this go up in parts of this size (S3's minimum part is 5 MiB).
MULTIPART_BYTES = 8 * 1024 * 1024
# Parts of one file sent at once.
PART_CONCURRENCY = 4
# Requests to the bucket at once from this process (each holds one worker thread).
THREADS = 8
# Five tries over at most a minute: 0.1 s, 0.2 s, 0.4 s ... with jitter, at most 5 s apart.
RETRY: RetryConfig = {
    "max_retries": 4,
    "retry_timeout": timedelta(seconds=60),
    "backoff": {
        "init_backoff": timedelta(milliseconds=100),
        "max_backoff": timedelta(seconds=5),
        "base": 2,
    },
}

T = TypeVar("T")


class S3MediaStore:
    """A `MediaStore` in an S3-compatible bucket (AWS, SeaweedFS, MinIO, Garage, R2 ...)."""

    kind = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str,
        region: str,
        access_key_id: str,
        secret_access_key: str,
        path_style: bool,
        base_url: str,
        timeout: float = 60.0,
        prefix: str = "",
    ) -> None:
        # No I/O here: the client connects on first use.
        client: ClientConfig = {
            "allow_http": endpoint.startswith("http://"),
            "connect_timeout": timedelta(seconds=min(timeout, 10.0)),
            "timeout": timedelta(seconds=timeout),
        }
        config: dict[str, Any] = {
            "region": region,
            "virtual_hosted_style_request": not path_style,
        }
        if endpoint:
            config["endpoint"] = endpoint
        if access_key_id:
            config.update(access_key_id=access_key_id, secret_access_key=secret_access_key)
        else:
            # No keys: a public bucket read anonymously (migrating away from it, say).
            config["skip_signature"] = True
        self.bucket = bucket
        self.base_url = base_url.rstrip("/")
        # Every key's object is `<prefix><key>` (`private/` for private files sharing the
        # media bucket); the store lists only its own prefix.
        self.prefix = prefix
        self.private: MediaStore = self
        self._store = S3Store(bucket, config=config, client_options=client, retry_config=RETRY)  # type: ignore[arg-type]
        self._limiter = trio.CapacityLimiter(THREADS)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{self.prefix}{key}"

    async def signed_url(self, key: str, seconds: int) -> str | None:
        if not is_valid_key(key):
            raise MediaKeyError(f"invalid media key: {key!r}")
        # Signing is local work (no request), done in a thread all the same: it may read
        # credentials.
        return str(
            await self._call(
                obstore.sign, self._store, "GET", self.prefix + key, timedelta(seconds=seconds)
            )
        )

    async def put(
        self, data: bytes, *, content_type: str, category: str, unique: bool = False
    ) -> StoredMedia:
        key, digest = make_key(data, content_type=content_type, category=category, unique=unique)
        await self._call(
            obstore.put,
            self._store,
            self.prefix + key,
            data,
            attributes=_attributes(key),
            use_multipart=len(data) > MULTIPART_BYTES,
            chunk_size=MULTIPART_BYTES,
            max_concurrency=PART_CONCURRENCY,
        )
        return StoredMedia(
            key=key, url=self.url(key), content_type=content_type, size=len(data), sha256=digest
        )

    async def put_file(self, key: str, source: Path, *, download_name: str = "") -> None:
        if not is_valid_key(key):
            raise MediaKeyError(f"invalid media key: {key!r}")
        size = (await trio.Path(source).stat()).st_size
        attributes = _attributes(key)
        if download_name:
            attributes["Content-Disposition"] = f'attachment; filename="{download_name}"'
            attributes["Cache-Control"] = "private, no-store"
        # A Path is read by obstore itself, in parts: the file is never whole in memory.
        await self._call(
            obstore.put,
            self._store,
            self.prefix + key,
            source,
            attributes=attributes,
            use_multipart=size > MULTIPART_BYTES,
            chunk_size=MULTIPART_BYTES,
            max_concurrency=PART_CONCURRENCY,
        )

    async def read(self, key: str) -> AsyncIterator[bytes]:
        if not is_valid_key(key):
            raise FileNotFoundError(key)
        result = await self._call(obstore.get, self._store, self.prefix + key, missing=True)
        if result is None:
            raise FileNotFoundError(key)
        stream = result.stream(min_chunk_size=CHUNK_BYTES)
        while True:
            chunk = await self._call(next, stream, None)
            if chunk is None:
                return
            yield bytes(chunk)

    async def size(self, key: str) -> int | None:
        if not is_valid_key(key):
            return None
        meta = await self._call(obstore.head, self._store, self.prefix + key, missing=True)
        return None if meta is None else int(meta["size"])

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def keys(self) -> list[str]:
        def walk() -> list[str]:
            found: list[str] = []
            for page in obstore.list(self._store, prefix=self.prefix or None, chunk_size=1000):
                for meta in page:
                    key = meta["path"].removeprefix(self.prefix)
                    if meta["path"].startswith(self.prefix) and is_valid_key(key):
                        found.append(key)
            return sorted(found)

        return await self._call(walk)

    async def listing(self, after: str, limit: int) -> list[Listed]:
        def page() -> list[Listed]:
            found: list[Listed] = []
            # S3 lists in key order, from just after `offset` (ListObjectsV2's StartAfter).
            pages = obstore.list(
                self._store,
                prefix=self.prefix or None,
                offset=self.prefix + after if after else None,
                chunk_size=min(limit, 1000),
            )
            for chunk in pages:
                for meta in chunk:
                    key = meta["path"].removeprefix(self.prefix)
                    if meta["path"].startswith(self.prefix) and is_valid_key(key):
                        found.append(Listed(key, meta["last_modified"].timestamp()))
                        if len(found) >= limit:
                            return found
            return found

        return await self._call(page)

    async def delete(self, key: str) -> None:
        if is_valid_key(key):
            await self._call(obstore.delete, self._store, self.prefix + key, missing=True)

    @overload
    async def _call(
        self, fn: Callable[..., T], *args: Any, missing: Literal[False] = False, **kwargs: Any
    ) -> T: ...

    @overload
    async def _call(
        self, fn: Callable[..., T], *args: Any, missing: Literal[True], **kwargs: Any
    ) -> T | None: ...

    async def _call(
        self, fn: Callable[..., T], *args: Any, missing: bool = False, **kwargs: Any
    ) -> T | None:
        """Run a blocking obstore call in one of this store's threads; any failure (after
        obstore's retries) as `MediaStoreError`, and with `missing` a missing object as None."""

        def call() -> T:
            return fn(*args, **kwargs)

        try:
            return await trio.to_thread.run_sync(call, limiter=self._limiter)
        except (NotFoundError, FileNotFoundError) as exc:
            # obstore raises the built-in FileNotFoundError for a missing object.
            if missing:
                return None
            # A missing bucket, say: the store is not usable as configured.
            raise MediaStoreError(f"the media bucket {self.bucket!r} failed: {exc}") from exc
        except Exception as exc:
            raise MediaStoreError(f"the media bucket {self.bucket!r} failed: {exc}") from exc


def _attributes(key: str) -> dict[str, str]:
    """What the bucket answers a GET of `key` with."""
    return {"Content-Type": content_type_for_key(key), "Cache-Control": CACHE_FOREVER}


__all__ = ["MULTIPART_BYTES", "S3MediaStore"]
