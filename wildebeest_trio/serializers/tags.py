"""The Mastodon Tag entity (with history), as `/api/v1/tags/:name` returns it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..views import DayUse


def tag_entity(
    config: Config,
    tag: dict[str, Any],
    history: Sequence[DayUse],
    *,
    following: bool | None,
) -> dict[str, Any]:
    """A tag with its last week's use (days as Unix-time strings, counts as strings, as
    Mastodon sends them); `following` only for a signed-in viewer."""
    entity: dict[str, Any] = {
        "id": str(tag["id"]),
        "name": tag["display_name"],
        "url": f"{config.base_url}/tags/{tag['name']}",
        "history": [
            {"day": str(d.day // 1000), "uses": str(d.uses), "accounts": str(d.accounts)}
            for d in history
        ],
    }
    if following is not None:
        entity["following"] = following
    return entity
