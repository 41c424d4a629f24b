"""Announcements from the admins, who dismissed them, and the reactions to them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Connection, fetch_as, fetchrow_as
from .paging import placeholders
from .rows import AnnouncementRow, ReactionCountRow


async def insert(conn: Connection, row: Mapping[str, Any]) -> AnnouncementRow:
    """Store an announcement; the stored row."""
    await conn.execute(
        "INSERT INTO announcements (id, text, content, starts_at, ends_at, all_day, "
        "published_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        row["id"],
        row["text"],
        row["content"],
        row["starts_at"],
        row["ends_at"],
        row["all_day"],
        row["published_at"],
        row["now"],
    )
    stored = await by_id(conn, row["id"])
    assert stored is not None
    return stored


async def by_id(conn: Connection, announcement_id: int) -> AnnouncementRow | None:
    """One announcement, published or not."""
    return await fetchrow_as(
        conn, AnnouncementRow, "SELECT * FROM announcements WHERE id = $1", announcement_id
    )


async def delete(conn: Connection, announcement_id: int) -> bool:
    """Remove an announcement (its dismissals and reactions go with it)."""
    removed = await conn.fetch(
        "DELETE FROM announcements WHERE id = $1 RETURNING id", announcement_id
    )
    return bool(removed)


async def all_announcements(conn: Connection) -> list[AnnouncementRow]:
    """Every announcement, oldest first."""
    return await fetch_as(conn, AnnouncementRow, "SELECT * FROM announcements ORDER BY id")


async def live(conn: Connection, now: int) -> list[AnnouncementRow]:
    """Published announcements that have not ended, in Mastodon's chronological order."""
    return await fetch_as(
        conn,
        AnnouncementRow,
        "SELECT * FROM announcements WHERE published_at IS NOT NULL "
        "AND (ends_at IS NULL OR ends_at > $1) "
        "ORDER BY COALESCE(starts_at, published_at), id",
        now,
    )


async def live_by_id(conn: Connection, announcement_id: int, now: int) -> AnnouncementRow | None:
    """A published announcement that has not ended."""
    return await fetchrow_as(
        conn,
        AnnouncementRow,
        "SELECT * FROM announcements WHERE id = $1 AND published_at IS NOT NULL "
        "AND (ends_at IS NULL OR ends_at > $2)",
        announcement_id,
        now,
    )


async def dismissed_ids(conn: Connection, account_id: int, ids: list[int]) -> set[int]:
    """Which announcements the account dismissed (read)."""
    if not ids:
        return set()
    rows = await conn.fetch(
        "SELECT announcement_id FROM announcement_dismissals WHERE account_id = $1 "
        f"AND announcement_id IN ({placeholders(2, len(ids))})",
        account_id,
        *ids,
    )
    return {r["announcement_id"] for r in rows}


async def dismiss(conn: Connection, announcement_id: int, account_id: int) -> None:
    """Mark an announcement read by the account (idempotent)."""
    await conn.execute(
        "INSERT INTO announcement_dismissals (announcement_id, account_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING",
        announcement_id,
        account_id,
    )


async def add_reaction(
    conn: Connection,
    reaction_id: int,
    announcement_id: int,
    account_id: int,
    name: str,
    custom_emoji_id: int | None,
    now: int,
) -> bool:
    """Add the account's reaction; whether it is new."""
    added = await conn.fetch(
        "INSERT INTO announcement_reactions (id, announcement_id, account_id, name, "
        "custom_emoji_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (announcement_id, account_id, name) DO NOTHING RETURNING id",
        reaction_id,
        announcement_id,
        account_id,
        name,
        custom_emoji_id,
        now,
    )
    return bool(added)


async def remove_reaction(
    conn: Connection, announcement_id: int, account_id: int, name: str
) -> bool:
    """Take the account's reaction back; whether there was one."""
    removed = await conn.fetch(
        "DELETE FROM announcement_reactions WHERE announcement_id = $1 AND account_id = $2 "
        "AND name = $3 RETURNING id",
        announcement_id,
        account_id,
        name,
    )
    return bool(removed)


async def reactions(
    conn: Connection, ids: list[int], viewer_id: int | None
) -> dict[int, list[ReactionCountRow]]:
    """Reactions per announcement: name, count, whether the viewer reacted so, and the
    custom emoji's files; first reacted first."""
    if not ids:
        return {}
    rows = await fetch_as(
        conn,
        ReactionCountRow,
        "SELECT r.announcement_id, r.name, COUNT(*) AS count, MIN(r.id) AS first_id, "
        "SUM(CASE WHEN r.account_id = $1 THEN 1 ELSE 0 END) AS mine, "
        "MAX(e.image_key) AS image_key, MAX(e.static_image_key) AS static_image_key "
        "FROM announcement_reactions r LEFT JOIN custom_emojis e ON e.id = r.custom_emoji_id "
        f"WHERE r.announcement_id IN ({placeholders(2, len(ids))}) "
        "GROUP BY r.announcement_id, r.name ORDER BY first_id",
        viewer_id if viewer_id is not None else -1,
        *ids,
    )
    found: dict[int, list[ReactionCountRow]] = {}
    for r in rows:
        found.setdefault(r["announcement_id"], []).append(r)
    return found


async def reaction_count(conn: Connection, announcement_id: int, name: str) -> int:
    """How many accounts reacted to an announcement with `name`."""
    count = await conn.fetchval(
        "SELECT COUNT(*) FROM announcement_reactions WHERE announcement_id = $1 AND name = $2",
        announcement_id,
        name,
    )
    return int(count or 0)
