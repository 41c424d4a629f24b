"""The Mastodon FeaturedTag entity."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..store import RowView
from .time import iso_date


def featured_tag_entity(config: Config, row: RowView, account: RowView) -> dict[str, Any]:
    """A featured tag as Mastodon serializes it: the count as a string and the last use as
    a date."""
    if account["domain"] is None:
        url = f"{config.base_url}/@{account['username']}/tagged/{row['name']}"
    else:
        url = f"{account['url'] or account['uri']}/tagged/{row['name']}"
    return {
        "id": str(row["id"]),
        "name": row["display_name"],
        "url": url,
        "statuses_count": str(int(row["statuses_count"] or 0)),
        "last_status_at": iso_date(row["last_status_at"]),
    }
