"""The Mastodon Announcement entity."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView
from ..views import AnnouncementView
from .custom_emoji import custom_emoji_entity
from .media_urls import stored_url
from .time import iso_ms


def _reaction(config: Config, row: RowView, viewer: bool) -> dict[str, Any]:
    entity: dict[str, Any] = {"name": row["name"], "count": int(row["count"])}
    if viewer:
        entity["me"] = bool(row["mine"])
    if row["image_key"]:
        entity["url"] = stored_url(config, row["image_key"])
        still = row["static_image_key"] or row["image_key"]
        entity["static_url"] = stored_url(config, still)
    return entity


def announcement_entity(config: Config, view: AnnouncementView) -> dict[str, Any]:
    """An announcement as Mastodon's Announcement; `read` and each reaction's `me` only
    for a signed-in viewer, as Mastodon's serializer does."""
    row = view.row
    viewer = view.read is not None
    entity: dict[str, Any] = {
        "id": str(row["id"]),
        "content": row["content"],
        "starts_at": iso_ms(row["starts_at"]),
        "ends_at": iso_ms(row["ends_at"]),
        "all_day": bool(row["all_day"]),
        "published_at": iso_ms(row["published_at"]),
        "updated_at": iso_ms(row["updated_at"]),
        "mentions": [
            {
                "id": str(m.account_id),
                "username": m.username,
                "url": m.url,
                "acct": m.username if m.domain is None else f"{m.username}@{m.domain}",
            }
            for m in view.mentions
        ],
        "statuses": [{"id": str(s["id"]), "url": s["url"] or s["uri"]} for s in view.statuses],
        "tags": [{"name": t, "url": f"{config.base_url}/tags/{t.lower()}"} for t in view.tags],
        "emojis": [custom_emoji_entity(config, e) for e in view.emojis],
        "reactions": [_reaction(config, r, viewer) for r in view.reactions],
    }
    if viewer:
        entity["read"] = bool(view.read)
    return entity
