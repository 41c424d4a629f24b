"""Notification rows: who is told what, by whom, about which status."""

from __future__ import annotations

from .base import Connection, Row


async def insert(
    conn: Connection,
    *,
    notification_id: int,
    account_id: int,
    from_account_id: int,
    type: str,
    status_id: int | None,
    report_id: int | None,
    group_key: str,
    created_at: int,
) -> None:
    """Add one notification."""
    await conn.execute(
        "INSERT INTO notifications (id, account_id, from_account_id, type, status_id, "
        "report_id, group_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        notification_id,
        account_id,
        from_account_id,
        type,
        status_id,
        report_id,
        group_key,
        created_at,
    )


async def latest_group_key(conn: Connection, account_id: int, prefix: str) -> str | None:
    """The newest group key of the account's notifications that starts with `prefix-`."""
    return await conn.fetchval(
        "SELECT group_key FROM notifications WHERE account_id = $1 AND group_key LIKE $2 "
        "ORDER BY id DESC LIMIT 1",
        account_id,
        prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%",
    )


async def silenced_by(conn: Connection, account_id: int, from_account_id: int, now: int) -> bool:
    """Whether the recipient blocks the sender or mutes them with notifications hidden."""
    found = await conn.fetchval(
        "SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2 "
        "UNION ALL SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2 "
        "AND hide_notifications AND (expires_at IS NULL OR expires_at > $3)",
        account_id,
        from_account_id,
        now,
    )
    return found is not None


async def withdraw(
    conn: Connection, account_id: int, from_account_id: int, type: str, status_id: int | None
) -> list[Row]:
    """Delete the notifications an undone action caused (an unfavourite, an unfollow)."""
    return await conn.fetch(
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2 "
        "AND type = $3 AND status_id IS NOT DISTINCT FROM $4 RETURNING id",
        account_id,
        from_account_id,
        type,
        status_id,
    )
