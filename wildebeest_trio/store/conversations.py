"""Direct-message conversations, one row per local participant."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as, fetchval_as
from .paging import Page, fetch_page
from .rows import AccountConversationRow


async def touch(
    conn: Connection,
    new_id: int,
    account_id: int,
    conversation_id: int,
    participant_ids: str,
    status_id: int,
    unread: bool,
) -> None:
    """Record a new direct status in an account's conversation (made on first use)."""
    await conn.execute(
        "INSERT INTO account_conversations (id, account_id, conversation_id, participant_ids, "
        "last_status_id, unread) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (account_id, conversation_id, participant_ids) DO UPDATE SET "
        "last_status_id = excluded.last_status_id, unread = excluded.unread",
        new_id,
        account_id,
        conversation_id,
        participant_ids,
        status_id,
        unread,
    )


async def conversation_of(
    conn: Connection, account_id: int, conversation_id: int, participant_ids: str
) -> AccountConversationRow | None:
    """An account's conversation with these participants in a thread."""
    return await fetchrow_as(
        conn,
        AccountConversationRow,
        "SELECT * FROM account_conversations WHERE account_id = $1 AND conversation_id = $2 "
        "AND participant_ids = $3",
        account_id,
        conversation_id,
        participant_ids,
    )


async def rows_ending_with(conn: Connection, status_id: int) -> list[AccountConversationRow]:
    """The conversations whose latest status is `status_id`."""
    return await fetch_as(
        conn,
        AccountConversationRow,
        "SELECT * FROM account_conversations WHERE last_status_id = $1",
        status_id,
    )


async def latest_direct_status(
    conn: Connection, conversation_id: int, account_id: int
) -> int | None:
    """The newest live direct status of a conversation that the account wrote or is
    mentioned in."""
    return await fetchval_as(
        conn,
        int,
        "SELECT MAX(s.id) FROM statuses s WHERE s.conversation_id = $1 "
        "AND s.visibility = 'direct' AND s.deleted_at IS NULL AND (s.account_id = $2 "
        "OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = $2))",
        conversation_id,
        account_id,
    )


async def set_last_status(conn: Connection, row_id: int, status_id: int) -> None:
    """Point a conversation at an older status (its latest was deleted)."""
    await conn.execute(
        "UPDATE account_conversations SET last_status_id = $1 WHERE id = $2", status_id, row_id
    )


async def remove(conn: Connection, row_id: int, account_id: int) -> bool:
    """Remove a conversation from an account's list; False if it is not theirs."""
    changed = await conn.execute(
        "DELETE FROM account_conversations WHERE id = $1 AND account_id = $2", row_id, account_id
    )
    return changed > 0


async def mark_read(
    conn: Connection, row_id: int, account_id: int
) -> AccountConversationRow | None:
    """Mark a conversation read; the row, or None if it is not the account's."""
    await conn.execute(
        "UPDATE account_conversations SET unread = FALSE WHERE id = $1 AND account_id = $2",
        row_id,
        account_id,
    )
    return await fetchrow_as(
        conn,
        AccountConversationRow,
        "SELECT * FROM account_conversations WHERE id = $1 AND account_id = $2",
        row_id,
        account_id,
    )


async def page_of(conn: Connection, account_id: int, page: Page) -> list[AccountConversationRow]:
    """An account's conversations, most recently active first (cursor: `last_status_id`)."""
    sql = "SELECT c.* FROM account_conversations c WHERE c.account_id = $1"
    return await fetch_page(
        conn, AccountConversationRow, sql, [account_id], "c.last_status_id", page
    )
