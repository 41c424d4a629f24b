"""The Mastodon Tag entity (with history), as `/api/v1/tags/:name` returns it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..store import RowView
from ..views import DayUse


def history_entity(history: Sequence[DayUse]) -> list[dict[str, str]]:
    """Uses per day as Mastodon sends them: days as Unix-time strings, counts as strings."""
    return [
        {"day": str(d.day // 1000), "uses": str(d.uses), "accounts": str(d.accounts)}
        for d in history
    ]


def tag_entity(
    config: Config,
    tag: RowView,
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
        "history": history_entity(history),
    }
    if following is not None:
        entity["following"] = following
    return entity
