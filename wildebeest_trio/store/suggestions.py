"""Accounts to suggest following, from the social graph, and the ones a user dismissed."""

from __future__ import annotations

from .base import Connection, fetch_as
from .rows import AccountRow, SuggestedAccountRow


def _excluded(viewer: str, now: str) -> str:
    """Accounts never suggested to the viewer: themselves, those followed or requested,
    blocked either way, muted, or dismissed."""
    v = viewer
    return (
        f"SELECT {v} "
        f"UNION ALL SELECT xf.target_account_id FROM follows xf WHERE xf.account_id = {v} "
        f"UNION ALL SELECT xr.target_account_id FROM follow_requests xr WHERE xr.account_id = {v} "
        f"UNION ALL SELECT xb.target_account_id FROM blocks xb WHERE xb.account_id = {v} "
        f"UNION ALL SELECT xb2.account_id FROM blocks xb2 WHERE xb2.target_account_id = {v} "
        f"UNION ALL SELECT xm.target_account_id FROM mutes xm WHERE xm.account_id = {v} "
        f"AND (xm.expires_at IS NULL OR xm.expires_at > {now}) "
        f"UNION ALL SELECT xd.target_account_id FROM suggestion_dismissals xd "
        f"WHERE xd.account_id = {v}"
    )


_SUGGESTIBLE = "a.discoverable AND a.suspended_at IS NULL AND a.moved_to_account_id IS NULL"


async def friends_of_friends(
    conn: Connection, viewer_id: int, now: int, limit: int
) -> list[SuggestedAccountRow]:
    """Accounts followed by the accounts the viewer follows, those followed by more of
    them first."""
    return await fetch_as(
        conn,
        SuggestedAccountRow,
        "SELECT a.*, COUNT(*) AS mutuals FROM follows ff "
        "JOIN follows f ON f.target_account_id = ff.account_id AND f.account_id = $1 "
        "JOIN accounts a ON a.id = ff.target_account_id "
        f"WHERE {_SUGGESTIBLE} AND a.id NOT IN ({_excluded('$1', '$2')}) "
        "GROUP BY a.id ORDER BY COUNT(*) DESC, a.followers_count DESC, a.id LIMIT $3",
        viewer_id,
        now,
        limit,
    )


async def most_followed_local(
    conn: Connection, viewer_id: int, now: int, limit: int
) -> list[AccountRow]:
    """The most followed discoverable local accounts."""
    return await fetch_as(
        conn,
        AccountRow,
        f"SELECT a.* FROM accounts a WHERE a.domain IS NULL AND {_SUGGESTIBLE} "
        f"AND a.id NOT IN ({_excluded('$1', '$2')}) "
        "AND EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.approved "
        "AND NOT u.disabled) "
        "ORDER BY a.followers_count DESC, a.id LIMIT $3",
        viewer_id,
        now,
        limit,
    )


async def dismiss(conn: Connection, account_id: int, target_id: int, now: int) -> None:
    """Never suggest `target_id` to the account again (idempotent)."""
    await conn.execute(
        "INSERT INTO suggestion_dismissals (account_id, target_account_id, created_at) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        account_id,
        target_id,
        now,
    )
