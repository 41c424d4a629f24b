"""The Mastodon Account entity."""

from __future__ import annotations

import json
from typing import Any

from ..config import Config
from .time import iso_date, iso_midnight


def default_avatar(config: Config) -> str:
    return f"{config.base_url}/static/avatar.png"


def default_header(config: Config) -> str:
    return f"{config.base_url}/static/header.png"


def acct(config: Config, row: dict[str, Any]) -> str:
    """`username` for local accounts, `username@domain` for remote ones."""
    return row["username"] if row["domain"] is None else f"{row['username']}@{row['domain']}"


def account_entity(config: Config, row: dict[str, Any]) -> dict[str, Any]:
    """An `accounts` row as Mastodon's Account (never null where clients expect a value)."""
    avatar = row.get("avatar_remote_url") or default_avatar(config)
    header = row.get("header_remote_url") or default_header(config)
    fields = json.loads(row.get("fields") or "[]")
    return {
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
        "emojis": [],
        "roles": [],
        "fields": [
            {"name": f["name"], "value": f["value"], "verified_at": f.get("verified_at")}
            for f in fields
        ],
    }
