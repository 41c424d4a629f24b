"""The Mastodon PreviewCard and TrendsLink entities (pure)."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView
from ..views import DayUse
from .accounts import account_entity
from .media_urls import stored_url
from .tags import history_entity
from .time import iso_ms


def preview_card_entity(config: Config, card: RowView, author: RowView | None) -> dict[str, Any]:
    """A `preview_cards` row as Mastodon's PreviewCard; `author` is the account row its
    `fediverse:creator` named and that accepts the attribution (None: no such account).

    The image is our stored copy, never the origin's URL (which would tell it who looks)."""
    authors = []
    if card["author_name"] or card["author_url"] or author is not None:
        authors.append(
            {
                "name": card["author_name"],
                "url": card["author_url"],
                "account": account_entity(config, author) if author is not None else None,
            }
        )
    return {
        "url": card["url"],
        "title": card["title"],
        "description": card["description"],
        "language": card["language"],
        "type": card["type"],
        "author_name": card["author_name"],
        "author_url": card["author_url"],
        "provider_name": card["provider_name"],
        "provider_url": card["provider_url"],
        "html": card["html"],
        "width": int(card["width"] or 0),
        "height": int(card["height"] or 0),
        "image": stored_url(config, card["image_key"]) if card["image_key"] else None,
        "image_description": card["image_description"],
        "embed_url": card["embed_url"],
        "blurhash": card["blurhash"],
        "published_at": iso_ms(card["published_at"]),
        "authors": authors,
    }


def trends_link_entity(
    config: Config, card: RowView, author: RowView | None, history: list[DayUse]
) -> dict[str, Any]:
    """A trending link: its PreviewCard with `history` (uses and accounts per day, newest
    first)."""
    return {
        **preview_card_entity(config, card, author),
        "history": history_entity(history),
    }
