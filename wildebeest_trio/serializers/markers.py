"""The Mastodon Marker entity."""

from __future__ import annotations

from typing import Any

from .time import iso_ms


def marker_entities(found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Markers by timeline name: `last_read_id` (a string), `version`, `updated_at`."""
    return {
        timeline: {
            "last_read_id": str(row["last_read_id"]),
            "version": int(row["version"]),
            "updated_at": iso_ms(row["updated_at"]),
        }
        for timeline, row in found.items()
    }
