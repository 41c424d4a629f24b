"""Trends: the hashtags and statuses that drew the most people lately.

Computed from the rows on each request (Mastodon reviews and caches its trends; here
nothing is hidden from them yet, and a cache can come when the numbers call for one).
"""

from __future__ import annotations

from ..ids import now_ms
from ..runtime import Runtime
from ..store import Connection
from ..store import statuses as status_rows
from ..store import tags as tag_rows
from ..store.statuses import StatusBundle
from .tags import DAY_MS, HISTORY_DAYS, TagView, view

TAG_WINDOW_MS = HISTORY_DAYS * DAY_MS
STATUS_WINDOW_MS = 2 * DAY_MS


async def tags(rt: Runtime, viewer_id: int | None, limit: int, offset: int) -> list[TagView]:
    """Tags used by the most accounts over the last week, with their history."""

    async def unit(conn: Connection) -> list[TagView]:
        now = now_ms()
        rows = await tag_rows.trending_tags(conn, now - TAG_WINDOW_MS, limit, offset)
        return [await view(conn, row, viewer_id, now) for row in rows]

    return await rt.store.read(unit)


async def statuses(rt: Runtime, viewer_id: int | None, limit: int, offset: int) -> StatusBundle:
    """Public statuses of the last two days with the most favourites, boosts and replies."""

    async def unit(conn: Connection) -> StatusBundle:
        now = now_ms()
        rows = await status_rows.trending_page(
            conn, now - STATUS_WINDOW_MS, limit, offset, viewer_id, now
        )
        return await status_rows.hydrate(conn, rows, viewer_id)

    return await rt.store.read(unit)
