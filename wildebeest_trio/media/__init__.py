"""Media: the file store and image processing (avatars and headers now, attachments later)."""

from __future__ import annotations

from .store import (
    LocalMediaStore,
    MediaKeyError,
    MediaStore,
    StoredMedia,
    content_type_for_key,
    is_valid_key,
    make_key,
)

__all__ = [
    "LocalMediaStore",
    "MediaKeyError",
    "MediaStore",
    "StoredMedia",
    "content_type_for_key",
    "is_valid_key",
    "make_key",
]
