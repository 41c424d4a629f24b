"""Storing a profile's avatar and header: process in a worker thread, then store the file."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import trio

from ..media.images import ProcessedImage, process_avatar, process_header
from ..runtime import Runtime

AVATAR_CATEGORY = "avatars"
HEADER_CATEGORY = "headers"


async def store_avatar(rt: Runtime, data: bytes) -> str:
    """Process an uploaded avatar (400x400) and store it; the media key.

    Raises `ImageError` (a `ValueError` with a user-facing message) for a bad
    file; nothing is written then.
    """
    return await _store(rt, data, process_avatar, AVATAR_CATEGORY)


async def store_header(rt: Runtime, data: bytes) -> str:
    """Process an uploaded profile header (1500x500) and store it; the media key.

    Raises `ImageError` for a bad file; nothing is written then.
    """
    return await _store(rt, data, process_header, HEADER_CATEGORY)


async def _store(
    rt: Runtime, data: bytes, process: Callable[..., ProcessedImage], category: str
) -> str:
    processed = await trio.to_thread.run_sync(
        partial(
            process,
            data,
            max_bytes=rt.config.media_max_image_bytes,
            max_pixels=rt.config.media_max_image_pixels,
        )
    )
    stored = await rt.media.put(
        processed.data, content_type=processed.content_type, category=category
    )
    return stored.key
