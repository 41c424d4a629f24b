"""The audit log: who did which moderation action to what (Mastodon's Admin::ActionLog)."""

from __future__ import annotations

from ..ids import MAX_ID
from .base import Connection, fetch_as
from .rows import AdminActionLogRow


class ActionLogWithNameRow(AdminActionLogRow):
    """An audit log entry with the acting account's username (None once it is gone)."""

    username: str | None


async def record(
    conn: Connection,
    entry_id: int,
    *,
    account_id: int,
    action: str,
    target_type: str,
    target_id: int | None,
    human_identifier: str,
    now: int,
) -> None:
    """Append one entry."""
    await conn.execute(
        "INSERT INTO admin_action_logs (id, account_id, action, target_type, target_id, "
        "human_identifier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        entry_id,
        account_id,
        action,
        target_type,
        target_id,
        human_identifier[:300],
        now,
    )


async def listing(
    conn: Connection, *, limit: int = 100, max_id: int | None = None
) -> list[ActionLogWithNameRow]:
    """The newest entries first (older than `max_id` when given)."""
    return await fetch_as(
        conn,
        ActionLogWithNameRow,
        "SELECT l.*, a.username FROM admin_action_logs l "
        "LEFT JOIN accounts a ON a.id = l.account_id "
        "WHERE l.id < $1 ORDER BY l.id DESC LIMIT $2",
        MAX_ID if max_id is None else max_id,
        limit,
    )
