"""Queries of outbound federation: who receives an activity, and what local actors publish."""

from __future__ import annotations

from .base import Connection, fetch_as, fetchrow_as
from .paging import placeholders
from .rows import DeliveryAccountRow, FollowerInboxRow, InboxRow, StatusRow, TagNameRow

_REMOTE = (
    "a.id, a.uri, a.username, a.domain, a.url, a.inbox_url, a.shared_inbox_url, a.suspended_at"
)


async def follower_inboxes(conn: Connection, account_id: int) -> list[FollowerInboxRow]:
    """Distinct inboxes of an account's remote followers: the shared one where published."""
    return await fetch_as(
        conn,
        FollowerInboxRow,
        "SELECT DISTINCT COALESCE(NULLIF(a.shared_inbox_url, ''), a.inbox_url) AS inbox, "
        "a.domain FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND a.domain IS NOT NULL AND a.inbox_url IS NOT NULL "
        "AND a.suspended_at IS NULL",
        account_id,
    )


async def known_inboxes(conn: Connection) -> list[InboxRow]:
    """Every remote server's inbox this one knows (shared where published): where the
    Delete of a whole account goes, as Mastodon sends it."""
    return await fetch_as(
        conn,
        InboxRow,
        "SELECT DISTINCT COALESCE(NULLIF(shared_inbox_url, ''), inbox_url) AS inbox "
        "FROM accounts WHERE domain IS NOT NULL AND inbox_url IS NOT NULL "
        "AND suspended_at IS NULL",
    )


async def accounts_for_delivery(
    conn: Connection, account_ids: list[int]
) -> list[DeliveryAccountRow]:
    """Accounts by id with their inboxes (local ones included: callers skip them)."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return []
    return await fetch_as(
        conn,
        DeliveryAccountRow,
        f"SELECT {_REMOTE} FROM accounts a WHERE a.id IN ({placeholders(1, len(ids))})",
        *ids,
    )


async def mentioned_accounts(conn: Connection, status_id: int) -> list[DeliveryAccountRow]:
    """The accounts a status mentions, in mention order, with their inboxes."""
    return await fetch_as(
        conn,
        DeliveryAccountRow,
        f"SELECT {_REMOTE} FROM mentions m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.status_id = $1 ORDER BY m.id",
        status_id,
    )


async def tags_of(conn: Connection, status_id: int) -> list[TagNameRow]:
    """The hashtags of a status."""
    return await fetch_as(
        conn,
        TagNameRow,
        "SELECT t.name, t.display_name FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
        "WHERE st.status_id = $1 ORDER BY t.name",
        status_id,
    )


async def interacting_accounts(conn: Connection, status_id: int) -> list[int]:
    """Remote accounts that boosted, favourited, replied to or quoted a status (they hold
    copies)."""
    rows = await conn.fetch(
        "SELECT s.account_id AS id FROM statuses s JOIN accounts a ON a.id = s.account_id "
        "WHERE (s.reblog_of_id = $1 OR s.in_reply_to_id = $1) AND a.domain IS NOT NULL "
        "UNION SELECT f.account_id FROM favourites f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.status_id = $1 AND a.domain IS NOT NULL "
        "UNION SELECT q.account_id FROM quotes q JOIN accounts a ON a.id = q.account_id "
        "WHERE q.quoted_status_id = $1 AND a.domain IS NOT NULL",
        status_id,
    )
    return [r["id"] for r in rows]


async def status_row(conn: Connection, status_id: int) -> StatusRow | None:
    """A status by id, deleted or not (a deleted one still answers its Delete and 410)."""
    return await fetchrow_as(conn, StatusRow, "SELECT * FROM statuses WHERE id = $1", status_id)


async def is_mentioned(conn: Connection, status_id: int, account_id: int) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM mentions WHERE status_id = $1 AND account_id = $2", status_id, account_id
    )
    return found is not None


async def is_blocked_by(conn: Connection, account_id: int, blocker_id: int) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2",
        blocker_id,
        account_id,
    )
    return found is not None


async def outbox_statuses(
    conn: Connection, account_id: int, max_id: int | None, min_id: int | None, limit: int
) -> list[StatusRow]:
    """An account's public and unlisted statuses and boosts for its outbox, newest first."""
    sql = (
        "SELECT * FROM statuses WHERE account_id = $1 AND deleted_at IS NULL "
        "AND visibility IN ('public', 'unlisted')"
    )
    args: list[object] = [account_id]
    if max_id is not None:
        args.append(max_id)
        sql += f" AND id < ${len(args)}"
    if min_id is not None:
        args.append(min_id)
        sql += f" AND id > ${len(args)}"
        # The page just after min_id: the oldest ones first, then reversed below.
        args.append(limit)
        rows = await fetch_as(conn, StatusRow, sql + f" ORDER BY id ASC LIMIT ${len(args)}", *args)
        return list(reversed(rows))
    args.append(limit)
    return await fetch_as(conn, StatusRow, sql + f" ORDER BY id DESC LIMIT ${len(args)}", *args)


async def public_replies(
    conn: Connection, status_id: int, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """The public and unlisted replies to a status (of accounts not suspended, not deleted,
    ids above `after_id`), oldest first: (id, uri) each, at most `limit`."""
    rows = await conn.fetch(
        "SELECT s.id, s.uri FROM statuses s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.in_reply_to_id = $1 AND s.id > $2 AND s.deleted_at IS NULL "
        "AND s.reblog_of_id IS NULL AND s.visibility IN ('public', 'unlisted') "
        "AND a.suspended_at IS NULL ORDER BY s.id LIMIT $3",
        status_id,
        after_id,
        limit,
    )
    return [(int(r["id"]), str(r["uri"])) for r in rows]


async def pinned_statuses(conn: Connection, account_id: int) -> list[StatusRow]:
    """The public and unlisted statuses an account pinned, newest pin first."""
    return await fetch_as(
        conn,
        StatusRow,
        "SELECT s.* FROM status_pins p JOIN statuses s ON s.id = p.status_id "
        "WHERE p.account_id = $1 AND s.deleted_at IS NULL "
        "AND s.visibility IN ('public', 'unlisted') ORDER BY p.id DESC",
        account_id,
    )
