"""The Mastodon Account entity."""

from __future__ import annotations

import json
from typing import Any

from ..config import Config
from ..roles import role
from ..store import RowView
from .custom_emoji import custom_emoji_entity
from .featured_tags import featured_tag_entity
from .media_urls import account_image_url, stored_url
from .time import iso_date, iso_midnight


def default_avatar(config: Config) -> str:
    return f"{config.base_url}/static/avatar.png"


def default_header(config: Config) -> str:
    return f"{config.base_url}/static/header.png"


def media_url(config: Config, key: str) -> str:
    """The public URL of a stored media file, wherever media are kept."""
    return stored_url(config, key)


def acct(config: Config, row: RowView) -> str:
    """`username` for local accounts, `username@domain` for remote ones."""
    return row["username"] if row["domain"] is None else f"{row['username']}@{row['domain']}"


def account_entity(config: Config, row: RowView) -> dict[str, Any]:
    """An `accounts` row as Mastodon's Account (never null where clients expect a value)."""
    # Remote images are shown through our cache (media_urls), never from their origin.
    avatar = account_image_url(config, row, "avatar") or default_avatar(config)
    header = account_image_url(config, row, "header") or default_header(config)
    fields = json.loads(row.get("fields") or "[]")
    entity = {
        "id": str(row["id"]),
        "username": row["username"],
        "acct": acct(config, row),
        "display_name": row["display_name"] or "",
        "locked": bool(row["locked"]),
        "bot": bool(row["bot"]) or row["actor_type"] in ("Service", "Application"),
        "discoverable": bool(row["discoverable"]),
        "indexable": bool(row.get("indexable", False)),
        "group": row["actor_type"] == "Group",
        "created_at": iso_midnight(row["created_at"]),
        "note": row["note"] or "",
        "url": row["url"] or row["uri"],
        "uri": row["uri"],
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": int(row["followers_count"]),
        "following_count": int(row["following_count"]),
        "statuses_count": int(row["statuses_count"]),
        "last_status_at": iso_date(row["last_status_at"]),
        "hide_collections": bool(row.get("hide_collections", False)),
        "noindex": not bool(row.get("indexable", False)),
        # Set by the store's emoji lookup (`custom_emojis.attach_to_accounts`) when loaded.
        "emojis": [custom_emoji_entity(config, e) for e in row.get("emojis") or ()],
        "roles": [],
        "fields": [
            {"name": f["name"], "value": f["value"], "verified_at": f.get("verified_at")}
            for f in fields
        ],
    }
    # Where the account moved, when the row was loaded with it (Mastodon's `moved`).
    moved = row.get("moved_account")
    if moved is not None:
        entity["moved"] = account_entity(config, {**moved, "moved_account": None})
    return entity


def role_entity(key: str) -> dict[str, Any]:
    """Mastodon's Role entity for a built-in role."""
    found = role(key)
    return {
        "id": found.id,
        "name": found.name,
        "permissions": str(found.permissions),
        "color": "",
        "highlighted": found.staff,
    }


def credential_account_entity(
    config: Config,
    row: RowView,
    user: RowView,
    preferences: RowView,
    follow_requests_count: int = 0,
) -> dict[str, Any]:
    """`verify_credentials`: the account plus its `source` and `role`."""
    entity = account_entity(config, row)
    fields_source = json.loads(row.get("fields_source") or "[]")
    entity["source"] = {
        "privacy": preferences.get("privacy", "public"),
        "sensitive": bool(preferences.get("sensitive", False)),
        "language": preferences.get("language"),
        "quote_policy": preferences.get("quote_policy", "public"),
        "note": row.get("note_source") or "",
        "fields": [
            {"name": f["name"], "value": f["value"], "verified_at": None} for f in fields_source
        ],
        "follow_requests_count": follow_requests_count,
        "hide_collections": bool(row.get("hide_collections", False)),
        "discoverable": bool(row["discoverable"]),
        "indexable": bool(row.get("indexable", False)),
        "attribution_domains": json.loads(row.get("attribution_domains") or "[]"),
    }
    entity["role"] = role_entity(user["role"])
    return entity


def _own_image(config: Config, row: dict[str, Any], kind: str) -> str | None:
    return account_image_url(config, row, kind) if row.get(f"{kind}_key") else None


def profile_entity(
    config: Config,
    row: dict[str, Any],
    settings: dict[str, Any],
    featured_tags: list[Any],
) -> dict[str, Any]:
    """Mastodon's Profile (4.6): the caller's own profile as they edit it, the source text
    of the note and fields, no picture where none was uploaded."""
    avatar = _own_image(config, row, "avatar")
    header = _own_image(config, row, "header")
    fields_source = json.loads(row.get("fields_source") or "[]")
    return {
        "id": str(row["id"]),
        "display_name": row["display_name"] or "",
        "note": row.get("note_source") or "",
        "fields": [
            {"name": f["name"], "value": f["value"], "verified_at": None} for f in fields_source
        ],
        "avatar": avatar,
        "avatar_static": avatar,
        "avatar_description": settings["avatar_description"],
        "header": header,
        "header_static": header,
        "header_description": settings["header_description"],
        "locked": bool(row["locked"]),
        "bot": bool(row["bot"]) or row["actor_type"] in ("Service", "Application"),
        "hide_collections": bool(row.get("hide_collections", False)),
        "discoverable": bool(row["discoverable"]),
        "indexable": bool(row.get("indexable", False)),
        "show_media": bool(settings["show_media"]),
        "show_media_replies": bool(settings["show_media_replies"]),
        "show_featured": bool(settings["show_featured"]),
        "attribution_domains": json.loads(row.get("attribution_domains") or "[]"),
        "featured_tags": [featured_tag_entity(config, t, row) for t in featured_tags],
    }
