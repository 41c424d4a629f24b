"""The MediaAttachment entity, as Mastodon serializes it."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView
from .accounts import media_url
from .media_urls import attachment_proxy_url

# A remote attachment not cached yet (or being fetched), and one never fetched (see
# services.media_cache).
REMOTE = ("remote", "fetching")
REJECTED = "rejected"


def media_attachment_entity(config: Config, row: RowView) -> dict[str, Any]:
    """A `media_attachments` row as Mastodon's REST::MediaAttachmentSerializer renders it.

    `url` is null until processing is complete (the v2 upload flow); `preview_url`
    is the uploader's thumbnail when there is one, else the small preview.
    `meta.focus` appears once a focal point is set, and `meta.small` describes the
    uploader's thumbnail when there is one, as in Mastodon. A remote
    attachment shows its cached copy, else the proxy route that fetches it on first
    view (Mastodon's `media_proxy_url`), or, when its media is rejected, its origin.
    """
    processing = row["processing"]
    done = processing == "complete"
    file_key = row.get("file_key") if done else None
    preview_key = row.get("thumbnail_key") or (row.get("preview_key") if done else None)
    url = media_url(config, file_key) if file_key else None
    preview_url = media_url(config, preview_key) if preview_key else None
    if processing in REMOTE and row.get("remote_url"):
        url = attachment_proxy_url(config, row, "original")
        if row["type"] in ("image", "gifv", "video") or row.get("preview_remote_url"):
            preview_url = attachment_proxy_url(config, row, "small")
    elif processing == REJECTED:
        url = row.get("remote_url")
        preview_url = row.get("preview_remote_url")
    meta: dict[str, Any] = dict(row.get("meta") or {}) if done or row.get("remote_url") else {}
    if meta and row.get("thumbnail_key") and row.get("thumbnail_meta"):
        meta["small"] = row["thumbnail_meta"]
    if row.get("focus_x") is not None and row.get("focus_y") is not None:
        meta["focus"] = {"x": float(row["focus_x"]), "y": float(row["focus_y"])}
    return {
        "id": str(row["id"]),
        "type": row["type"],
        "url": url,
        "preview_url": preview_url,
        "remote_url": row.get("remote_url"),
        "preview_remote_url": row.get("preview_remote_url"),
        "text_url": None,
        "meta": meta,
        "description": row.get("description") or None,
        "blurhash": row.get("thumbnail_blurhash") or row.get("blurhash"),
    }
