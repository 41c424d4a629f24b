"""Lists of followed accounts and their members."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .paging import Page, fetch_page, placeholders
from .rows import AccountPageRow, ListRow


async def lists_of(conn: Connection, account_id: int) -> list[ListRow]:
    """An account's lists, oldest first."""
    return await fetch_as(
        conn, ListRow, "SELECT * FROM lists WHERE account_id = $1 ORDER BY id", account_id
    )


async def list_of(conn: Connection, list_id: int, account_id: int) -> ListRow | None:
    """One of an account's lists."""
    return await fetchrow_as(
        conn, ListRow, "SELECT * FROM lists WHERE id = $1 AND account_id = $2", list_id, account_id
    )


async def insert_list(
    conn: Connection,
    list_id: int,
    account_id: int,
    title: str,
    replies_policy: str,
    exclusive: bool,
    now: int,
) -> None:
    """Make a list."""
    await conn.execute(
        "INSERT INTO lists (id, account_id, title, replies_policy, exclusive, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        list_id,
        account_id,
        title,
        replies_policy,
        exclusive,
        now,
    )


async def update_list(
    conn: Connection, list_id: int, title: str, replies_policy: str, exclusive: bool
) -> None:
    """Change a list's title and settings."""
    await conn.execute(
        "UPDATE lists SET title = $1, replies_policy = $2, exclusive = $3 WHERE id = $4",
        title,
        replies_policy,
        exclusive,
        list_id,
    )


async def delete_list(conn: Connection, list_id: int) -> None:
    """Delete a list (its members go with it)."""
    await conn.execute("DELETE FROM lists WHERE id = $1", list_id)


async def add_members(conn: Connection, list_id: int, members: list[tuple[int, int]]) -> None:
    """Add `(row_id, account_id)` members (again is harmless)."""
    for row_id, account_id in members:
        await conn.execute(
            "INSERT INTO list_accounts (id, list_id, account_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (list_id, account_id) DO NOTHING",
            row_id,
            list_id,
            account_id,
        )


async def remove_members(conn: Connection, list_id: int, account_ids: list[int]) -> None:
    """Take accounts off a list."""
    if account_ids:
        await conn.execute(
            f"DELETE FROM list_accounts WHERE list_id = $1 "
            f"AND account_id IN ({placeholders(2, len(account_ids))})",
            list_id,
            *account_ids,
        )


async def leave_lists_of(conn: Connection, owner_id: int, account_id: int) -> None:
    """Take an account off all of `owner_id`'s lists (after an unfollow or a block)."""
    await conn.execute(
        "DELETE FROM list_accounts WHERE account_id = $1 AND list_id IN "
        "(SELECT id FROM lists WHERE account_id = $2)",
        account_id,
        owner_id,
    )


async def member_ids(conn: Connection, list_id: int) -> list[int]:
    """The accounts on a list."""
    rows = await conn.fetch("SELECT account_id FROM list_accounts WHERE list_id = $1", list_id)
    return [r["account_id"] for r in rows]


async def members_page(conn: Connection, list_id: int, page: Page) -> list[AccountPageRow]:
    """A list's members (cursor: `page_id`)."""
    sql = (
        "SELECT a.*, la.id AS page_id FROM list_accounts la JOIN accounts a "
        "ON a.id = la.account_id WHERE la.list_id = $1"
    )
    return await fetch_page(conn, AccountPageRow, sql, [list_id], "la.id", page)


async def lists_with(conn: Connection, owner_id: int, account_id: int) -> list[ListRow]:
    """The owner's lists that include an account."""
    return await fetch_as(
        conn,
        ListRow,
        "SELECT l.* FROM lists l JOIN list_accounts la ON la.list_id = l.id "
        "WHERE l.account_id = $1 AND la.account_id = $2 ORDER BY l.id",
        owner_id,
        account_id,
    )
