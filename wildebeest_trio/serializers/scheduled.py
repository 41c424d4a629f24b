"""The Mastodon ScheduledStatus entity (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import quote_policy
from ..config import Config
from ..store import RowView
from .media import media_attachment_entity
from .time import iso_ms


def scheduled_status_entity(
    config: Config, row: RowView, media: Sequence[RowView]
) -> dict[str, Any]:
    """ScheduledStatus: when, the parameters it will be posted with (in the shape of
    Mastodon's `params`), and the uploads it will attach."""
    params = row["params"]
    reply_to = params.get("in_reply_to_id")
    quoted = params.get("quoted_status_id")
    policy = params.get("quote_approval_policy")
    return {
        "id": str(row["id"]),
        "scheduled_at": iso_ms(row["scheduled_at"]),
        "params": {
            "text": params.get("text") or "",
            "poll": params.get("poll"),
            "media_ids": [str(m["id"]) for m in media] or None,
            "sensitive": params.get("sensitive"),
            "spoiler_text": params.get("spoiler_text") or None,
            "visibility": params.get("visibility"),
            "in_reply_to_id": None if reply_to is None else str(reply_to),
            "language": params.get("language"),
            "application_id": None if row["application_id"] is None else str(row["application_id"]),
            "scheduled_at": None,
            "idempotency": None,
            "with_rate_limit": False,
            "quoted_status_id": None if quoted is None else str(quoted),
            # The name a client gave; none for a policy with manual approval.
            "quote_approval_policy": next(
                (name for name, value in quote_policy.API_VALUES.items() if value == policy),
                None,
            ),
        },
        "media_attachments": [media_attachment_entity(config, m) for m in media],
    }
