"""Hashtags: lookup, use over time, and the tags accounts follow.

Every write to `tags` and `tag_follows` is here.
"""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page
from .rows import TagPageRow, TagRow, TagUseRow, TrendingTagRow


async def tag_by_name(conn: Connection, name: str) -> TagRow | None:
    """A tag by its name, case-insensitively."""
    return await fetchrow_as(conn, TagRow, "SELECT * FROM tags WHERE name = $1", name.lower())


async def ensure_tag(
    conn: Connection, new_id: int, display_name: str, now: int, *, used: bool = False
) -> TagRow:
    """The tag with this name, made if it does not exist yet; `used`: a status uses it now
    (its `last_status_at`)."""
    if used:
        on_conflict = "DO UPDATE SET last_status_at = $4"
    else:
        on_conflict = "DO NOTHING"
    await conn.execute(
        "INSERT INTO tags (id, name, display_name, created_at, last_status_at) "
        f"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) {on_conflict}",
        new_id,
        display_name.lower(),
        display_name,
        now,
        now if used else None,
    )
    row = await tag_by_name(conn, display_name)
    assert row is not None
    return row


async def follow_tag(
    conn: Connection, follow_id: int, account_id: int, tag_id: int, now: int
) -> None:
    """Follow a tag (again is harmless)."""
    await conn.execute(
        "INSERT INTO tag_follows (id, account_id, tag_id, created_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (account_id, tag_id) DO NOTHING",
        follow_id,
        account_id,
        tag_id,
        now,
    )


async def unfollow_tag(conn: Connection, account_id: int, tag_id: int) -> None:
    """Stop following a tag."""
    await conn.execute(
        "DELETE FROM tag_follows WHERE account_id = $1 AND tag_id = $2", account_id, tag_id
    )


async def followed_tag_ids(conn: Connection, account_id: int, tag_ids: list[int]) -> set[int]:
    """Which of `tag_ids` the account follows."""
    if not tag_ids:
        return set()
    marks = ", ".join(f"${i}" for i in range(2, len(tag_ids) + 2))
    rows = await conn.fetch(
        f"SELECT tag_id FROM tag_follows WHERE account_id = $1 AND tag_id IN ({marks})",
        account_id,
        *tag_ids,
    )
    return {r["tag_id"] for r in rows}


async def tag_uses(conn: Connection, tag_id: int, since: int) -> list[TagUseRow]:
    """`created_at` and `account_id` of the live public statuses using a tag since `since`."""
    return await fetch_as(
        conn,
        TagUseRow,
        "SELECT s.created_at, s.account_id FROM statuses_tags st JOIN statuses s "
        "ON s.id = st.status_id WHERE st.tag_id = $1 AND s.created_at >= $2 "
        "AND s.deleted_at IS NULL AND s.visibility = 'public'",
        tag_id,
        since,
    )


async def followed_tags_page(conn: Connection, account_id: int, page: Page) -> list[TagPageRow]:
    """The tags an account follows, newest follow first (cursor: `page_id`)."""
    sql = (
        "SELECT t.*, tf.id AS page_id FROM tag_follows tf JOIN tags t ON t.id = tf.tag_id "
        "WHERE tf.account_id = $1"
    )
    return await fetch_page(conn, TagPageRow, sql, [account_id], "tf.id", page)


async def trending_tags(
    conn: Connection, since: int, limit: int, offset: int, *, rejected_too: bool = False
) -> list[TrendingTagRow]:
    """Tags by how many accounts used them in public statuses since `since`, then by uses
    (those an admin rejected only when `rejected_too`: the admins' review list)."""
    reviewed = "" if rejected_too else "AND (t.trendable IS NULL OR t.trendable) "
    return await fetch_as(
        conn,
        TrendingTagRow,
        "SELECT t.*, COUNT(DISTINCT s.account_id) AS accounts, COUNT(*) AS uses "
        "FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        "JOIN tags t ON t.id = st.tag_id WHERE s.created_at >= $1 AND s.deleted_at IS NULL "
        "AND s.visibility = 'public' " + reviewed + "GROUP BY t.id "
        "ORDER BY COUNT(DISTINCT s.account_id) DESC, COUNT(*) DESC, t.name LIMIT $2 OFFSET $3",
        since,
        limit,
        offset,
    )


async def set_trendable(conn: Connection, tag_id: int, trendable: bool) -> bool:
    """An admin's review of a tag for trends; whether the tag exists."""
    done = await conn.fetch(
        "UPDATE tags SET trendable = $1 WHERE id = $2 RETURNING id", trendable, tag_id
    )
    return bool(done)
