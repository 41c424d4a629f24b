"""The Mastodon WebPushSubscription entity."""

from __future__ import annotations

from typing import Any

from ..store import RowView


def subscription_entity(row: RowView, server_key: str) -> dict[str, Any]:
    """`REST::WebPushSubscriptionSerializer`: the id stays an integer, as Mastodon emits it
    (Tusky and the Android app parse it as an int)."""
    return {
        "id": int(row["id"]),
        "endpoint": row["endpoint"],
        "standard": bool(row["standard"]),
        "alerts": dict(row["alerts"]),
        "server_key": server_key,
        "policy": row["policy"],
    }
