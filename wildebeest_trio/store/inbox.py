"""Inbound federation: seen activity ids, tombstones, and the lookups handlers need."""

from __future__ import annotations

from typing import Any

from .base import Connection, Row
from .paging import placeholders


async def remember_activities(
    conn: Connection, activities: list[tuple[str, str]], now: int
) -> set[str]:
    """Record accepted activity ids, (id, actor URI) each, in one statement; the ids that
    were new (the others had been accepted already: replays)."""
    if not activities:
        return set()
    rows = ", ".join(f"(${2 * i + 2}, ${2 * i + 3}, $1)" for i in range(len(activities)))
    new = await conn.fetch(
        f"INSERT INTO inbox_activities (uri, actor_uri, received_at) VALUES {rows} "
        "ON CONFLICT (uri) DO NOTHING RETURNING uri",
        now,
        *(value for activity in activities for value in activity),
    )
    return {row["uri"] for row in new}


async def activity_seen(conn: Connection, uri: str) -> bool:
    """Whether an activity id was already accepted."""
    return await conn.fetchval("SELECT 1 FROM inbox_activities WHERE uri = $1", uri) is not None


async def forget_activities(conn: Connection, before: int) -> int:
    """Drop seen ids older than `before` (senders stop retrying long before)."""
    return await conn.execute("DELETE FROM inbox_activities WHERE received_at < $1", before)


async def add_tombstone(conn: Connection, uri: str, account_id: int | None, now: int) -> None:
    """Remember that a remote object was deleted."""
    await conn.execute(
        "INSERT INTO status_tombstones (uri, account_id, created_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (uri) DO NOTHING",
        uri,
        account_id,
        now,
    )


async def is_tombstoned(conn: Connection, uri: str) -> bool:
    """Whether a remote object was deleted here."""
    return await conn.fetchval("SELECT 1 FROM status_tombstones WHERE uri = $1", uri) is not None


async def account_by_uri(conn: Connection, uri: str) -> Row | None:
    """Any account (local or remote) by actor URI."""
    return await conn.fetchrow("SELECT * FROM accounts WHERE uri = $1", uri)


async def accounts_by_uris(conn: Connection, uris: list[str]) -> list[Row]:
    """The known accounts among actor URIs (local ones, and remote ones not suspended)."""
    if not uris:
        return []
    return await conn.fetch(
        f"SELECT * FROM accounts WHERE uri IN ({placeholders(1, len(uris))})", *uris
    )


async def status_by_uri(conn: Connection, uri: str) -> Row | None:
    """A live status by its ActivityPub id."""
    return await conn.fetchrow("SELECT * FROM statuses WHERE uri = $1 AND deleted_at IS NULL", uri)


async def any_status_by_uri(conn: Connection, uri: str) -> Row | None:
    """A status by its ActivityPub id, deleted or not."""
    return await conn.fetchrow("SELECT * FROM statuses WHERE uri = $1", uri)


async def has_local_follower(conn: Connection, account_id: int) -> bool:
    """Whether any local account follows this one."""
    found = await conn.fetchval(
        "SELECT 1 FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.domain IS NULL LIMIT 1",
        account_id,
    )
    return found is not None


async def local_followers(conn: Connection, account_id: int) -> list[Row]:
    """The local accounts following this one, with their follow's options."""
    return await conn.fetch(
        "SELECT f.account_id, f.show_reblogs, f.notify, f.languages FROM follows f "
        "JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.domain IS NULL ORDER BY f.id",
        account_id,
    )


async def follow_by_uri(conn: Connection, table: str, uri: str) -> Row | None:
    """A follow (`follows`) or follow request (`follow_requests`) by its activity id."""
    if table not in ("follows", "follow_requests"):
        raise ValueError(table)
    return await conn.fetchrow(f"SELECT * FROM {table} WHERE uri = $1", uri)


async def set_follow_uri(conn: Connection, table: str, row_id: int, uri: str) -> None:
    """Record the activity id of a follow (request), e.g. a repeated Follow's new id."""
    if table not in ("follows", "follow_requests"):
        raise ValueError(table)
    await conn.execute(f"UPDATE {table} SET uri = $1 WHERE id = $2", uri, row_id)


async def insert_remote_favourite(
    conn: Connection, favourite_id: int, account_id: int, status_id: int, uri: str, now: int
) -> bool:
    """A remote account's Like; False if it had already favourited the status."""
    changed = await conn.execute(
        "INSERT INTO favourites (id, account_id, status_id, uri, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, status_id) DO NOTHING",
        favourite_id,
        account_id,
        status_id,
        uri,
        now,
    )
    return changed == 1


async def favourite_of(conn: Connection, account_id: int, status_id: int) -> Row | None:
    """The account's favourite of a status, if any."""
    return await conn.fetchrow(
        "SELECT * FROM favourites WHERE account_id = $1 AND status_id = $2", account_id, status_id
    )


async def favourite_by_uri(conn: Connection, account_id: int, uri: str) -> Row | None:
    """An account's favourite by its Like activity's id."""
    return await conn.fetchrow(
        "SELECT * FROM favourites WHERE uri = $1 AND account_id = $2", uri, account_id
    )


async def delete_favourite_row(conn: Connection, favourite_id: int) -> None:
    """Remove one favourite (the caller fixes the count)."""
    await conn.execute("DELETE FROM favourites WHERE id = $1", favourite_id)


async def live_statuses_of(conn: Connection, account_id: int, limit: int) -> list[Row]:
    """Up to `limit` live statuses of an account, boosts after originals."""
    return await conn.fetch(
        "SELECT * FROM statuses WHERE account_id = $1 AND deleted_at IS NULL "
        "ORDER BY reblog_of_id IS NOT NULL, id LIMIT $2",
        account_id,
        limit,
    )


async def favourites_of(conn: Connection, account_id: int) -> list[Row]:
    """Every favourite an account made."""
    return await conn.fetch("SELECT * FROM favourites WHERE account_id = $1", account_id)


async def remove_account_graph(conn: Connection, account_id: int) -> list[tuple[int, int]]:
    """Drop an account's follows, requests and notifications; the (follower, followed)
    pairs whose counts must be recounted."""
    pairs = await conn.fetch(
        "SELECT account_id, target_account_id FROM follows "
        "WHERE account_id = $1 OR target_account_id = $1",
        account_id,
    )
    await conn.execute(
        "DELETE FROM follows WHERE account_id = $1 OR target_account_id = $1", account_id
    )
    await conn.execute(
        "DELETE FROM follow_requests WHERE account_id = $1 OR target_account_id = $1",
        account_id,
    )
    await conn.execute("DELETE FROM notifications WHERE from_account_id = $1", account_id)
    return [(r["account_id"], r["target_account_id"]) for r in pairs]


async def recount_follows(conn: Connection, account_ids: set[int]) -> None:
    """Recount followers and following of the given accounts from the rows."""
    for account_id in account_ids:
        await conn.execute(
            "UPDATE accounts SET "
            "following_count = (SELECT COUNT(*) FROM follows WHERE account_id = $1), "
            "followers_count = (SELECT COUNT(*) FROM follows WHERE target_account_id = $1) "
            "WHERE id = $1",
            account_id,
        )


async def suspend_account(conn: Connection, account_id: int, now: int) -> None:
    """Mark an account suspended (a deleted remote actor)."""
    await conn.execute(
        "UPDATE accounts SET suspended_at = $1, updated_at = $1 WHERE id = $2", now, account_id
    )


async def set_moved_to(conn: Connection, account_id: int, target_id: int, now: int) -> None:
    """Record where an account moved."""
    await conn.execute(
        "UPDATE accounts SET moved_to_account_id = $1, updated_at = $2 WHERE id = $3",
        target_id,
        now,
        account_id,
    )


async def upsert_remote_emoji(conn: Connection, emoji: dict[str, Any]) -> None:
    """Record a remote custom emoji (by shortcode and domain), refreshing its image."""
    await conn.execute(
        "INSERT INTO custom_emojis (id, shortcode, domain, uri, image_remote_url, "
        "visible_in_picker, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $6) "
        "ON CONFLICT (shortcode, domain) WHERE domain IS NOT NULL DO UPDATE SET "
        "uri = excluded.uri, image_remote_url = excluded.image_remote_url, "
        "updated_at = excluded.updated_at",
        emoji["id"],
        emoji["shortcode"],
        emoji["domain"],
        emoji["uri"],
        emoji["image_remote_url"],
        emoji["now"],
    )


async def delete_block(conn: Connection, account_id: int, target_id: int) -> bool:
    """Lift a block; whether there was one."""
    changed = await conn.execute(
        "DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2",
        account_id,
        target_id,
    )
    return changed > 0


async def link_reply(conn: Connection, reply: Row, parent: Row) -> None:
    """Thread a stored reply under a parent that arrived after it."""
    await conn.execute(
        "UPDATE statuses SET in_reply_to_id = $1, in_reply_to_account_id = $2, "
        "conversation_id = $3 WHERE id = $4 AND in_reply_to_id IS NULL",
        parent["id"],
        parent["account_id"],
        parent["conversation_id"] or parent["id"],
        reply["id"],
    )
