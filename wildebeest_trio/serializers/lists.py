"""The Mastodon List entity."""

from __future__ import annotations

from typing import Any

from ..store import RowView


def list_entity(row: RowView) -> dict[str, Any]:
    """A list: id, title, replies_policy, exclusive."""
    return {
        "id": str(row["id"]),
        "title": row["title"],
        "replies_policy": row["replies_policy"],
        "exclusive": bool(row["exclusive"]),
    }
