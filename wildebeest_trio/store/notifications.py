"""Notification rows: who is told what, by whom, about which status; policies, requests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ids import parse_id
from .base import Connection, fetch_as, fetchrow_as, fetchval_as
from .paging import Page, fetch_page, placeholders
from .rows import (
    GroupSampleRow,
    GroupStatsRow,
    IdRow,
    NotificationGoneRow,
    NotificationLossRow,
    NotificationPolicyRow,
    NotificationRequestRow,
    NotificationRow,
    SenderFactsRow,
)
from .statuses import visible_sql

SAMPLE_ACCOUNTS = 8  # Mastodon's NotificationGroup::SAMPLE_ACCOUNTS_SIZE


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
    filtered: bool = False,
) -> None:
    """Add one notification."""
    await conn.execute(
        "INSERT INTO notifications (id, account_id, from_account_id, type, status_id, "
        "report_id, group_key, created_at, filtered) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        notification_id,
        account_id,
        from_account_id,
        type,
        status_id,
        report_id,
        group_key,
        created_at,
        filtered,
    )


async def latest_group_key(conn: Connection, account_id: int, prefix: str) -> str | None:
    """The newest group key of the account's notifications that starts with `prefix-`."""
    return await fetchval_as(
        conn,
        str,
        "SELECT group_key FROM notifications WHERE account_id = $1 AND group_key LIKE $2 "
        "ORDER BY id DESC LIMIT 1",
        account_id,
        prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%",
    )


async def silenced_by(
    conn: Connection, account_id: int, from_account_id: int, now: int, *, any_mute: bool = False
) -> bool:
    """Whether the recipient blocks the sender or mutes them with notifications hidden
    (with `any_mute`, mutes them at all: what e-mail asks)."""
    hidden = "" if any_mute else "AND hide_notifications "
    found = await conn.fetchval(
        "SELECT 1 FROM blocks WHERE account_id = $1 AND target_account_id = $2 "
        "UNION ALL SELECT 1 FROM mutes WHERE account_id = $1 AND target_account_id = $2 "
        f"{hidden}AND (expires_at IS NULL OR expires_at > $3)",
        account_id,
        from_account_id,
        now,
    )
    return found is not None


async def conversation_muted(conn: Connection, account_id: int, status_id: int) -> bool:
    """Whether the recipient muted the conversation a status belongs to."""
    found = await conn.fetchval(
        "SELECT 1 FROM statuses s JOIN conversation_mutes cm "
        "ON cm.conversation_id = COALESCE(s.conversation_id, s.id) "
        "WHERE s.id = $1 AND cm.account_id = $2",
        status_id,
        account_id,
    )
    return found is not None


async def withdraw(
    conn: Connection, account_id: int, from_account_id: int, type: str, status_id: int | None
) -> list[IdRow]:
    """Delete the notifications an undone action caused (an unfavourite, an unfollow)."""
    return await fetch_as(
        conn,
        IdRow,
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2 "
        "AND type = $3 AND status_id IS NOT DISTINCT FROM $4 RETURNING id",
        account_id,
        from_account_id,
        type,
        status_id,
    )


async def delete_about_status(conn: Connection, status_id: int) -> list[NotificationLossRow]:
    """Delete every notification about a status (it was deleted): who lost which, and
    whether it was filtered."""
    return await fetch_as(
        conn,
        NotificationLossRow,
        "DELETE FROM notifications WHERE status_id = $1 "
        "RETURNING account_id, from_account_id, filtered",
        status_id,
    )


async def delete_from(conn: Connection, account_id: int, from_account_id: int) -> int:
    """Delete every notification one account caused another (after a block)."""
    return await conn.execute(
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2",
        account_id,
        from_account_id,
    )


async def delete_sent_by(conn: Connection, from_account_id: int) -> None:
    """Delete every notification an account caused (it is gone)."""
    await conn.execute("DELETE FROM notifications WHERE from_account_id = $1", from_account_id)


async def delete_from_domain(conn: Connection, account_id: int, domain: str) -> None:
    """Delete the account's notifications sent by accounts of `domain` (after it hid it)."""
    await conn.execute(
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id IN "
        "(SELECT a.id FROM accounts a WHERE a.domain = $2)",
        account_id,
        domain,
    )


async def existing_ids(conn: Connection, ids: list[int]) -> set[int]:
    """Which of these notifications exist (committed and not dismissed meanwhile)."""
    if not ids:
        return set()
    rows = await conn.fetch(
        f"SELECT id FROM notifications WHERE id IN ({placeholders(1, len(ids))})", *ids
    )
    return {r["id"] for r in rows}


async def by_id(conn: Connection, notification_id: int) -> NotificationRow | None:
    """One notification row, whoever it belongs to."""
    return await fetchrow_as(
        conn, NotificationRow, "SELECT * FROM notifications WHERE id = $1", notification_id
    )


# Facts for the notification policy ---------------------------------------------------------


async def sender_facts(conn: Connection, account_id: int, from_account_id: int) -> SenderFactsRow:
    """What the policy asks about a sender: does the recipient follow them, since when do
    they follow the recipient, how old is the account, is it limited, is it let through."""
    row = await fetchrow_as(
        conn,
        SenderFactsRow,
        "SELECT a.created_at, a.silenced_at, a.domain, "
        "(SELECT 1 FROM follows f WHERE f.account_id = $1 AND f.target_account_id = $2) "
        "AS following, "
        "(SELECT f2.created_at FROM follows f2 WHERE f2.account_id = $2 "
        "AND f2.target_account_id = $1) AS follower_since, "
        "(SELECT 1 FROM notification_permissions p WHERE p.account_id = $1 "
        "AND p.from_account_id = $2) AS permitted "
        "FROM accounts a WHERE a.id = $2",
        account_id,
        from_account_id,
    )
    assert row is not None
    return row


async def direct_mention_upthread(
    conn: Connection, status_id: int, account_id: int, from_account_id: int, depth: int = 100
) -> bool:
    """Whether a status replies (within `depth` steps up its thread) to a direct status of
    `account_id` that mentions `from_account_id`: a private conversation they started."""
    found = await conn.fetchval(
        "WITH RECURSIVE up(id, depth) AS ("
        " SELECT in_reply_to_id, 1 FROM statuses WHERE id = $1 AND in_reply_to_id IS NOT NULL"
        " UNION ALL SELECT s.in_reply_to_id, up.depth + 1 FROM statuses s JOIN up ON s.id = up.id"
        " WHERE s.in_reply_to_id IS NOT NULL AND up.depth < $4) "
        "SELECT 1 FROM up JOIN statuses s ON s.id = up.id JOIN mentions m ON m.status_id = s.id "
        "WHERE s.account_id = $2 AND s.visibility = 'direct' AND m.account_id = $3 LIMIT 1",
        status_id,
        account_id,
        from_account_id,
        depth,
    )
    return found is not None


POLICY_FIELDS = (
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
)


async def policy(conn: Connection, account_id: int) -> NotificationPolicyRow | None:
    """The account's stored notification policy (None: the defaults)."""
    return await fetchrow_as(
        conn,
        NotificationPolicyRow,
        "SELECT * FROM notification_policies WHERE account_id = $1",
        account_id,
    )


async def save_policy(conn: Connection, account_id: int, values: dict[str, str], now: int) -> None:
    """Store the whole policy (every field of POLICY_FIELDS in `values`)."""
    columns = ", ".join(POLICY_FIELDS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in POLICY_FIELDS)
    await conn.execute(
        f"INSERT INTO notification_policies (account_id, {columns}, updated_at) "
        f"VALUES ($1, {placeholders(2, len(POLICY_FIELDS))}, ${len(POLICY_FIELDS) + 2}) "
        f"ON CONFLICT (account_id) DO UPDATE SET {updates}, updated_at = excluded.updated_at",
        account_id,
        *(values[c] for c in POLICY_FIELDS),
        now,
    )


# Requests (filtered notifications per sender) ---------------------------------------------


async def upsert_request(
    conn: Connection,
    request_id: int,
    account_id: int,
    from_account_id: int,
    last_status_id: int | None,
    now: int,
) -> None:
    """Open (or refresh) the request for a sender's filtered notifications."""
    await conn.execute(
        "INSERT INTO notification_requests (id, account_id, from_account_id, last_status_id, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) "
        "ON CONFLICT (account_id, from_account_id) DO UPDATE SET "
        "last_status_id = COALESCE(excluded.last_status_id, notification_requests.last_status_id), "
        "updated_at = excluded.updated_at",
        request_id,
        account_id,
        from_account_id,
        last_status_id,
        now,
    )


_LIVE_SENDER = (
    "NOT EXISTS (SELECT 1 FROM accounts sa WHERE sa.id = {col} AND sa.suspended_at IS NOT NULL)"
)


async def requests_page(
    conn: Connection, account_id: int, page: Page
) -> list[NotificationRequestRow]:
    """The account's notification requests, newest first."""
    sql = (
        "SELECT r.* FROM notification_requests r WHERE r.account_id = $1 AND "
        + _LIVE_SENDER.format(col="r.from_account_id")
    )
    return await fetch_page(conn, NotificationRequestRow, sql, [account_id], "r.id", page)


async def request_by_id(
    conn: Connection, account_id: int, request_id: int
) -> NotificationRequestRow | None:
    """One of the account's requests."""
    return await fetchrow_as(
        conn,
        NotificationRequestRow,
        "SELECT * FROM notification_requests WHERE id = $1 AND account_id = $2",
        request_id,
        account_id,
    )


async def requests_by_ids(
    conn: Connection, account_id: int, ids: list[int]
) -> list[NotificationRequestRow]:
    """The account's requests among `ids`."""
    if not ids:
        return []
    return await fetch_as(
        conn,
        NotificationRequestRow,
        f"SELECT * FROM notification_requests WHERE account_id = $1 "
        f"AND id IN ({placeholders(2, len(ids))})",
        account_id,
        *ids,
    )


async def delete_request(conn: Connection, account_id: int, from_account_id: int) -> None:
    await conn.execute(
        "DELETE FROM notification_requests WHERE account_id = $1 AND from_account_id = $2",
        account_id,
        from_account_id,
    )


async def filtered_counts(
    conn: Connection, account_id: int, from_ids: list[int], cap: int = 100
) -> dict[int, int]:
    """How many filtered notifications each sender has waiting (counted up to `cap`, as
    Mastodon's MAX_MEANINGFUL_COUNT)."""
    if not from_ids:
        return {}
    rows = await conn.fetch(
        f"SELECT from_account_id, COUNT(*) AS n FROM notifications WHERE account_id = $1 "
        f"AND filtered AND from_account_id IN ({placeholders(2, len(from_ids))}) "
        f"GROUP BY from_account_id",
        account_id,
        *from_ids,
    )
    return {r["from_account_id"]: min(int(r["n"]), cap) for r in rows}


async def reconsider_request(conn: Connection, account_id: int, from_account_id: int) -> None:
    """Drop a sender's request once none of its filtered notifications remain."""
    await conn.execute(
        "DELETE FROM notification_requests WHERE account_id = $1 AND from_account_id = $2 "
        "AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.account_id = $1 "
        "AND n.from_account_id = $2 AND n.filtered)",
        account_id,
        from_account_id,
    )


async def permit(conn: Connection, account_id: int, from_account_id: int, now: int) -> None:
    """Let a sender's notifications through unfiltered from now on."""
    await conn.execute(
        "INSERT INTO notification_permissions (account_id, from_account_id, created_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (account_id, from_account_id) DO NOTHING",
        account_id,
        from_account_id,
        now,
    )


async def unfilter_from(conn: Connection, account_id: int, from_account_id: int) -> int:
    """Move a sender's filtered notifications into the main list."""
    return await conn.execute(
        "UPDATE notifications SET filtered = FALSE WHERE account_id = $1 "
        "AND from_account_id = $2 AND filtered",
        account_id,
        from_account_id,
    )


async def delete_filtered_from(conn: Connection, account_id: int, from_account_id: int) -> int:
    """Discard a sender's filtered notifications."""
    return await conn.execute(
        "DELETE FROM notifications WHERE account_id = $1 AND from_account_id = $2 AND filtered",
        account_id,
        from_account_id,
    )


async def pending_summary(conn: Connection, account_id: int) -> tuple[int, int]:
    """(open requests, filtered notifications waiting in them)."""
    row = await conn.fetchrow(
        "SELECT (SELECT COUNT(*) FROM notification_requests r WHERE r.account_id = $1 AND "
        + _LIVE_SENDER.format(col="r.from_account_id")
        + ") AS requests, (SELECT COUNT(*) FROM notifications n JOIN notification_requests r2 "
        "ON r2.account_id = n.account_id AND r2.from_account_id = n.from_account_id "
        "WHERE n.account_id = $1 AND n.filtered) AS notifications",
        account_id,
    )
    assert row is not None
    return int(row["requests"]), int(row["notifications"])


# Browsing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Browse:
    """Which of an account's notifications a list shows (Mastodon's `browserable`).

    `types` None means every type; an empty tuple means none. Filtered notifications
    are left out unless `include_filtered`, or when asking for one sender's.
    """

    types: tuple[str, ...] | None = None
    from_account_id: int | None = None
    include_filtered: bool = False
    grouped_types: tuple[str, ...] = field(default_factory=tuple)


def _browse_sql(browse: Browse, args: list[Any]) -> str:
    """The WHERE clause (alias `n`, recipient `$1`) of what the recipient may browse:
    their own, not from suspended or blocked senders, about statuses still there and
    still visible to them."""
    sql = (
        "n.account_id = $1 AND "
        + _LIVE_SENDER.format(col="n.from_account_id")
        + " AND n.from_account_id NOT IN (SELECT bl.target_account_id FROM blocks bl "
        "WHERE bl.account_id = $1) AND (n.status_id IS NULL OR EXISTS (SELECT 1 FROM "
        "statuses s WHERE s.id = n.status_id AND s.deleted_at IS NULL AND "
        f"{visible_sql('s', '$1')}))"
    )
    if not browse.include_filtered and browse.from_account_id is None:
        sql += " AND NOT n.filtered"
    if browse.from_account_id is not None:
        args.append(browse.from_account_id)
        sql += f" AND n.from_account_id = ${len(args)}"
    if browse.types is not None:
        if not browse.types:
            return sql + " AND 1 = 0"
        start = len(args) + 1
        args.extend(browse.types)
        sql += f" AND n.type IN ({placeholders(start, len(browse.types))})"
    return sql


async def page(
    conn: Connection, account_id: int, browse: Browse, page: Page
) -> list[NotificationRow]:
    """One page of the account's notifications, newest first."""
    args: list[Any] = [account_id]
    where = _browse_sql(browse, args)
    sql = f"SELECT n.* FROM notifications n WHERE {where}"
    return await fetch_page(conn, NotificationRow, sql, args, "n.id", page)


async def visible_one(
    conn: Connection, account_id: int, notification_id: int
) -> NotificationRow | None:
    """One of the account's notifications, if it may still be shown."""
    args: list[Any] = [account_id, notification_id]
    where = _browse_sql(Browse(include_filtered=True), args)
    sql = f"SELECT n.* FROM notifications n WHERE {where} AND n.id = $2"
    return await fetchrow_as(conn, NotificationRow, sql, *args)


async def count_after(
    conn: Connection, account_id: int, browse: Browse, after_id: int | None, limit: int
) -> int:
    """How many browsable notifications come after `after_id`, counted up to `limit`."""
    args: list[Any] = [account_id]
    where = _browse_sql(browse, args)
    if after_id is not None:
        args.append(after_id)
        where += f" AND n.id > ${len(args)}"
    args.append(limit)
    return int(
        await conn.fetchval(
            f"SELECT COUNT(*) FROM (SELECT n.id FROM notifications n WHERE {where} "
            f"ORDER BY n.id LIMIT ${len(args)}) c",
            *args,
        )
    )


async def dismiss(
    conn: Connection, account_id: int, notification_id: int
) -> NotificationGoneRow | None:
    """Delete one of the account's notifications; the row deleted."""
    return await fetchrow_as(
        conn,
        NotificationGoneRow,
        "DELETE FROM notifications WHERE id = $1 AND account_id = $2 "
        "RETURNING id, from_account_id, filtered",
        notification_id,
        account_id,
    )


async def clear(conn: Connection, account_id: int) -> None:
    """Delete all of the account's notifications (and so its requests)."""
    await conn.execute("DELETE FROM notifications WHERE account_id = $1", account_id)
    await conn.execute("DELETE FROM notification_requests WHERE account_id = $1", account_id)


# Groups (v2) ---------------------------------------------------------------------------------


def _group_sql(grouped_types: Sequence[str], args: list[Any]) -> str:
    """The effective group of a notification: its key if its type is grouped here, else
    a group of its own."""
    own = "'ungrouped-' || CAST(n.id AS TEXT)"
    if not grouped_types:
        return own
    start = len(args) + 1
    args.extend(grouped_types)
    return (
        f"CASE WHEN n.type IN ({placeholders(start, len(grouped_types))}) "
        f"THEN n.group_key ELSE {own} END"
    )


async def group_page(
    conn: Connection, account_id: int, browse: Browse, page: Page
) -> list[NotificationRow]:
    """One page of groups, newest first: for each group the newest notification within
    the page's bounds (the oldest, paging up with `min_id`), as Mastodon's
    `paginate_groups` walks them."""
    args: list[Any] = [account_id]
    where = _browse_sql(browse, args)
    key = _group_sql(browse.grouped_types, args)
    if page.max_id is not None:
        args.append(page.max_id)
        where += f" AND n.id < ${len(args)}"
    if page.min_id is not None:
        args.append(page.min_id)
        where += f" AND n.id > ${len(args)}"
    elif page.since_id is not None:
        args.append(page.since_id)
        where += f" AND n.id > ${len(args)}"
    pick, order = ("MIN", "ASC") if page.min_id is not None else ("MAX", "DESC")
    args.append(page.limit)
    picked = await fetch_as(
        conn,
        IdRow,
        f"SELECT {pick}(n.id) AS id FROM notifications n WHERE {where} GROUP BY {key} "
        f"ORDER BY {pick}(n.id) {order} LIMIT ${len(args)}",
        *args,
    )
    ids = sorted((r["id"] for r in picked), reverse=True)
    if not ids:
        return []
    rows = await fetch_as(
        conn,
        NotificationRow,
        f"SELECT * FROM notifications WHERE id IN ({placeholders(1, len(ids))})",
        *ids,
    )
    return sorted(rows, key=lambda r: r["id"], reverse=True)


async def group_data(
    conn: Connection,
    account_id: int,
    group_key: str,
    browse: Browse,
    low: int | None,
    high: int | None,
) -> tuple[GroupStatsRow, list[GroupSampleRow]]:
    """A group's count, newest id, and oldest id from `low`, among its notifications up
    to `high`; and its newest notifications (the sample accounts)."""
    args: list[Any] = [account_id, group_key]
    where = _browse_sql(browse, args) + " AND n.group_key = $2"
    if high is not None:
        args.append(high)
        where += f" AND n.id <= ${len(args)}"
    samples = await fetch_as(
        conn,
        GroupSampleRow,
        f"SELECT n.id, n.from_account_id, n.created_at FROM notifications n WHERE {where} "
        f"ORDER BY n.id DESC LIMIT {SAMPLE_ACCOUNTS}",
        *args,
    )
    low_sql = "MIN(n.id)"
    if low is not None:
        args.append(low)
        low_sql = f"MIN(CASE WHEN n.id >= ${len(args)} THEN n.id END)"
    stats = await fetchrow_as(
        conn,
        GroupStatsRow,
        f"SELECT COUNT(*) AS count, MAX(n.id) AS max_id, {low_sql} AS min_id "
        f"FROM notifications n WHERE {where}",
        *args,
    )
    assert stats is not None
    return stats, samples


async def newest_of_group(
    conn: Connection, account_id: int, group_key: str, browse: Browse
) -> NotificationRow | None:
    """The newest browsable notification of a group (`ungrouped-<id>` names one)."""
    args: list[Any] = [account_id]
    where = _browse_sql(browse, args)
    if group_key.startswith("ungrouped-"):
        single = parse_id(group_key.removeprefix("ungrouped-"))
        if single is None:
            return None
        args.append(single)
    else:
        args.append(group_key)
    column = "n.id" if group_key.startswith("ungrouped-") else "n.group_key"
    return await fetchrow_as(
        conn,
        NotificationRow,
        f"SELECT n.* FROM notifications n WHERE {where} AND {column} = ${len(args)} "
        "ORDER BY n.id DESC LIMIT 1",
        *args,
    )


async def group_senders_page(
    conn: Connection, account_id: int, group_key: str, browse: Browse, page: Page
) -> list[NotificationRow]:
    """The notifications of a group, newest first (for its accounts)."""
    args: list[Any] = [account_id]
    where = _browse_sql(browse, args)
    if group_key.startswith("ungrouped-"):
        single = parse_id(group_key.removeprefix("ungrouped-"))
        args.append(-1 if single is None else single)
        where += f" AND n.id = ${len(args)}"
    else:
        args.append(group_key)
        where += f" AND n.group_key = ${len(args)}"
    sql = f"SELECT n.* FROM notifications n WHERE {where}"
    return await fetch_page(conn, NotificationRow, sql, args, "n.id", page)


async def dismiss_group(
    conn: Connection, account_id: int, group_key: str
) -> list[NotificationGoneRow]:
    """Delete a group's notifications; those deleted."""
    if group_key.startswith("ungrouped-"):
        single = parse_id(group_key.removeprefix("ungrouped-"))
        if single is None:
            return []
        return await fetch_as(
            conn,
            NotificationGoneRow,
            "DELETE FROM notifications WHERE account_id = $1 AND id = $2 "
            "RETURNING id, from_account_id, filtered",
            account_id,
            single,
        )
    return await fetch_as(
        conn,
        NotificationGoneRow,
        "DELETE FROM notifications WHERE account_id = $1 AND group_key = $2 "
        "RETURNING id, from_account_id, filtered",
        account_id,
        group_key,
    )


async def count_groups_after(
    conn: Connection, account_id: int, browse: Browse, after_id: int | None, limit: int
) -> int:
    """How many groups have notifications after `after_id`, counted up to `limit`."""
    args: list[Any] = [account_id]
    where = _browse_sql(browse, args)
    key = _group_sql(browse.grouped_types, args)
    if after_id is not None:
        args.append(after_id)
        where += f" AND n.id > ${len(args)}"
    args.append(limit)
    return int(
        await conn.fetchval(
            f"SELECT COUNT(*) FROM (SELECT MIN(n.id) AS id FROM notifications n WHERE {where} "
            f"GROUP BY {key} ORDER BY MIN(n.id) LIMIT ${len(args)}) g",
            *args,
        )
    )


async def notify_followers(conn: Connection, account_id: int) -> list[int]:
    """Local followers who asked to be told when the account posts."""
    rows = await conn.fetch(
        "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id "
        "WHERE f.target_account_id = $1 AND f.notify AND a.domain IS NULL",
        account_id,
    )
    return [r["account_id"] for r in rows]


async def local_boosters(conn: Connection, status_id: int) -> list[int]:
    """Local accounts with a live boost of a status (told when it is edited)."""
    rows = await conn.fetch(
        "SELECT DISTINCT s.account_id FROM statuses s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.reblog_of_id = $1 AND s.deleted_at IS NULL AND a.domain IS NULL",
        status_id,
    )
    return [r["account_id"] for r in rows]


async def mentioned_local(conn: Connection, status_id: int) -> list[int]:
    """Local accounts a status mentions."""
    rows = await conn.fetch(
        "SELECT m.account_id FROM mentions m JOIN accounts a ON a.id = m.account_id "
        "WHERE m.status_id = $1 AND a.domain IS NULL ORDER BY m.id",
        status_id,
    )
    return [r["account_id"] for r in rows]


# E-mail --------------------------------------------------------------------------------------


async def mark_mailed(conn: Connection, notification_id: int, now: int) -> bool:
    """Claim a notification's one mail; False when it was mailed (or claimed) already."""
    done = await conn.execute(
        "UPDATE notifications SET mailed_at = $1 WHERE id = $2 AND mailed_at IS NULL",
        now,
        notification_id,
    )
    return done == 1


async def mentions_since(
    conn: Connection, account_id: int, since: int, limit: int
) -> list[NotificationRow]:
    """Mentions shown to an account since `since` (ms), newest first: what a digest lists."""
    return await fetch_as(
        conn,
        NotificationRow,
        "SELECT * FROM notifications WHERE account_id = $1 AND type = 'mention' "
        "AND NOT filtered AND created_at > $2 ORDER BY id DESC LIMIT $3",
        account_id,
        since,
        limit,
    )
