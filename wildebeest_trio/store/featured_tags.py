"""Hashtags an account features on its profile, with their use by that account."""

from __future__ import annotations

from .base import Connection, fetch_as
from .rows import FeaturedTagViewRow, TagUsesRow

# Statuses counted for a featured tag: the account's own live public and unlisted ones
# (Mastodon's FeaturedTag#reset_data), boosts excluded.
_COUNTED = (
    "s.account_id = ft.account_id AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL "
    "AND s.visibility IN ('public', 'unlisted')"
)


async def insert(
    conn: Connection, featured_id: int, account_id: int, tag_id: int, now: int
) -> bool:
    """Feature a tag; whether it was not featured yet."""
    added = await conn.fetch(
        "INSERT INTO featured_tags (id, account_id, tag_id, created_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (account_id, tag_id) DO NOTHING RETURNING id",
        featured_id,
        account_id,
        tag_id,
        now,
    )
    return bool(added)


async def delete(conn: Connection, featured_id: int, account_id: int) -> bool:
    """Stop featuring a tag (only the owner's own); whether it was featured."""
    removed = await conn.fetch(
        "DELETE FROM featured_tags WHERE id = $1 AND account_id = $2 RETURNING id",
        featured_id,
        account_id,
    )
    return bool(removed)


async def featured_id(conn: Connection, account_id: int, tag_id: int) -> int | None:
    """The id under which the account features a tag, if it does."""
    found = await conn.fetchval(
        "SELECT id FROM featured_tags WHERE account_id = $1 AND tag_id = $2", account_id, tag_id
    )
    return None if found is None else int(found)


async def count_of(conn: Connection, account_id: int) -> int:
    """How many tags the account features."""
    return int(
        await conn.fetchval("SELECT COUNT(*) FROM featured_tags WHERE account_id = $1", account_id)
        or 0
    )


async def of_account(
    conn: Connection, account_id: int, tag_id: int | None = None
) -> list[FeaturedTagViewRow]:
    """The account's featured tags (or one of them), oldest first, each with the tag's
    names, `statuses_count` and `last_status_at` from the account's statuses."""
    args: list[object] = [account_id]
    only = ""
    if tag_id is not None:
        args.append(tag_id)
        only = " AND ft.tag_id = $2"
    return await fetch_as(
        conn,
        FeaturedTagViewRow,
        "SELECT ft.id, ft.account_id, ft.tag_id, t.name, t.display_name, "
        "(SELECT COUNT(*) FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        f"WHERE st.tag_id = ft.tag_id AND {_COUNTED}) AS statuses_count, "
        "(SELECT MAX(s.created_at) FROM statuses_tags st JOIN statuses s ON s.id = st.status_id "
        f"WHERE st.tag_id = ft.tag_id AND {_COUNTED}) AS last_status_at "
        "FROM featured_tags ft JOIN tags t ON t.id = ft.tag_id "
        f"WHERE ft.account_id = $1{only} ORDER BY ft.id",
        *args,
    )


async def most_used(conn: Connection, account_id: int, limit: int) -> list[TagUsesRow]:
    """The tags the account used most in its statuses and does not feature yet."""
    return await fetch_as(
        conn,
        TagUsesRow,
        "SELECT t.*, COUNT(*) AS uses FROM statuses s "
        "JOIN statuses_tags st ON st.status_id = s.id JOIN tags t ON t.id = st.tag_id "
        "WHERE s.account_id = $1 AND s.deleted_at IS NULL AND s.reblog_of_id IS NULL "
        "AND t.id NOT IN (SELECT f.tag_id FROM featured_tags f WHERE f.account_id = $1) "
        "GROUP BY t.id ORDER BY COUNT(*) DESC, t.name LIMIT $2",
        account_id,
        limit,
    )
