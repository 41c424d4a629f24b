"""Domains a user hides (Mastodon's AccountDomainBlock): rows, and who they cover.

A user-level block matches an account's domain exactly, as Mastodon's does. The
timelines apply it through `statuses.hidden_accounts_sql`.
"""

from __future__ import annotations

from .base import Connection, fetch_as
from .paging import Page, fetch_page, placeholders
from .rows import DomainPageRow, FollowPairRow


async def insert(conn: Connection, block_id: int, account_id: int, domain: str, now: int) -> bool:
    """Record the block; whether it is new."""
    added = await conn.fetch(
        "INSERT INTO account_domain_blocks (id, account_id, domain, created_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, domain) DO NOTHING RETURNING id",
        block_id,
        account_id,
        domain,
        now,
    )
    return bool(added)


async def delete(conn: Connection, account_id: int, domain: str) -> bool:
    """Lift the block; whether there was one."""
    removed = await conn.fetch(
        "DELETE FROM account_domain_blocks WHERE account_id = $1 AND domain = $2 RETURNING id",
        account_id,
        domain,
    )
    return bool(removed)


async def blocks_page(conn: Connection, account_id: int, page: Page) -> list[DomainPageRow]:
    """The account's blocked domains, newest first (cursor: the block's id, `page_id`)."""
    return await fetch_page(
        conn,
        DomainPageRow,
        "SELECT b.domain, b.id AS page_id FROM account_domain_blocks b WHERE b.account_id = $1",
        [account_id],
        "b.id",
        page,
    )


async def domain_blocked_ids(conn: Connection, viewer_id: int, target_ids: list[int]) -> set[int]:
    """Which of the accounts live on a domain the viewer blocks (the relationship's
    `domain_blocking`)."""
    if not target_ids:
        return set()
    rows = await conn.fetch(
        "SELECT a.id FROM accounts a JOIN account_domain_blocks b ON b.domain = a.domain "
        f"WHERE b.account_id = $1 AND a.id IN ({placeholders(2, len(target_ids))})",
        viewer_id,
        *target_ids,
    )
    return {r["id"] for r in rows}


async def blocks_account(conn: Connection, viewer_id: int, other_id: int) -> bool:
    """Whether the viewer blocks the domain of another account (a notification from it
    is not to be written)."""
    return bool(await domain_blocked_ids(conn, viewer_id, [other_id]))


async def follows_with_domain(
    conn: Connection, account_id: int, domain: str
) -> list[FollowPairRow]:
    """Follows and follow requests between the account and accounts of `domain`, each
    with `kind` (`follow` or `request`) and the two account ids."""
    return await fetch_as(
        conn,
        FollowPairRow,
        "SELECT 'follow' AS kind, f.account_id, f.target_account_id FROM follows f "
        "JOIN accounts a ON a.id = f.target_account_id WHERE f.account_id = $1 AND a.domain = $2 "
        "UNION ALL SELECT 'follow', f.account_id, f.target_account_id FROM follows f "
        "JOIN accounts a ON a.id = f.account_id WHERE f.target_account_id = $1 AND a.domain = $2 "
        "UNION ALL SELECT 'request', r.account_id, r.target_account_id FROM follow_requests r "
        "JOIN accounts a ON a.id = r.target_account_id WHERE r.account_id = $1 AND a.domain = $2 "
        "UNION ALL SELECT 'request', r.account_id, r.target_account_id FROM follow_requests r "
        "JOIN accounts a ON a.id = r.account_id WHERE r.target_account_id = $1 AND a.domain = $2",
        account_id,
        domain,
    )
