"""The Mastodon Poll entity (pure)."""

from __future__ import annotations

from typing import Any

from ..ids import now_ms
from ..store import RowView
from .time import iso_ms


def poll_entity(
    poll: RowView,
    viewer_id: int | None,
    own_votes: list[int] | None,
    *,
    now: int | None = None,
) -> dict[str, Any]:
    """Mastodon's Poll. Option counts are null while a `hide_totals` poll runs, for
    everyone, its author included (Mastodon's `Poll#show_totals_now?`); `voted` and
    `own_votes` only for a signed-in viewer (the author has `voted: true`, as Mastodon's
    `Poll#voted?` says)."""
    now = now_ms() if now is None else now
    expired = poll["expires_at"] is not None and poll["expires_at"] <= now
    show_totals = expired or not poll["hide_totals"]
    tallies = poll["cached_tallies"]
    entity: dict[str, Any] = {
        "id": str(poll["id"]),
        "expires_at": iso_ms(poll["expires_at"]),
        "expired": expired,
        "multiple": bool(poll["multiple"]),
        "votes_count": int(poll["votes_count"]),
        "voters_count": None if poll["voters_count"] is None else int(poll["voters_count"]),
        "options": [
            {
                "title": title,
                "votes_count": (int(tallies[i]) if i < len(tallies) else 0)
                if show_totals
                else None,
            }
            for i, title in enumerate(poll["options"])
        ],
        "emojis": [],
    }
    if viewer_id is not None:
        votes = own_votes or []
        entity["voted"] = viewer_id == poll["account_id"] or bool(votes)
        entity["own_votes"] = votes
    return entity
