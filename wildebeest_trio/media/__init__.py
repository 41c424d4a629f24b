"""Media: the file stores (local folder, S3-compatible bucket) and image processing."""

from __future__ import annotations

from .store import (
    LocalMediaStore,
    MediaKeyError,
    MediaStore,
    MediaStoreError,
    StoredMedia,
    content_type_for_key,
    is_valid_key,
    make_key,
)

__all__ = [
    "LocalMediaStore",
    "MediaKeyError",
    "MediaStore",
    "MediaStoreError",
    "StoredMedia",
    "content_type_for_key",
    "is_valid_key",
    "make_key",
]
