"""The MediaAttachment entity, as Mastodon serializes it."""

from __future__ import annotations

from typing import Any

from ..config import Config
from .accounts import media_url


def media_attachment_entity(config: Config, row: dict[str, Any]) -> dict[str, Any]:
    """A `media_attachments` row as Mastodon's REST::MediaAttachmentSerializer renders it.

    `url` is null until processing is complete (the v2 upload flow); `preview_url`
    is the uploader's thumbnail when there is one, else the small preview.
    `meta.focus` appears once a focal point is set, as in Mastodon.
    """
    done = row["processing"] == "complete"
    file_key = row.get("file_key") if done else None
    preview_key = row.get("thumbnail_key") or (row.get("preview_key") if done else None)
    meta: dict[str, Any] = dict(row.get("meta") or {}) if done else {}
    if row.get("focus_x") is not None and row.get("focus_y") is not None:
        meta["focus"] = {"x": float(row["focus_x"]), "y": float(row["focus_y"])}
    return {
        "id": str(row["id"]),
        "type": row["type"],
        "url": media_url(config, file_key) if file_key else None,
        "preview_url": media_url(config, preview_key) if preview_key else None,
        "remote_url": row.get("remote_url"),
        "preview_remote_url": row.get("preview_remote_url"),
        "text_url": None,
        "meta": meta,
        "description": row.get("description") or None,
        "blurhash": row.get("thumbnail_blurhash") or row.get("blurhash"),
    }
