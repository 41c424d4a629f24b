"""The Mastodon CustomEmoji entity, for local and cached remote emoji alike."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView
from .media_urls import stored_url as _file_url


def custom_emoji_entity(config: Config, row: RowView) -> dict[str, Any]:
    """A `custom_emojis` row as Mastodon's CustomEmoji: the image, and a still PNG for
    clients that do not animate."""
    if row.get("image_key"):
        url = _file_url(config, row["image_key"])
    else:
        url = row.get("image_remote_url") or ""
    static = _file_url(config, row["static_image_key"]) if row.get("static_image_key") else url
    return {
        "shortcode": row["shortcode"],
        "url": url,
        "static_url": static,
        "visible_in_picker": bool(row["visible_in_picker"]),
        "category": row.get("category"),
    }
